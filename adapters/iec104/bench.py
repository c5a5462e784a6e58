"""``ies bench telemetry``: breaker events from a real RTU on loopback, through the IEC
104 client, detection, the registry's topology, an OutageNotification queued in the
discom's Beckn outbox, signed at delivery and verified by the subscriber's receiver
(signature, freshness, replay, sender, schema, ``checkOutageNotice``, signed ACK) over
HTTP on loopback.

Two measures, and a baseline from the same run:

* **trip-to-notification latency** (p50/p99): one feeder at a time, from the call
  that trips its breaker at the RTU to the moment the subscriber's handler holds the
  verified notice. The five-minute momentary hold (IEEE 1366) is policy, not
  processing: the scenario clock is moved past it as the trip is sent.
* **events/s**: every feeder tripped, then every feeder reclosed, as fast as the RTU
  sends them; events (trips + reclosures) over the time until the subscriber holds
  every ALERT and every RESTORED.
* **baseline**: raw Ed25519 signatures/s and verifications/s; a notice costs at least
  one signature and one verification (plus the signed ACK), so the ratios say how far
  the whole path is from that floor.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.iec104.client import Iec104FeederSource
from adapters.iec104.points import standard_map
from adapters.iec104.simulator import RtuSimulator, ScenarioClock
from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import create_service_app
from kernel.tokens import access_token, install_static_verification
from protocol.bench import PinnedKeys
from protocol.outages.beckn import STEP, BecknNoticeDelivery, check_outage_notice, notices_in
from protocol.outages.ports import Subscriber
from protocol.outages.service import Issuer, OutageMonitor, watch
from protocol.outages.store import OutageStore
from protocol.outages.topology import RegistryTopology
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from registry.app import RegistrySettings, create_app
from registry.ownership import REGISTRY_ADMIN

NETWORK = "indiaenergystack.in/test-ies-data-sharing-network"
SINCE = "2026-01-01T00:00:00+05:30"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Signer:
    def __init__(self, subscriber_id: str) -> None:
        self.subscriber_id = subscriber_id
        self.key_id = "k1"
        self.key = ed25519.Ed25519PrivateKey.generate()

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


class _Arrivals:
    """The subscriber's handler: when each (feeder, status) notice was taken, verified."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()

    def __call__(self, message: Inbound, unit: Unit) -> None:
        for notice in notices_in(message.document["message"]):
            feeder = notice["affectedAssets"][0]["id"]["value"]
            with self.cond:
                self.at.setdefault(f"{feeder}:{notice['status']}", time.perf_counter())
                self.cond.notify_all()

    def wait(self, keys: list[str], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: all(k in self.at for k in keys), timeout)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _grid(registry: httpx.Client, feeders: int, connections: int) -> list[str]:
    ids = []
    for _ in range(feeders):
        feeder = registry.post("/identities", json={"type": "feeder", "valid_from": SINCE})
        fid = feeder.json()["id"]
        dt = registry.post("/identities", json={
            "type": "distribution_transformer", "parents": {"feeder": {"id": fid}},
            "valid_from": SINCE,
        }).json()["id"]  # fmt: skip
        for _ in range(connections):
            registry.post("/identities", json={
                "type": "connection", "parents": {"distribution_transformer": {"id": dt}},
                "valid_from": SINCE,
            })  # fmt: skip
        ids.append(fid)
    return ids


def _ed25519_baseline(rounds: int = 2000) -> tuple[float, float]:
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    message = b"x" * 200
    t0 = time.perf_counter()
    for _ in range(rounds):
        signature = key.sign(message)
    sign_s = (time.perf_counter() - t0) / rounds
    t0 = time.perf_counter()
    for _ in range(rounds):
        public.verify(signature, message)
    verify_s = (time.perf_counter() - t0) / rounds
    return sign_s, verify_s


