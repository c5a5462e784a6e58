"""A discom's outage side: its SCADA master on a simulated substation RTU, the outage
flow (detection on the registry's topology history, notices, IEEE 1366 indices) and
the notices' delivery to subscribers over the Beckn exchange.

* ``/outage-service`` is the outage block's own app (``protocol.outages.app``) over the
  discom's database: ``POST /feeder-status``, ``POST /outages/planned``,
  ``GET /outages``, ``POST /outage-subscriptions``, ``GET /reliability`` (what the
  regulator reads), feeder energy and DER views.
* Notices go out as unsolicited ``on_status`` messages through the discom's Beckn
  outbox (``protocol.outages.beckn``), signed with its directory key.
* ``/back-office/scada`` stands in for the substation: the sandbox has no field
  devices, so the discom runs a real IEC 60870-5-104 server on loopback
  (``adapters.iec104.simulator``) and its SCADA master (``adapters.iec104.client``)
  connects to it like to any RTU. An operator (the use case) starts a scenario at a
  date of its choice, trips and closes breakers, and moves the scenario's time on:
  the RTU time-tags with the scenario clock and the master judges with the same
  clock, as a synchronised RTU and master share one time source. The five-minute
  momentary threshold (IEEE 1366) is thus kept exactly without waiting five minutes.

c104 (GPL-3.0) is the optional ``iec104`` extra: it is imported when a scenario
starts, and without it the route answers 503 while the rest of the outage side runs.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kernel.backoffice import backoffice
from kernel.migrations import upgrade
from protocol.outages.app import MIGRATIONS, OutageSettings
from protocol.outages.app import create_app as create_outage_app
from protocol.outages.beckn import BecknNoticeDelivery
from protocol.outages.service import Issuer, OutageMonitor, watch
from protocol.outages.store import OutageStore
from protocol.outages.topology import RegistryTopology
from protocol.participant import BecknParticipant
from sandbox.participants.common import ParticipantContext, add_lifespan
from sandbox.plan import DATA_NETWORK

OUTAGE_SERVICE = "/outage-service"


class ScenarioTime:
    """Wall time shifted by an offset the operator sets: real time until a scenario
    starts, then the scenario's time, moving on with the wall clock and by ``advance``."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def real(self) -> None:
        """Back to wall time (a scenario ended): live feeds are judged by the real clock."""
        with self._lock:
            self._offset = timedelta(0)

    def start_at(self, at: datetime) -> None:
        with self._lock:
            self._offset = at.astimezone(UTC) - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta


class ScenarioBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    start: AwareDatetime = Field(strict=False)


class BreakerBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    feeder: str = Field(min_length=1, max_length=64)  # the discom's SCADA tag
    closed: bool


class AdvanceBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    minutes: float = Field(gt=0, le=7 * 24 * 60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Substation:
    """The simulated RTU, the SCADA master's link to it, and the pump into the monitor."""

    def __init__(
        self, monitor: OutageMonitor, topology: RegistryTopology, code: str, clock: ScenarioTime
    ) -> None:
        self.monitor = monitor
        self.topology = topology
        self.code = code
        self.clock = clock
        self.feeders: dict[str, str] = {}  # SCADA tag -> IES feeder id
        self.rtu: Any = None
        self.source: Any = None
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, at: datetime, tags: list[str]) -> dict[str, Any]:
        try:
            from adapters.iec104.client import Iec104FeederSource
            from adapters.iec104.points import layout, standard_map
            from adapters.iec104.simulator import RtuSimulator
        except ImportError as exc:  # the optional GPL extra is not installed
            raise HTTPException(503, f"the iec104 extra (c104) is not installed: {exc}") from None
        with self._lock:
            self.stop()
            self.clock.start_at(at)
            self.feeders = {tag: self.topology.resolve_feeder(tag, self.code, at) for tag in tags}
            ids = list(self.feeders.values())
            port = _free_port()
            self.rtu = RtuSimulator(ids, port=port, clock=self.clock)
            self.rtu.start()
            self.source = Iec104FeederSource(
                "127.0.0.1", port, 1, standard_map(ids), clock=self.clock
            )
            linked = self.source.wait_connected(5) and self.rtu.wait_for_client(5)
            self._stop = threading.Event()
            self._pump = threading.Thread(
                target=watch, args=(self.source, self.monitor, self._stop), daemon=True,
                name="scada-pump",
            )  # fmt: skip
            self._pump.start()
            points = {fp.feeder: fp.breaker for fp in layout(ids)}
            return {
                "rtu": f"127.0.0.1:{port}/1",
                "linked": bool(linked),
                "at": self.clock().isoformat(),
                "feeders": self.feeders,
                "breakerIoa": {tag: points[f] for tag, f in self.feeders.items()},
            }

    def breaker(self, tag: str, closed: bool) -> dict[str, Any]:
        if self.rtu is None:
            raise HTTPException(409, "no scenario is running: POST /back-office/scada/scenario")
        feeder = self.feeders.get(tag)
        if feeder is None:
            raise HTTPException(404, f"{tag} is not a feeder of this substation")
        now = self.clock()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # CP56Time2a: ms
        sent = self.rtu.breaker(feeder, closed, at)
        return {"feeder": feeder, "closed": closed, "at": at.isoformat(), "sent": bool(sent)}

    def advance(self, minutes: float) -> dict[str, Any]:
        self.clock.advance(timedelta(minutes=minutes))
        notices = self.monitor.tick()  # confirm openings now rather than at the next poll
        return {"at": self.clock().isoformat(), "notices": len(notices)}

    def end(self) -> dict[str, Any]:
        with self._lock:
            self.stop()
            self.clock.real()
        return {"at": self.clock().isoformat()}

    def stop(self) -> None:
        self._stop.set()
        if self._pump is not None:
            self._pump.join(5)
            self._pump = None
        if self.source is not None:
            self.source.close()
            self.source = None
        if self.rtu is not None:
            self.rtu.stop()
            self.rtu = None


