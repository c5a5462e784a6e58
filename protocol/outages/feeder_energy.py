"""Feeder energy input from SCADA integrated totals: the FeederEnergySource that AT&C
loss figures read (``protocol.ports``), and DER visibility per feeder."""

from __future__ import annotations

from datetime import datetime, timedelta

from kernel.database import from_db
from protocol.outages.energy import DerView, IntervalEnergy, der_view, interval_energy
from protocol.outages.errors import OutageProblem
from protocol.outages.models import EnergyTotal, PowerSample
from protocol.outages.ports import MeteredEnergySource
from protocol.outages.store import OutageStore
from protocol.ports import FeederEnergy


class ScadaFeederEnergy:
    """:class:`protocol.ports.FeederEnergySource` over the totals the RTUs reported."""

    def __init__(
        self,
        store: OutageStore,
        metered: MeteredEnergySource | None = None,
        *,
        step: timedelta = timedelta(minutes=15),
        modulus: int = 2**31,
    ) -> None:
        self.store = store
        self.metered = metered
        self.step = step
        self.modulus = modulus

    def intervals(
        self, feeder: str, start: datetime, end: datetime, direction: str = "import"
    ) -> list[IntervalEnergy]:
        readings = [
            EnergyTotal(
                feeder=r.feeder,
                counter=r.counter,
                at=from_db(r.at),
                ref=f"total:{r.pk}",
                kwh_per_count=r.kwh_per_count,
                direction=r.direction,
                invalid=r.invalid,
            )
            for r in self.store.totals(feeder, direction, start, end)
        ]
        power = {from_db(p.at): p.kw for p in self.store.powers(feeder, start, end)}
        return interval_energy(
            readings, start, end, self.step, modulus=self.modulus, profile=power or None
        )

    def has_totals(self, feeder: str, start: datetime, end: datetime) -> bool:
        return bool(self.store.totals(feeder, "import", start, end))

    def flows(self, feeder: str, start: datetime, end: datetime) -> tuple[float, float]:
        """Energy into the feeder from the substation and back to it (kWh)."""
        forward = sum(i.kwh for i in self.intervals(feeder, start, end, "import"))
        reverse_rows = self.store.totals(feeder, "export", start, end)
        reverse = (
            sum(i.kwh for i in self.intervals(feeder, start, end, "export")) if reverse_rows else 0
        )
        return forward, reverse

    def _metered(self) -> MeteredEnergySource:
        if self.metered is None:
            raise OutageProblem("no metered-energy source (MDM) is configured")
        return self.metered

    def feeder_energy(self, feeder: str, start: datetime, end: datetime) -> FeederEnergy:
        forward, reverse = self.flows(feeder, start, end)
        metered = self._metered().metered(feeder, start, end)
        return FeederEnergy(
            feeder=feeder,
            start=start,
            end=end,
            input_kwh=forward - reverse,
            billed_kwh=metered.billed_kwh,
            export_kwh=metered.export_kwh,
            meters=metered.meters,
        )

    def der(self, feeder: str, start: datetime, end: datetime) -> DerView:
        """Reverse flow from the feeder's power; DER share when the meters are known."""
        samples = [
            PowerSample(feeder=p.feeder, kw=p.kw, at=from_db(p.at), ref=f"power:{p.pk}")
            for p in self.store.powers(feeder, start, end)
        ]
        exported = self.metered.metered(feeder, start, end).export_kwh if self.metered else 0.0
        return der_view(feeder, samples, exported, start, end)
