"""A discom's DER Visibility publication: per-feeder DER aggregates with no personal
data, signed with its directory key (``install``).

``GET /der-visibility/feeders`` answers one JSON document for the head-end window,
its bytes signed as a Beckn request body is (``Signature`` header: Ed25519 over
``(created) (expires) digest``, BLAKE2b-512 of the exact bytes), so any reader checks
it against the discom's subscriber record in the directory, whoever relayed it.

Where the figures come from:

* Topology, from the registry over HTTP: the feeders of the discom, the DTs and
  connections under each now, and every DER the registry holds under the feeder
  (onboarded through the DER desk).
* The discom's net-metering register (its legacy list of rooftop systems, one row per
  net-metered connection: :func:`net_metering_register`), each row placed on its
  feeder through the registry (connection number -> connection -> DT -> feeder).
* Telemetry: the feeder's flows each way and its 15-minute peak from the SCADA
  historian's integrated totals (``protocol.outages.feeder_energy.ScadaFeederEnergy``:
  roll-over, gaps), and what the prosumers' meters exported (``adapters.hes``'s
  feeder view of the meter data), related as ``protocol.outages.energy.DerView`` does.

No personal data: only feeder-level counts and sums; no name, consumer or connection
number, address, meter serial or per-connection id appears. Small cells are withheld
(``K_ANONYMITY``): a feeder's DER figures over fewer than k systems, and each DER
kind's over fewer than k, are published as ``null`` with ``withheld: true``; when
exactly one kind is withheld on a feeder whose total is shown, the total is withheld
too, or subtraction would reveal the small cell.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Response
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from adapters.columnar.remote import ColumnarFeeders, columnar_enabled, shared_worker
from adapters.hes import SyntheticFeeders
from adapters.synthetic import IST
from kernel.access import public
from kernel.database import to_db
from kernel.migrations import upgrade
from protocol.outages.energy import DerView
from protocol.outages.feeder_energy import ScadaFeederEnergy
from protocol.outages.ports import Metered
from protocol.outages.store import OutageStore, TotalRow
from protocol.signing import CustodySigner, sign
from sandbox.legacy import (
    SCADA_KWH_PER_COUNT,
    SCADA_MODULUS,
    connection_number,
    feeder_networks,
    hes_window,
    scada_totals,
)
from sandbox.participants.common import ParticipantContext, add_lifespan
from sandbox.plan import BECKN_KEY
from sandbox.seed import DiscomSeed, discom_seed

# k of the small-count rule. With one DER the aggregate is that household's system;
# with two, each owner learns the other's; three is the textbook threshold rule's
# minimum. Rooftop panels are visible from the street, so an observer already knows
# most of a small feeder's DER owners and could subtract them: we take five.
K_ANONYMITY = 5
SIGNATURE_TTL = 300
CONTEXT = "https://indiaenergystack.in/sandbox/der-visibility/v1"
BLOCK_HOURS = 0.25


def net_metering_register(seed: DiscomSeed) -> list[dict[str, Any]]:
    """The discom's net-metering register (legacy): one row per net-metered rooftop
    system, by the connection's number in the discom's own system."""
    mapping = seed.mapping
    return [
        {
            "connection": connection_number(mapping, c),
            "kind": "rooftop_solar",
            "capacity_kw": c.solar_kw,
        }
        for c in seed.network().consumers
        if c.solar_kw > 0
    ]


class MeterExports:
    """The feeder-energy port's metered side from the meters' data (HES / MDM); with
    ``IES_METERDATA_FLOWS=columnar`` the meters are landed, validated and summed per
    feeder by the columnar worker (``adapters.columnar.remote.ColumnarFeeders``)."""

    def __init__(self, seed: DiscomSeed) -> None:
        networks = feeder_networks(seed.network(), seed.feeders_tags(), seed.dts_per_feeder)
        self.feeders = {tag: SyntheticFeeders(n) for tag, n in networks.items()}
        self.prosumers = {
            tag: sum(1 for c in n.consumers if c.solar_kw > 0) for tag, n in networks.items()
        }
        self._seed, self._networks = seed, list(networks.values())
        self._columnar: dict[tuple[datetime, datetime], dict[str, Any]] = {}

    def metered(self, feeder: str, start: datetime, end: datetime) -> Metered:
        if columnar_enabled():
            if (start, end) not in self._columnar:
                first = start.astimezone(IST).date()
                last = (end - timedelta(seconds=1)).astimezone(IST).date()
                seed = self._seed
                lake = ColumnarFeeders(shared_worker(), self._networks, first, last,
                                       state=seed.state, discom=seed.code)  # fmt: skip
                self._columnar[(start, end)] = lake.metered(start, end)
            row = self._columnar[(start, end)][feeder]
            return Metered(row.billed_kwh, row.export_kwh, row.meters)
        found = self.feeders[feeder].feeder_energy(feeder, start, end)
        return Metered(found.billed_kwh, found.export_kwh, found.meters)


def historian(seed: DiscomSeed, first: date, last: date) -> OutageStore:
    """The SCADA historian's export of the feeders' integrated totals, in a working store."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    upgrade(engine, "protocol.outages:migrations")
    store = OutageStore(engine)
    networks = feeder_networks(seed.network(), seed.feeders_tags(), seed.dts_per_feeder)
    rows = [
        TotalRow(
            feeder=r.feeder,
            direction=r.direction,
            at=to_db(r.at),
            counter=r.counter,
            kwh_per_count=SCADA_KWH_PER_COUNT,
        )
        for r in scada_totals(networks, first, last, gap_feeder=seed.feeders_tags()[-1])
    ]
    store.add_values(rows, [])
    return store


