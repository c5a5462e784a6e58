"""``ies bench telemetry``: breaker events from a real RTU on loopback, through the
IEC 104 client, detection, the registry's topology and a signed notice delivered over
HTTP; events/s, trip-to-notice latency p50/p99, and a same-run baseline (one raw
Ed25519 signature plus one loopback HTTP POST)."""

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
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from adapters.iec104.client import Iec104FeederSource
from adapters.iec104.points import standard_map
from adapters.iec104.simulator import RtuSimulator, ScenarioClock
from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from kernel.database import create_db_engine
from kernel.migrations import upgrade
from protocol.outages.delivery import SignedHttpDelivery
from protocol.outages.ports import Receipt, Subscriber
from protocol.outages.service import Issuer, OutageMonitor, watch
from protocol.outages.store import OutageStore
from protocol.outages.topology import RegistryTopology
from registry.app import RegistrySettings, create_app


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Timed:
    def __init__(self, inner: SignedHttpDelivery) -> None:
        self.inner = inner
        self.delivered: dict[str, float] = {}

    def deliver(self, subscriber: Subscriber, notice: dict[str, Any]) -> Receipt:
        receipt = self.inner.deliver(subscriber, notice)
        feeder = notice["affectedAssets"][0]["id"]["value"]
        self.delivered.setdefault(f"{feeder}:{notice['status']}", time.perf_counter())
        return receipt


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(feeders: int = 50, connections: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        reg_url = f"sqlite:///{root}/registry.db"
        registry_app = create_app(
            RegistrySettings(database_url=reg_url, migrate_on_start=True, log_level="WARNING")
        )
        out_engine = create_db_engine(f"sqlite:///{root}/outages.db")
        upgrade(out_engine, "protocol.outages:migrations")
        custody = EncryptedFileCustody(root / "keys", b"bench-telemetry-passphrase")
        custody.create("outages", KeyAlgorithm.ED25519)
        sub_app = FastAPI()

        @sub_app.post("/notices")
        async def notices(request: Request) -> dict[str, str]:
            await request.body()
            return {"status": "ACK"}

        sub_port = _port()
        server = uvicorn.Server(
            uvicorn.Config(sub_app, host="127.0.0.1", port=sub_port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        with TestClient(registry_app) as registry:
            since = "2026-01-01T00:00:00+05:30"
            ids = []
            for _ in range(feeders):
                f = registry.post("/identities", json={"type": "feeder", "valid_from": since})
                feeder = f.json()["id"]
                dt = registry.post(
                    "/identities",
                    json={
                        "type": "distribution_transformer",
                        "parents": {"feeder": {"id": feeder}},
                        "valid_from": since,
                    },
                ).json()["id"]
                for _ in range(connections):
                    registry.post(
                        "/identities",
                        json={
                            "type": "connection",
                            "parents": {"distribution_transformer": {"id": dt}},
                            "valid_from": since,
                        },
                    )
                ids.append(feeder)
            clock = ScenarioClock(datetime(2026, 3, 3, 4, 30, tzinfo=UTC))
            delivery = _Timed(SignedHttpDelivery(custody, "did:web:discom.example", "outages"))
            monitor = OutageMonitor(
                OutageStore(out_engine),
                RegistryTopology(registry),
                delivery,
                Issuer("did:web:discom.example", "Bench Discom"),
                clock=clock,
            )
            monitor.subscribe(Subscriber("bench", "app", f"http://127.0.0.1:{sub_port}/notices"))
            port = _port()
            rtu = RtuSimulator(ids, port=port, clock=clock)
            rtu.start()
            source = Iec104FeederSource("127.0.0.1", port, 1, standard_map(ids), clock=clock)
            source.wait_connected(10)
            rtu.wait_for_client(10)
            stop = threading.Event()
            pump = threading.Thread(target=watch, args=(source, monitor, stop), daemon=True)
            pump.start()
            time.sleep(0.3)
            started = time.perf_counter()
            tripped: dict[str, float] = {}
            for feeder in ids:
                rtu.trip(feeder, clock())
                tripped[feeder] = time.perf_counter()
            # The five-minute hold is policy, not processing: move the scenario past it.
            clock.advance(timedelta(minutes=6))
            confirm_at = time.perf_counter()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(f"{f}:ACTIVE" in delivery.delivered for f in ids):
                    break
                time.sleep(0.01)
            for feeder in ids:
                rtu.reclose(feeder, clock())
            while time.monotonic() < deadline:
                if all(f"{f}:RESTORED" in delivery.delivered for f in ids):
                    break
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            stop.set()
            pump.join(timeout=5)
            source.close()
            rtu.stop()
            latencies = [
                (delivery.delivered[f"{f}:RESTORED"] - delivery.delivered[f"{f}:ACTIVE"]) * 1000
                for f in ids
                if f"{f}:RESTORED" in delivery.delivered
            ]
            confirm = [
                (delivery.delivered[f"{f}:ACTIVE"] - confirm_at) * 1000
                for f in ids
                if f"{f}:ACTIVE" in delivery.delivered
            ]
        server.should_exit = True
        registry_app.state.engine.dispose()
        out_engine.dispose()
    # Baseline in the same run: one Ed25519 signature and one loopback POST.
    key = ed25519.Ed25519PrivateKey.generate()
    t0 = time.perf_counter()
    for _ in range(200):
        key.sign(b"x" * 2048)
    sign_ms = (time.perf_counter() - t0) / 200 * 1000
    base = _baseline_post()
    events = 2 * len(ids)
    return {
        "feeders": float(len(ids)),
        "events_per_s": events / elapsed,
        "notice_p50_ms": statistics.median(confirm),
        "notice_p99_ms": _pct(confirm, 0.99),
        "sign_ms": sign_ms,
        "post_ms": base,
        "ratio_p50_to_sign_plus_post": statistics.median(confirm) / (sign_ms + base),
        "restore_spread_ms": statistics.median(latencies) if latencies else 0.0,
    }


def _baseline_post() -> float:
    app = FastAPI()

    @app.post("/x")
    async def x(request: Request) -> dict[str, str]:
        await request.body()
        return {"status": "ACK"}

    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    with httpx.Client() as client:
        t0 = time.perf_counter()
        for _ in range(100):
            client.post(f"http://127.0.0.1:{port}/x", content=b"x" * 2048)
        post_ms = (time.perf_counter() - t0) / 100 * 1000
    server.should_exit = True
    return post_ms


def main(feeders: int = 50) -> None:
    r = run(feeders)
    print(f"feeders: {int(r['feeders'])}")
    print(f"events/s (trip + reclose -> signed notice delivered): {r['events_per_s']:.1f}")
    print(
        f"trip-to-notice latency p50: {r['notice_p50_ms']:.2f} ms  p99: {r['notice_p99_ms']:.2f} ms"
    )
    print(f"baseline: Ed25519 sign {r['sign_ms']:.3f} ms + loopback POST {r['post_ms']:.3f} ms")
    print(f"ratio p50 / (sign + POST): {r['ratio_p50_to_sign_plus_post']:.1f}")
