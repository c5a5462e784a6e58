"""``ies bench exchange``: the signed exchange's hot path, against Ed25519 in the same run.

Prints (1) raw Ed25519 signatures/s and verifications/s, (2) the caller's in-process
pipeline (validate, serialise, digest, sign) and its ratio to one raw signature
(DESIGN.md budget ≤ 2), (3) the receiver's in-process pipeline (parse, verify with a
cached key, freshness, replay, sender standing, schema, signed ACK + CounterSignature)
and its ratio to one verification plus one signature (budget ≤ 2), with the hand-over
kept in memory and then in SQLite, and (4) signed round trips per second through a
real gateway over HTTP on 127.0.0.1 (uvicorn), p50/p99, against raw verifications/s.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ed25519

from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import create_service_app
from protocol.client import Exchange, new_context
from protocol.gateway import Bpp, Gateway
from protocol.participant import BecknParticipant
from protocol.receiving import (
    Exchanged,
    Handler,
    Inbound,
    Receiver,
    ReceiverSettings,
    Refused,
    Unit,
)
from protocol.sending import prepare
from protocol.store import ProtocolStore
from registry.directory.keys import Membership, Refusal, RefusalReason, SigningKey

NETWORK = "indiaenergystack.in/test-ies-data-sharing-network"


class _KeySigner:
    def __init__(self, subscriber_id: str) -> None:
        self.subscriber_id = subscriber_id
        self.key_id = "k1"
        self.key = ed25519.Ed25519PrivateKey.generate()

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


class PinnedKeys:
    """A KeyLookup over keys fixed in memory (what a cache hit costs, and no more)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], SigningKey] = {}

    def add(self, signer: _KeySigner, role: str, url: str) -> None:
        now = datetime.now(UTC)
        self.keys[(signer.subscriber_id, signer.key_id)] = SigningKey(
            signer.subscriber_id,
            signer.key_id,
            signer.key.public_key().public_bytes_raw(),
            now - timedelta(days=1),
            now + timedelta(days=365),
            "SUBSCRIBED",
            role,
            url,
            f"did:web:{signer.subscriber_id}",
            memberships=(Membership(NETWORK, now - timedelta(days=1), None),),
        )

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        found = self.keys.get((subscriber_id, key_id))
        return found if found is not None else Refusal(RefusalReason.UNKNOWN, "unknown")


