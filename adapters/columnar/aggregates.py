"""The heavy reads of the flows, as Ibis expressions over validated readings.

Each function takes the ``readings`` table (``dataset.READINGS`` + partition columns,
as :func:`adapters.columnar.pipeline.nightly_vee` writes it, read back with
``Engine.read_checked``) and returns an expression; the caller runs it on the
configured engine (``engine.to_pyarrow`` for small results, ``engine.write`` for big).

Sums go through ``decimal(38, 9)``: floating-point addition is not associative and
neither DuckDB nor Spark fixes the order in which a group's rows are added, so a
float sum can differ in its last bit between engines or runs; a decimal sum cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import ibis
import ibis.expr.types as ir

_EXACT = "decimal(38, 9)"
_UTC = "timestamp('UTC', 6)"


def _sum(column: ir.NumericColumn) -> ir.FloatingScalar:
    return column.cast(_EXACT).sum().cast("float64")


def export_import_blocks(
    readings: ir.Table,
    *,
    meters: Sequence[str] | None = None,
    block: timedelta = timedelta(minutes=15),
    step: timedelta = timedelta(minutes=15),
) -> ir.Table:
    """Import and export per meter per settlement ``block`` (a multiple of ``step``), for
    P2P settlement (``registry.ports.ExportImportBlock``): ``meter, start, end,
    import_kwh, export_kwh, quality`` where quality is the worst of the block's readings
    (suspect > edited > estimated > validated)."""
    t = readings if meters is None else readings.filter(readings.meter.isin(list(meters)))
    per = int(block / step)
    block_s = int(block.total_seconds())
    t = t.mutate(
        block=(t.slot // per).cast("int64"),
        rank=ibis.cases(
            (t.quality == "suspect", 3),
            (t.quality == "edited", 2),
            (t.quality == "estimated", 1),
            else_=0,
        ),
        start_s=t.start.epoch_seconds().cast("int64")
        - (t.slot % per).cast("int64") * int(step.total_seconds()),
    )
    grouped = t.group_by(["state", "discom", "day", "meter", "block"]).aggregate(
        start_s=t.start_s.min(),
        import_kwh=_sum(t.import_kwh),
        export_kwh=_sum(t.export_kwh),
        worst=t["rank"].max(),
    )
    return grouped.select(
        "meter",
        start=grouped.start_s.as_timestamp("s").cast(_UTC),
        end=(grouped.start_s + block_s).as_timestamp("s").cast(_UTC),
        import_kwh=grouped.import_kwh,
        export_kwh=grouped.export_kwh,
        quality=ibis.cases(
            (grouped.worst == 3, "suspect"),
            (grouped.worst == 2, "edited"),
            (grouped.worst == 1, "estimated"),
            else_="validated",
        ),
    ).order_by(["meter", "start"])


def network_aggregates(
    readings: ir.Table, topology: ir.Table, *, level: str = "feeder", min_meters: int = 5
) -> ir.Table:
    """Per-``level`` (``feeder`` or ``dt``) import, export and net per block, for DER
    visibility: no meter identity leaves, and a group of fewer than ``min_meters``
    meters is withheld (a sum over two houses discloses each house).

    ``topology`` has ``meter, feeder, dt`` (from the registry's network topology), one
    row per meter. A meter has at most one reading per day and slot, so the meters of a
    group are its rows: a count, not a distinct count (which would hold every meter
    serial of a state in hash sets at once)."""
    joined = readings.inner_join(topology, "meter")
    grouped = joined.group_by(["state", "discom", "day", level, "slot"]).aggregate(
        start=joined.start.min().cast(_UTC),
        meters=joined.count().cast("int64"),
        import_kwh=_sum(joined.import_kwh),
        export_kwh=_sum(joined.export_kwh),
        estimated=(joined.quality != "validated").cast("int64").sum(),
    )
    grouped = grouped.filter(grouped.meters >= min_meters)
    return grouped.mutate(net_kwh=grouped.import_kwh - grouped.export_kwh).order_by(
        [level, "day", "slot"]
    )


def feeder_billed_energy(readings: ir.Table, topology: ir.Table) -> ir.Table:
    """Per feeder over the readings' period: metered import, export, billed (net) energy
    and meters: the consumer side of AT&C losses (``protocol.ports.FeederEnergy``)."""
    joined = readings.inner_join(topology, "meter")
    # Per meter first (a streamed hash aggregate), then per feeder: exact decimal sums
    # add up the same in two steps, and the meters are counted without a distinct.
    per_meter = joined.group_by(["feeder", "meter"]).aggregate(
        import_kwh=joined.import_kwh.cast(_EXACT).sum(),
        export_kwh=joined.export_kwh.cast(_EXACT).sum(),
    )
    grouped = per_meter.group_by("feeder").aggregate(
        import_kwh=per_meter.import_kwh.sum().cast("float64"),
        export_kwh=per_meter.export_kwh.sum().cast("float64"),
        meters=per_meter.count().cast("int64"),
    )
    return grouped.mutate(billed_kwh=grouped.import_kwh - grouped.export_kwh).order_by("feeder")


def feeder_losses(billed: ir.Table, feeder_input: ir.Table) -> ir.Table:
    """Input (``feeder, input_kwh`` from the substation meter or SCADA) against billed
    energy: ``loss_kwh`` and ``loss_share`` per feeder."""
    joined = feeder_input.inner_join(billed, "feeder")
    loss = joined.input_kwh - joined.billed_kwh
    return joined.select(
        "feeder",
        "input_kwh",
        "billed_kwh",
        "export_kwh",
        "meters",
        loss_kwh=loss,
        loss_share=ibis.ifelse(joined.input_kwh > 0, loss / joined.input_kwh, 0.0),
    ).order_by("feeder")


@dataclass(frozen=True, slots=True)
class TouZone:
    name: str
    start_hour: int  # local time, inclusive
    end_hour: int  # exclusive; a zone may wrap midnight (22 -> 6)


@dataclass(frozen=True, slots=True)
class Tariff:
    """What billing determinants need from a tariff: slab upper bounds (kWh per
    period, ascending; the last slab is open) and time-of-day zones (local hours)."""

    slabs: tuple[float, ...]
    tod: tuple[TouZone, ...]
    utc_offset_minutes: int = 330  # IST


def billing_determinants(
    readings: ir.Table, tariff: Tariff, *, step: timedelta = timedelta(minutes=15)
) -> tuple[ir.Table, ir.Table, ir.Table]:
    """Per meter over the readings' period: ``totals`` (import, export, net, max demand
    kW, non-validated blocks), ``slabs`` (net import in each slab) and ``tod`` (import
    per time-of-day zone). The bill itself (rates, fixed charges) is the tariff's."""
    step_h = step / timedelta(hours=1)
    totals = readings.group_by("meter").aggregate(
        import_kwh=_sum(readings.import_kwh),
        export_kwh=_sum(readings.export_kwh),
        max_demand_kw=(readings.import_kwh / step_h).max(),
        not_validated=(readings.quality != "validated").cast("int64").sum(),
    )
    totals = totals.mutate(
        net_kwh=ibis.greatest(totals.import_kwh - totals.export_kwh, 0.0)
    ).order_by("meter")

    bounds = list(tariff.slabs)
    lowers = [0.0, *bounds]
    uppers: list[float | None] = [*bounds, None]
    per_slab = []
    for slab, (lower, upper) in enumerate(zip(lowers, uppers, strict=True)):
        top = totals.net_kwh if upper is None else ibis.least(totals.net_kwh, upper)
        per_slab.append(
            totals.select(
                "meter",
                slab=ibis.literal(slab, "int64"),
                kwh=ibis.greatest(top - lower, 0.0),
            )
        )
    slabs = ibis.union(*per_slab, distinct=False).order_by(["meter", "slab"])

    hour = (
        (readings.start.epoch_seconds().cast("int64") + tariff.utc_offset_minutes * 60) % 86_400
    ) // 3600
    zone_cases = []
    for zone in tariff.tod:
        if zone.start_hour <= zone.end_hour:
            inside = (hour >= zone.start_hour) & (hour < zone.end_hour)
        else:
            inside = (hour >= zone.start_hour) | (hour < zone.end_hour)
        zone_cases.append((inside, zone.name))
    zoned = readings.mutate(zone=ibis.cases(*zone_cases, else_="normal"))
    tod = (
        zoned.group_by(["meter", "zone"])
        .aggregate(kwh=_sum(zoned.import_kwh))
        .order_by(["meter", "zone"])
    )
    return totals, slabs, tod