def run(feeders: int = 50, connections: int = 5) -> dict[str, float]:
    configure_logging("ERROR", "console")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        registry_app = create_app(RegistrySettings(
            database_url=f"sqlite:///{root}/registry.db", migrate_on_start=True,
            log_level="ERROR",
        ))  # fmt: skip
        engines = {}
        for name, migrations in (("outages", "protocol.outages:migrations"),
                                 ("discom", "protocol:migrations"),
                                 ("subscriber", "protocol:migrations")):  # fmt: skip
            engines[name] = create_db_engine(f"sqlite:///{root}/{name}.db")
            upgrade(engines[name], migrations)
        sub_port = _port()
        sub_url = f"http://127.0.0.1:{sub_port}/beckn"
        discom_signer, sub_signer = _Signer("discom.bench"), _Signer("subscriber.bench")
        keys = PinnedKeys()
        keys.add(discom_signer, "BPP", "http://127.0.0.1:1/beckn")  # type: ignore[arg-type]
        keys.add(sub_signer, "BAP", sub_url)  # type: ignore[arg-type]
        arrivals = _Arrivals()
        http = httpx.Client(timeout=10)
        discom = BecknParticipant(engines["discom"], discom_signer, keys,
                                  frozenset({NETWORK}), lambda m, u: None, http)  # fmt: skip
        subscriber = BecknParticipant(engines["subscriber"], sub_signer, keys,
                                      frozenset({NETWORK}), arrivals, http,
                                      checks=[(STEP, check_outage_notice)])  # fmt: skip
        sub_app = create_service_app(title="subscriber", description="bench", version="0",
                                     routers=[subscriber.router("/beckn")],
                                     max_body_bytes=1024 * 1024)  # fmt: skip
        server = uvicorn.Server(uvicorn.Config(sub_app, host="127.0.0.1", port=sub_port,
                                               log_level="warning", lifespan="off"))  # fmt: skip
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        # The registry is its own service, over HTTP on loopback as in a deployment; its
        # writes need a machine token (issue 15): the bench is its own token issuer.
        bench_key = Ed25519PrivateKey.generate()
        public = bench_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        install_static_verification(registry_app, issuer="bench", audience="registry",
                                    keys={"k1": public})  # fmt: skip
        grid_writer = {"Authorization": "Bearer " + access_token(
            bench_key.sign, kid="k1", issuer="bench", subject="discom.bench",
            audience="registry", scopes=["registry:write", REGISTRY_ADMIN],  # its own grid
            lifetime=3600)}  # fmt: skip
        reg_port = _port()
        reg_server = uvicorn.Server(uvicorn.Config(registry_app, host="127.0.0.1",
                                                   port=reg_port, log_level="warning"))  # fmt: skip
        threading.Thread(target=reg_server.run, daemon=True).start()
        while not reg_server.started:
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://127.0.0.1:{reg_port}", timeout=30,
                          headers=grid_writer) as registry:  # fmt: skip
            ids = _grid(registry, feeders, connections)
            topology = RegistryTopology(registry)
            t0 = time.perf_counter()
            for feeder in ids[:20]:
                topology.downstream(feeder, datetime(2026, 3, 3, 4, 30, tzinfo=UTC))
            topology_ms = (time.perf_counter() - t0) / min(20, len(ids)) * 1000
            clock = ScenarioClock(datetime(2026, 3, 3, 4, 30, tzinfo=UTC))
            monitor = OutageMonitor(
                OutageStore(engines["outages"]),
                topology,
                BecknNoticeDelivery(discom.outbox, "http://127.0.0.1:1/beckn", NETWORK),
                Issuer("did:web:discom.bench", "Bench Discom"),
                clock=clock,
            )
            monitor.subscribe(Subscriber("subscriber.bench", "app", sub_url))
            discom.start_worker(interval=0.002)
            port = _port()
            rtu = RtuSimulator(ids, port=port, clock=clock)
            rtu.start()
            source = Iec104FeederSource("127.0.0.1", port, 1, standard_map(ids), clock=clock)
            source.wait_connected(10)
            rtu.wait_for_client(10)
            stop = threading.Event()
            pump = threading.Thread(target=watch, args=(source, monitor, stop, ),
                                    kwargs={"interval": 0.002}, daemon=True)  # fmt: skip
            pump.start()
            time.sleep(0.3)  # the general interrogation's answers
            # Latency: one trip at a time, its notice verified at the subscriber.
            latencies: list[float] = []
            for feeder in ids:
                started = time.perf_counter()
                rtu.trip(feeder, clock())
                clock.advance(timedelta(minutes=6))
                if arrivals.wait([f"{feeder}:ACTIVE"], 30):
                    latencies.append((arrivals.at[f"{feeder}:ACTIVE"] - started) * 1000)
                rtu.reclose(feeder, clock())
                arrivals.wait([f"{feeder}:RESTORED"], 30)
                clock.advance(timedelta(minutes=1))
            # Throughput: every feeder trips, the hold passes, every feeder recloses.
            arrivals.at.clear()
            started = time.perf_counter()
            for feeder in ids:
                rtu.trip(feeder, clock())
            clock.advance(timedelta(minutes=6))
            arrivals.wait([f"{f}:ACTIVE" for f in ids], 120)
            clock.advance(timedelta(minutes=30))
            for feeder in ids:
                rtu.reclose(feeder, clock())
            done = arrivals.wait([f"{f}:RESTORED" for f in ids], 120)
            elapsed = time.perf_counter() - started
            stop.set()
            pump.join(timeout=5)
            source.close()
            rtu.stop()
            discom.stop_worker()
        server.should_exit = True
        reg_server.should_exit = True
        http.close()
        registry_app.state.engine.dispose()
        for engine in engines.values():
            engine.dispose()
    sign_s, verify_s = _ed25519_baseline()
    received = sum(1 for k in arrivals.at if k.endswith(":RESTORED"))
    p50 = statistics.median(latencies) if latencies else float("nan")
    floor_ms = (2 * sign_s + verify_s) * 1000  # the notice's signature, its check, the ACK's
    return {
        "feeders": float(len(ids)),
        "topology_ms": topology_ms,
        "complete": float(done and received == len(ids)),
        "events_per_s": 2 * len(ids) / elapsed,
        "notices_per_s": 2 * len(ids) / elapsed,
        "latency_p50_ms": p50,
        "latency_p99_ms": _pct(latencies, 0.99) if latencies else float("nan"),
        "sign_per_s": 1 / sign_s,
        "verify_per_s": 1 / verify_s,
        "floor_ms": floor_ms,
        "ratio_p50_to_floor": p50 / floor_ms,
        "ratio_sign_rate_to_events": (1 / sign_s) / (2 * len(ids) / elapsed),
    }


