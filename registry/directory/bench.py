"""``ies bench directory``: signing-key lookups per second, cached and uncached, p50/p99.

The ratio base is measured in the same run on the same core: a plain dict lookup of
the same keys (the floor any cache can approach) and one raw Ed25519 verification
(what every inbound message must pay anyway, DESIGN.md "Performance budgets").
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rich.console import Console
from rich.table import Table

from kernel.database import create_db_engine
from kernel.migrations import upgrade
from registry.directory.client import CallbackSigner
from registry.directory.keys import SigningKey
from registry.directory.proof import TxtRecordProof
from registry.directory.service import Directory
from registry.directory.signing import sign_write

SUBSCRIBERS = "subscribers.beckn.one"


def _b64(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _seed(directory: Directory, txt: dict[str, list[str]], keys: int) -> list[tuple[str, str]]:
    owner = ed25519.Ed25519PrivateKey.generate()
    namespace = "bench.example"
    signer = CallbackSigner(f"{namespace}#o", owner.sign)

    def signed(method: str, path: str, payload: object) -> tuple[bytes, str]:
        body = json.dumps(payload).encode()
        return body, sign_write(signer, method, path, body, datetime.now(UTC))

    path = "/dedi/namespaces"
    claim = {"namespace": namespace, "owner_key_id": "o", "owner_public_key": _b64(owner)}
    namespace_view = directory.claim(*signed("POST", path, {**claim, "proof_method": "txt"}), path)
    txt["_dedi-challenge." + namespace] = [namespace_view.challenge or ""]
    directory.verify_namespace(namespace)
    path = f"/dedi/namespaces/{namespace}/registries"
    directory.create_registry(
        namespace, *signed("POST", path, {"name": SUBSCRIBERS, "record_type": "subscriber"}), path
    )
    now = datetime.now(UTC)
    out = []
    for i in range(keys):
        subscriber, key_id = f"p{i % 50}.{namespace}", f"k{i}"
        details = {
            "subscriber_id": subscriber,
            "key_id": key_id,
            "url": f"https://{subscriber}/beckn",
            "type": "BPP",
            "domains": ["ies:meter-data"],
            "signing_public_key": _b64(ed25519.Ed25519PrivateKey.generate()),
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(days=1)).isoformat(),
        }
        path = f"/dedi/namespaces/{namespace}/registries/{SUBSCRIBERS}/records/{key_id}"
        body, token = signed("PUT", path, {"details": details})
        directory.put_record(namespace, SUBSCRIBERS, key_id, body, token, path)
        out.append((subscriber, key_id))
    return out


def _time(calls: int, fn: Callable[[int], object]) -> tuple[float, float, float]:
    """(operations/s, p50 µs, p99 µs), each call timed on its own."""
    samples = []
    clock = time.perf_counter_ns
    started = clock()
    for i in range(calls):
        t0 = clock()
        fn(i)
        samples.append(clock() - t0)
    elapsed = (clock() - started) / 1e9
    samples.sort()
    return (
        calls / elapsed,
        samples[len(samples) // 2] / 1000,
        samples[int(len(samples) * 0.99)] / 1000,
    )


def run(keys: int = 500, lookups: int = 100_000, uncached: int = 3000) -> dict[str, float]:
    console = Console(width=120)
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{scratch}/directory.db")
        upgrade(engine, "registry:migrations")
        txt: dict[str, list[str]] = {}
        directory = Directory(engine, {"txt": TxtRecordProof(txt)})
        pairs = _seed(directory, txt, keys)
        rng = random.Random(7)
        order = [pairs[rng.randrange(len(pairs))] for _ in range(lookups)]
        at = datetime.now(UTC)

        plain = {pair: directory.lookup_signing_key_uncached(*pair) for pair in pairs}
        dict_rate, dict_p50, dict_p99 = _time(lookups, lambda i: plain[order[i]])

        verifier = ed25519.Ed25519PrivateKey.generate()
        message, signature = b"x" * 600, verifier.sign(b"x" * 600)
        public = verifier.public_key()
        verify_rate, verify_p50, verify_p99 = _time(
            min(lookups, 5000), lambda i: public.verify(signature, message)
        )

        for pair in pairs:  # warm
            assert isinstance(directory.lookup_signing_key(*pair), SigningKey)
        cached_rate, cached_p50, cached_p99 = _time(
            lookups, lambda i: directory.lookup_signing_key(order[i][0], order[i][1], at)
        )
        uncached_rate, uncached_p50, uncached_p99 = _time(
            uncached, lambda i: directory.lookup_signing_key_uncached(order[i][0], order[i][1], at)
        )
        engine.dispose()

    table = Table(title=f"directory key lookups ({keys} keys, SQLite, one core)")
    for column in ("what", "ops/s", "p50 µs", "p99 µs", "vs dict", "vs Ed25519 verify"):
        table.add_column(column, justify="right" if column != "what" else "left")
    rows = [
        ("plain dict lookup (base)", dict_rate, dict_p50, dict_p99),
        ("one Ed25519 verify (base)", verify_rate, verify_p50, verify_p99),
        ("lookup_signing_key, cached", cached_rate, cached_p50, cached_p99),
        ("lookup_signing_key, uncached (DB)", uncached_rate, uncached_p50, uncached_p99),
    ]
    for name, rate, p50, p99 in rows:
        table.add_row(
            name,
            f"{rate:,.0f}",
            f"{p50:.2f}",
            f"{p99:.2f}",
            f"{rate / dict_rate:.3f}",
            f"{rate / verify_rate:.2f}",
        )
    console.print(table)
    return {
        "dict_per_s": dict_rate,
        "verify_per_s": verify_rate,
        "cached_per_s": cached_rate,
        "cached_p99_us": cached_p99,
        "uncached_per_s": uncached_rate,
        "uncached_p99_us": uncached_p99,
        "median_ratio": statistics.median([cached_rate / dict_rate]),
    }