class MemoryRecords:
    """The receiver's records in memory: the replay set and the hand-over."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str, str, str], str] = {}

    def received_digest(
        self, receiver: str, sender: str, action: str, message_id: str
    ) -> str | None:
        return self.seen.get((receiver, sender, action, message_id))

    def sent_request(self, sender: str, message_id: str, action: str) -> Exchanged | None:
        return None

    def hand_over(self, message: Inbound, handler: Handler) -> None:
        key = (
            message.receiver,
            message.signature.subscriber_id,
            message.action,
            message.context.message_id,
        )
        self.seen[key] = message.digest
        handler(message, _NoUnit())

    def log_refusal(self, entry: Refused) -> None:
        pass


class _NoUnit:
    def add(self, instance: Any) -> None:
        pass


def _per_second(fn: Callable[[], object], n: int) -> tuple[float, list[float]]:
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - started), times


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def _document(bap_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "context": new_context(
            "discover",
            network_id=NETWORK,
            bap_id="bap.bench",
            bap_uri=bap_url,
            domain="ies:meter-data",
            **extra,
        ),
        "message": {"intent": {"textSearch": "interval meter data"}},
    }


def run(iterations: int = 3000, round_trips: int = 1000) -> None:
    configure_logging("WARNING")
    bap, gw = _KeySigner("bap.bench"), _KeySigner("gateway.bench")
    keys = PinnedKeys()
    bap_url = "http://127.0.0.1:9/beckn"
    keys.add(bap, "BAP", bap_url)
    keys.add(gw, "BG", "http://127.0.0.1:9/gw")
    message = b"x" * 2048
    signature = bap.key.sign(message)
    public = bap.key.public_key()
    signs, _ = _per_second(lambda: bap.key.sign(message), iterations)
    verifies, _ = _per_second(lambda: public.verify(signature, message), iterations)
    print(f"raw Ed25519: {signs:,.0f} signatures/s, {verifies:,.0f} verifications/s")

    # Caller's pipeline: route (the document is addressed), validate, serialise, sign.
    document = _document(bap_url)
    caller, ctimes = _per_second(lambda: prepare(document, bap, int(time.time())), iterations)
    print(
        f"caller pipeline: {caller:,.0f}/s p50 {_pct(ctimes, 0.5):.0f} µs "
        f"p99 {_pct(ctimes, 0.99):.0f} µs; "
        f"ratio to one raw signature {signs / caller:.2f} (budget ≤ 2)"
    )

    # Receiver's pipeline, in process.
    budget = 1 / (1 / verifies + 1 / signs)
    settings = ReceiverSettings("gateway.bench", gw, frozenset({NETWORK}))
    memory = Receiver(settings, keys, MemoryRecords(), lambda m, u: None, payload_check=None)
    prepared = [prepare(_document(bap_url), bap, int(time.time()), 300) for _ in range(iterations)]
    headers = [{"authorization": p.authorization} for p in prepared]
    index = iter(range(iterations))

    def receive_memory() -> None:
        i = next(index)
        outcome = memory.receive("discover", prepared[i].body, headers[i])
        assert outcome.status == 200, outcome.body

    receiver, rtimes = _per_second(receive_memory, iterations)
    print(
        f"receiver pipeline (hand-over in memory): {receiver:,.0f}/s "
        f"p50 {_pct(rtimes, 0.5):.0f} µs p99 {_pct(rtimes, 0.99):.0f} µs; "
        f"ratio to one verify + one sign {budget / receiver:.2f} (budget ≤ 2)"
    )
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{Path(scratch)}/bench.db")
        upgrade(engine, "protocol:migrations")
        durable = Receiver(
            settings, keys, ProtocolStore(engine), lambda m, u: None, payload_check=None
        )
        fresh = [
            prepare(_document(bap_url), bap, int(time.time()), 300) for _ in range(iterations // 3)
        ]
        index2 = iter(range(len(fresh)))

        def receive_db() -> None:
            i = next(index2)
            outcome = durable.receive(
                "discover", fresh[i].body, {"authorization": fresh[i].authorization}
            )
            assert outcome.status == 200, outcome.body

        stored, stimes = _per_second(receive_db, len(fresh))
        print(
            f"receiver pipeline (replay table + message log in SQLite): {stored:,.0f}/s "
            f"p50 {_pct(stimes, 0.5):.0f} µs p99 {_pct(stimes, 0.99):.0f} µs; "
            f"ratio {budget / stored:.2f}"
        )
        engine.dispose()
        _round_trips(scratch, bap, gw, keys, round_trips, verifies)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _OneBpp:
    def __init__(self, bpp: Bpp) -> None:
        self.bpp = bpp

    def bpps(self, network: str, domain: str | None) -> list[Bpp]:
        return [self.bpp]


def _round_trips(
    scratch: str, bap: _KeySigner, gw: _KeySigner, keys: PinnedKeys, n: int, verifies: float
) -> None:
    port, bpp_port = _free_port(), _free_port()
    gw_url = f"http://127.0.0.1:{port}"
    keys.add(gw, "BG", gw_url)
    bpp = _KeySigner("bpp.bench")
    keys.add(bpp, "BPP", f"http://127.0.0.1:{bpp_port}")
    engines = []
    servers = []
    forwarded = [0]
    with httpx.Client(timeout=10) as http:
        nodes = {}
        for name, signer, handler_port in (("gw", gw, port), ("bpp", bpp, bpp_port)):
            engine = create_db_engine(f"sqlite:///{scratch}/{name}.db")
            upgrade(engine, "protocol:migrations")
            engines.append(engine)

            def counted(message: Inbound, unit: Unit) -> None:
                forwarded[0] += 1

            node = BecknParticipant(
                engine, signer, keys, frozenset({NETWORK}), counted, http, payload_check=None
            )
            nodes[name] = node
            app = create_service_app(
                title=name,
                description=name,
                version="0",
                routers=[node.router()],
                max_body_bytes=2**20,
            )
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=handler_port, log_level="error")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            servers.append((server, thread))
        while not all(s.started for s, _ in servers):
            time.sleep(0.01)
        gateway = Gateway(
            _OneBpp(Bpp("bpp.bench", f"http://127.0.0.1:{bpp_port}", (), ())), nodes["gw"].outbox
        )
        nodes["gw"].receiver.handler = gateway
        nodes["gw"].start_worker(interval=0.01)
        store = ProtocolStore(engines[0])
        exchange = Exchange(bap, keys, store, http)
        times: list[float] = []
        started = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            delivery = exchange.send(gw_url, "gateway.bench", _document("http://127.0.0.1:9/beckn"))
            assert delivery.acknowledged, delivery
            times.append(time.perf_counter() - t0)
        rate = n / (time.perf_counter() - started)
        deadline = time.monotonic() + 60
        while forwarded[0] < n and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        nodes["gw"].stop_worker()
        failures = {r.last_error for r in nodes["gw"].store.outbox() if r.state != "delivered"}
        for server, thread in servers:
            server.should_exit = True
            thread.join(5)
        for engine in engines:
            engine.dispose()
    print(
        f"signed round trips through the gateway (HTTP, sign + verify both ways, SQLite): "
        f"{rate:,.0f}/s p50 {statistics.median(times) * 1000:.2f} ms "
        f"p99 {_pct(times, 0.99) / 1000:.2f} ms; "
        f"raw verifications/s ÷ round trips/s = {verifies / rate:.0f}"
    )
    print(
        f"discover broadcast to the BPP: {forwarded[0]}/{n} delivered, "
        f"{forwarded[0] / elapsed:,.0f}/s end to end"
        + (f"; undelivered: {failures}" if failures else "")
    )