def main(feeders: int = 50) -> dict[str, Any]:
    r = run(feeders)
    print(f"feeders: {int(r['feeders'])} (each with 5 connections); all notices verified: "
          f"{'yes' if r['complete'] else 'NO'}")  # fmt: skip
    print("path: RTU (IEC 104) -> client -> detection -> registry topology -> notice -> "
          "outbox -> Ed25519 sign -> HTTP -> receiver (verify, schema, checkOutageNotice) "
          "-> signed ACK")  # fmt: skip
    print(f"events/s (burst of trips + reclosures -> signed, verified notices): "
          f"{r['events_per_s']:.1f}")  # fmt: skip
    print(f"trip-to-notification latency p50: {r['latency_p50_ms']:.2f} ms  "
          f"p99: {r['latency_p99_ms']:.2f} ms")  # fmt: skip
    print(f"of which the registry's topology answer (what was downstream at the trip): "
          f"{r['topology_ms']:.1f} ms a lookup")  # fmt: skip
    print(f"baseline (same run): Ed25519 {r['sign_per_s']:.0f} signatures/s, "
          f"{r['verify_per_s']:.0f} verifications/s; floor per notice (2 sign + 1 verify) "
          f"{r['floor_ms']:.3f} ms")  # fmt: skip
    print(f"ratio latency p50 / floor: {r['ratio_p50_to_floor']:.0f}x; "
          f"raw signatures/s / events/s: {r['ratio_sign_rate_to_events']:.0f}x")  # fmt: skip
    return r
