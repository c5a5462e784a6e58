"""Fixtures of the telemetry tests: a real registry, a real outage database, a real
subscriber listening on loopback, the issuer's key in a real custody."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from credentials.keys import EncryptedFileCustody, KeyAlgorithm, verify_with
from kernel.database import create_db_engine
from protocol.outages.delivery import SignedHttpDelivery
from protocol.outages.service import Issuer, OutageMonitor
from protocol.outages.store import OutageStore
from protocol.outages.topology import RegistryTopology
from protocol.signing import digest_value, parse_signature, signing_string
from registry.app import RegistrySettings, create_app
from tests.tokens import authorise_registry

OUTAGES = "protocol.outages:migrations"
ISSUER = "did:web:discom.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def registry(make_database) -> Iterator[TestClient]:
    settings = RegistrySettings(
        database_url=make_database("registry:migrations"),
        migrate_on_start=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        authorise_registry(app, client)  # the discom's machine token: registry writes
        yield client
    app.state.engine.dispose()


def create(client: TestClient, **body: Any) -> str:
    response = client.post("/identities", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@dataclass
class Subscriber:
    """A subscriber's endpoint on loopback that keeps what it received and checks the
    issuer's signature on every body."""

    url: str
    public_key: bytes
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def custody(tmp_path) -> EncryptedFileCustody:
    custody = EncryptedFileCustody(tmp_path / "keys", b"telemetry-test-passphrase")
    custody.create("outages", KeyAlgorithm.ED25519)
    return custody


@pytest.fixture
def subscriber(custody) -> Iterator[Subscriber]:
    public = custody.public_key("outages").raw
    port = free_port()
    sub = Subscriber(url=f"http://127.0.0.1:{port}/notices", public_key=public)
    app = FastAPI()

    @app.post("/notices")
    async def notices(request: Request) -> JSONResponse:
        body = await request.body()
        params = parse_signature(request.headers.get("authorization"))
        text = signing_string(params.headers, params.created, params.expires, digest_value(body))
        signature = base64.b64decode(params.signature)
        if not verify_with(KeyAlgorithm.ED25519, sub.public_key, signature, text):
            sub.refused.append("bad signature")
            return JSONResponse({"error": "bad signature"}, status_code=401)
        sub.received.append(json.loads(body))
        return JSONResponse({"status": "ACK"})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield sub
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def outage_engine(make_database):
    engine = create_db_engine(make_database(OUTAGES))
    yield engine
    engine.dispose()


@pytest.fixture
def make_monitor(outage_engine, registry, custody):
    def make(clock=None, **kwargs) -> OutageMonitor:
        delivery = SignedHttpDelivery(custody, ISSUER, "outages")
        extra = {"clock": clock} if clock is not None else {}
        return OutageMonitor(
            OutageStore(outage_engine),
            RegistryTopology(registry),
            delivery,
            Issuer(ISSUER, "Test Discom"),
            **extra,
            **kwargs,
        )

    return make


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
