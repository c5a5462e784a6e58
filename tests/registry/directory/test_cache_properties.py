"""Property: whatever sequence of publishes, revocations and shortenings happens,
the cached key lookup answers exactly what the database says (so it never serves a
revoked key), including a lookup that raced with a write."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from credentials.keys import KeyAlgorithm, generate, raw_public
from kernel.database import create_db_engine
from registry.directory.client import CallbackSigner
from registry.directory.errors import DirectoryProblem
from registry.directory.keys import KeyCache, Refusal, RefusalReason, SigningKey
from registry.directory.proof import TxtRecordProof
from registry.directory.service import Directory
from registry.directory.signing import sign_write

from .conftest import b64

SUBSCRIBERS = "subscribers.beckn.one"
counter = itertools.count()


class Owner:
    def __init__(self, directory: Directory, txt: dict[str, list[str]]) -> None:
        self.directory = directory
        self.namespace = f"ns{next(counter)}.example"
        key = generate(KeyAlgorithm.ED25519)
        self.signer = CallbackSigner(f"{self.namespace}#o", key.sign)  # type: ignore[union-attr,arg-type]
        claim = self.write(
            "POST",
            "/dedi/namespaces",
            {
                "namespace": self.namespace,
                "owner_key_id": "o",
                "owner_public_key": b64(raw_public(key)),
                "proof_method": "txt",
            },
        )
        txt["_dedi-challenge." + self.namespace] = [claim.challenge]
        directory.verify_namespace(self.namespace)
        path = f"/dedi/namespaces/{self.namespace}/registries"
        self.write("POST", path, {"name": SUBSCRIBERS, "record_type": "subscriber"})
        self.keys: dict[str, bytes] = {}

    def write(self, method, path, payload):
        body = json.dumps(payload).encode()
        token = sign_write(self.signer, method, path, body, datetime.now(UTC))
        d = self.directory
        if path == "/dedi/namespaces":
            return d.claim(body, token, path)
        if path.endswith("/registries"):
            return d.create_registry(self.namespace, body, token, path)
        record = path.rsplit("/", 1)[1]
        return d.put_record(self.namespace, SUBSCRIBERS, record, body, token, path)

    def put(self, key_id: str, **changes):
        now = datetime.now(UTC)
        if key_id not in self.keys:
            self.keys[key_id] = raw_public(generate(KeyAlgorithm.ED25519))
        details = {
            "subscriber_id": self.namespace,
            "key_id": key_id,
            "url": "https://x.example/b",
            "type": "BAP",
            "domains": ["ies:p2p"],
            "signing_public_key": b64(self.keys[key_id]),
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(days=1)).isoformat(),
            **changes,
        }
        path = f"/dedi/namespaces/{self.namespace}/registries/{SUBSCRIBERS}/records/{key_id}"
        # A refused write (un-revoking, say) is a 4xx problem and must change nothing;
        # anything else (a 5xx, a bug) propagates and fails the property.
        with contextlib.suppress(DirectoryProblem):
            self.write("PUT", path, {"details": details})


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[Engine]:
    from kernel.migrations import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('cache')}/dir.db"
    engine = create_db_engine(url)
    upgrade(engine, "registry:migrations")
    yield engine
    engine.dispose()


operation = st.tuples(
    st.sampled_from(["publish", "revoke", "shorten", "unrevoke", "lookup", "race"]),
    st.sampled_from(["k1", "k2", "k3"]),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(operation, min_size=1, max_size=12))
def test_the_cache_answers_what_the_database_says(engine, ops):
    txt: dict[str, list[str]] = {}
    directory = Directory(engine, {"txt": TxtRecordProof(txt)}, cache=KeyCache())
    owner = Owner(directory, txt)
    sub = owner.namespace
    for op, key_id in ops:
        if op == "publish":
            owner.put(key_id)
        elif op == "revoke" and key_id in owner.keys:
            owner.put(key_id, status="REVOKED")
        elif op == "unrevoke" and key_id in owner.keys:
            owner.put(key_id, status="SUBSCRIBED")
        elif op == "shorten" and key_id in owner.keys:
            owner.put(key_id, valid_until=(datetime.now(UTC) + timedelta(seconds=30)).isoformat())
        elif op == "race":
            # A lookup reads the database, a write lands and invalidates, then the
            # lookup tries to cache what it read: the generation check drops it.
            generation = directory.cache.generation(sub)
            stale = directory._load_key(sub, key_id)
            owner.put(key_id, status="REVOKED") if key_id in owner.keys else owner.put(key_id)
            directory.cache.put(sub, key_id, stale, generation)
        for probe in ("k1", "k2", "k3"):
            for at in (None, datetime.now(UTC) + timedelta(minutes=5)):
                cached = directory.lookup_signing_key(sub, probe, at)
                truth = directory.lookup_signing_key_uncached(sub, probe, at)
                assert cached == truth
                if isinstance(truth, Refusal) and truth.reason is RefusalReason.REVOKED:
                    assert not isinstance(cached, SigningKey)