@dataclass(frozen=True, slots=True)
class FeederTopology:
    tag: str
    ies_id: str
    transformers: int
    connections: frozenset[str]
    registry_ders: tuple[tuple[str, float], ...]  # (kind, kW) of DERs the registry holds


class RegistryTopology:
    """The registry's HTTP API, as the publication reads it."""

    def __init__(self, http: httpx.Client, seed: DiscomSeed) -> None:
        self.http = http
        self.seed = seed

    def _all(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = self.http.get("/identities", params=query)
            page.raise_for_status()
            body = page.json()
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def feeders(self) -> list[FeederTopology]:
        found = []
        for tag in self.seed.feeders_tags():
            resolved = self.http.get(
                "/resolve", params={"scheme": "scada_tag", "scope": self.seed.code, "value": tag}
            )
            resolved.raise_for_status()
            feeder = resolved.json()["ies_id"]
            dts = self._all(type="distribution_transformer", under=feeder)
            connections = self._all(type="connection", under=feeder)
            ders = self._all(type="der", under=feeder)
            found.append(
                FeederTopology(
                    tag,
                    feeder,
                    len(dts),
                    frozenset(c["id"] for c in connections),
                    tuple(
                        (
                            d["attributes"].get("kind") or "other",
                            float(d["attributes"].get("capacity_kw") or 0.0),
                        )
                        for d in ders
                        if d.get("status") == "active"
                    ),
                )
            )
        return found

    def connection_id(self, number: str) -> str | None:
        scheme = self.seed.mapping.connection.legacy_scheme
        resolved = self.http.get(
            "/resolve",
            params={
                "scheme": scheme,
                "scope": self.seed.code,
                "value": number,
                "type": "connection",
            },
        )
        return str(resolved.json()["ies_id"]) if resolved.status_code == 200 else None


def _cell(count: int, capacity: float) -> dict[str, Any]:
    shown = count >= K_ANONYMITY
    return {
        "count": count if shown else None,
        "capacityKw": round(capacity, 3) if shown else None,
        "withheld": not shown,
    }


def aggregates(
    seed: DiscomSeed,
    topology: RegistryTopology,
    first: date,
    last: date,
    store: OutageStore,
    meters: MeterExports,
) -> dict[str, Any]:
    """The per-feeder DER aggregates for the whole days ``first``..``last``."""
    start = datetime(first.year, first.month, first.day, tzinfo=IST)
    end = datetime(last.year, last.month, last.day, tzinfo=IST) + timedelta(days=1)
    energy = ScadaFeederEnergy(store, meters, modulus=SCADA_MODULUS)
    feeders = topology.feeders()
    placed: dict[str, list[tuple[str, float]]] = defaultdict(list)
    unplaced = 0
    for row in net_metering_register(seed):
        connection = topology.connection_id(row["connection"])
        where = [f.tag for f in feeders if connection in f.connections]
        if len(where) != 1:
            unplaced += 1
            continue
        placed[where[0]].append((row["kind"], float(row["capacity_kw"])))
    published = []
    for feeder in feeders:
        ders = [*placed[feeder.tag], *feeder.registry_ders]
        kinds: dict[str, list[float]] = defaultdict(list)
        for kind, kw in ders:
            kinds[kind].append(kw)
        by_kind = {kind: _cell(len(kws), sum(kws)) for kind, kws in sorted(kinds.items())}
        total = _cell(len(ders), sum(kw for _, kw in ders))
        if sum(1 for c in by_kind.values() if c["withheld"]) == 1 and not total["withheld"]:
            total = {"count": None, "capacityKw": None, "withheld": True}
        forward, reverse = energy.flows(feeder.tag, start, end)
        blocks = energy.intervals(feeder.tag, start, end, "import")
        exported = meters.metered(feeder.tag, start, end).export_kwh
        used = forward + exported
        view = DerView(
            feeder.tag,
            start,
            end,
            forward,
            reverse,
            sum(1 for b in energy.intervals(feeder.tag, start, end, "export") if b.kwh > 0)
            if reverse
            else 0,
            0.0,
            exported,
            exported / used if used > 0 else 0.0,
        )
        few = meters.prosumers[feeder.tag] < K_ANONYMITY  # the meters behind the export
        published.append(
            {
                "feeder": feeder.tag,
                "feederId": feeder.ies_id,
                "distributionTransformers": feeder.transformers,
                "connections": len(feeder.connections),
                "der": {**total, "byKind": [{"kind": k, **c} for k, c in by_kind.items()]},
                "telemetry": {
                    "peakLoadKw": round(max((b.kwh for b in blocks), default=0.0) / BLOCK_HOURS, 3),
                    "forwardKwh": round(view.forward_kwh, 3),
                    "reverseKwh": round(view.reverse_kwh, 3),
                    "reverseFlowBlocks": view.reverse_intervals,
                    "reverseFlowShare": round(view.reverse_kwh / forward, 6) if forward else 0.0,
                    "derExportKwh": None if few else round(view.der_export_kwh, 3),
                    "derExportShare": None if few else round(view.der_share, 6),
                    "exportWithheld": few,
                },
            }
        )
    return {
        "@context": CONTEXT,
        "@type": "DerFeederAggregates",
        "discom": seed.code,
        "state": seed.state,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "generatedAt": datetime.now(UTC).isoformat(),
        "suppression": {"rule": "threshold", "k": K_ANONYMITY},
        "sources": {
            "netMeteringRegisterRows": len(net_metering_register(seed)) - unplaced,
            "unplacedRows": unplaced,
        },
        "feeders": published,
    }


def install(app: FastAPI, context: ParticipantContext) -> None:
    """Mount ``GET /der-visibility/feeders`` on a discom's app."""
    me = context.me
    assert me.discom_code is not None
    seed = discom_seed(me.discom_code)
    registry = httpx.Client(base_url=context.directory_url, timeout=10)
    topology = RegistryTopology(registry, seed)
    signer = CustodySigner(context.custody, me.host, BECKN_KEY)
    lock = threading.Lock()
    cache: dict[tuple[date, date], tuple[OutageStore, MeterExports]] = {}
    router = APIRouter(prefix="/der-visibility", tags=["DER visibility"])

    @router.get(
        "/feeders",
        dependencies=[public("per-feeder aggregates without personal data, signed by the discom")],
        summary="Per-feeder DER aggregates (no personal data), signed",
    )
    def feeders() -> Response:
        # One IST day, the head-end window's last (complete) one, as the outage
        # block's DER view is per day: building a week of SCADA history per request
        # would cost the sandbox's time budget for no more insight.
        last = hes_window(datetime.now(IST).date())[1]
        first = last
        with lock:  # the historian and meter view are built once per window
            if (first, last) not in cache:
                cache[(first, last)] = (historian(seed, first, last), MeterExports(seed))
            store, meters = cache[(first, last)]
        document = aggregates(seed, topology, first, last, store, meters)
        body = json.dumps(document, separators=(",", ":")).encode()
        created = int(datetime.now(UTC).timestamp())
        return Response(
            body,
            media_type="application/json",
            headers={"Signature": sign(body, signer, created, created + SIGNATURE_TTL)},
        )

    app.include_router(router)
    add_lifespan(app, lambda: None, registry.close)
