"""The P2P platform's onboarded prosumers, kept in its database.

A prosumer the platform admits (its credentials verified, its trading permission
issued: :meth:`sandbox.participants.p2p.Platform.onboard`) is written to
``market_prosumer`` (:mod:`protocol.market.store`) before the onboarding answers, and
only then enters the in-memory maps the order path reads. A restarted platform loads
them all (:class:`Prosumers`' constructor): a prosumer onboards once, not once per
process. Onboarding the same holder again replaces what the platform knew of it (the
row's ``version`` counts the onboardings), never adds a second row.

A kept prosumer whose discom is not in the network's plan any more (another sandbox
plan on the same database) is not loaded: it must onboard again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from kernel.database import to_db
from protocol.market.messages import Party
from protocol.market.store import MarketStore, ProsumerRow
from sandbox.plan import Member


@dataclass(frozen=True, slots=True)
class Prosumer:
    """What the platform learnt from the prosumer's verified credentials."""

    holder: str
    customer: str  # its registry id (the ElectricityCredential's customerNumber)
    meter: str  # its meter's asset DID
    discom: Member
    category: str
    sanctioned_load_kw: float
    der_capacity_kw: float
    metering_scheme: str
    export_basis: str = "declared"  # or "verified_der": DERCredentials verified
    der_ids: tuple[str, ...] = ()  # the registry's DER ids those credentials name

    def party(self) -> Party:
        assert self.discom.discom_code is not None
        return Party(self.customer, self.meter, self.discom.host, self.discom.discom_code)


def _row(prosumer: Prosumer, permission: str, now: datetime) -> ProsumerRow:
    return ProsumerRow(
        holder=prosumer.holder, customer=prosumer.customer, meter=prosumer.meter,
        discom=prosumer.discom.host, category=prosumer.category,
        sanctioned_load_kw=prosumer.sanctioned_load_kw,
        der_capacity_kw=prosumer.der_capacity_kw, metering_scheme=prosumer.metering_scheme,
        export_basis=prosumer.export_basis, der_ids=list(prosumer.der_ids),
        permission=permission, onboarded_at=to_db(now), updated_at=to_db(now),
    )  # fmt: skip


def _prosumer(row: ProsumerRow, discom: Member) -> Prosumer:
    return Prosumer(
        holder=row.holder, customer=row.customer, meter=row.meter, discom=discom,
        category=row.category, sanctioned_load_kw=row.sanctioned_load_kw,
        der_capacity_kw=row.der_capacity_kw, metering_scheme=row.metering_scheme,
        export_basis=row.export_basis, der_ids=tuple(row.der_ids),
    )  # fmt: skip


class Prosumers:
    """The onboarded prosumers: kept (``store``), cached by holder and by customer."""

    def __init__(self, store: MarketStore, discoms: Iterable[Member]) -> None:
        self.store = store
        self.discoms = {m.host: m for m in discoms}
        self.lock = threading.Lock()
        self._by_holder: dict[str, Prosumer] = {}
        self._by_customer: dict[str, Prosumer] = {}
        for row in store.prosumers():  # the most recent last: a customer's latest wins
            discom = self.discoms.get(row.discom)
            if discom is not None:
                self._cache(_prosumer(row, discom))

    def _cache(self, prosumer: Prosumer) -> None:
        with self.lock:
            self._by_holder[prosumer.holder] = prosumer
            self._by_customer[prosumer.customer] = prosumer

    def admit(self, prosumer: Prosumer, permission: str) -> int:
        """Keep ``prosumer`` (issued the permission ``permission``) before anything
        answers that it may trade; the version of its row (1: a first onboarding)."""
        kept = self.store.keep_prosumer(_row(prosumer, permission, datetime.now(UTC)))
        self._cache(prosumer)
        return kept.version

    def holder(self, did: str) -> Prosumer | None:
        with self.lock:
            return self._by_holder.get(did)

    def customer(self, customer: str) -> Prosumer:
        """The prosumer a trade names (its registry id); KeyError if none onboarded."""
        with self.lock:
            return self._by_customer[customer]