def scada_router(substation: Substation) -> APIRouter:
    router = APIRouter(prefix="/back-office/scada", tags=["discom SCADA (simulated substation)"])

    @router.post(
        "/scenario",
        dependencies=[backoffice()],
        summary="Start the substation's RTU and the SCADA link at a date",
    )
    def scenario(body: ScenarioBody) -> dict[str, Any]:
        tags = [f"{substation.code}-F{n}" for n in (1, 2)]
        return substation.start(body.start, tags)

    @router.delete(
        "/scenario",
        dependencies=[backoffice()],
        summary="End the scenario: the RTU stops, the clock is real",
    )
    def end() -> dict[str, Any]:
        return substation.end()

    @router.post(
        "/breaker",
        dependencies=[backoffice()],
        summary="Open (trip) or close a feeder breaker at the RTU",
    )
    def breaker(body: BreakerBody) -> dict[str, Any]:
        return substation.breaker(body.feeder, body.closed)

    @router.post(
        "/advance",
        dependencies=[backoffice()],
        summary="Move the scenario's time on",
    )
    def advance(body: AdvanceBody) -> dict[str, Any]:
        return substation.advance(body.minutes)

    @router.get(
        "/state",
        dependencies=[backoffice()],
        summary="The scenario's time, the link and the refusals so far",
    )
    def state() -> dict[str, Any]:
        source = substation.source
        return {
            "at": substation.clock().isoformat(),
            "linked": bool(source is not None and source.connected),
            "feeders": substation.feeders,
            "refusals": [
                {"slug": r.slug, "detail": r.detail, "ref": r.ref}
                for r in substation.monitor.store.refusals()
            ],
        }

    return router


def install_outages(
    app: FastAPI, context: ParticipantContext, beckn: BecknParticipant, directory: httpx.Client
) -> OutageMonitor:
    """Mount the discom's outage side on ``app`` (its database, its Beckn outbox)."""
    me = context.me
    assert me.discom_code is not None
    engine = app.state.engine
    upgrade(engine, MIGRATIONS)
    topology = RegistryTopology(directory)
    clock = ScenarioTime()
    monitor = OutageMonitor(
        OutageStore(engine),
        topology,
        BecknNoticeDelivery(beckn.outbox, me.beckn_url, DATA_NETWORK),
        Issuer(me.did, me.title),
        clock=clock,
    )
    substation = Substation(monitor, topology, me.discom_code, clock)
    settings = OutageSettings(
        **context.service_kwargs() | {"migrate_on_start": False},
        registry_url=context.directory_url,
        issuer_did=me.did,
        issuer_name=me.title,
    )
    service = create_outage_app(settings, monitor=monitor, registry=directory)
    app.mount(OUTAGE_SERVICE, service)
    app.include_router(scada_router(substation))
    app.state.outages = monitor

    def stop() -> None:
        substation.stop()
        service.state.engine.dispose()

    add_lifespan(app, lambda: None, stop)
    return monitor
