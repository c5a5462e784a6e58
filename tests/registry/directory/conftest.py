"""Fixtures of the directory's tests: the registry app (with the directory) on a real
database behind a real uvicorn on 127.0.0.1, participants' own hosts that publish
their domain challenge, and participants holding keys in encrypted file custody."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from credentials.keys import KeyAlgorithm, KeyCustody
from registry.app import RegistrySettings, create_app
from registry.directory.client import CallbackSigner, DirectoryWriter
from registry.directory.proof import TxtRecordProof, WellKnownProof
from registry.directory.service import Directory
from tests.hsm import participant_custody
from tests.tokens import ALL_REGISTRY, TestIssuer

MIGRATIONS = "registry:migrations"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """A real uvicorn on a free loopback port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


class ParticipantHosts:
    """Web hosts of the participants' own domains (virtual-hosted on one server):
    each domain serves whatever challenge tokens its owner chose to publish."""

    def __init__(self) -> None:
        self.published: dict[str, list[str]] = {}

        async def challenge(request: Request) -> PlainTextResponse:
            host = request.headers.get("host", "")
            tokens = self.published.get(host)
            if not tokens:
                return PlainTextResponse("not found", status_code=404)
            return PlainTextResponse("\n".join(tokens))

        self.app = Starlette(routes=[Route("/.well-known/dedi-challenge", challenge)])


@dataclass
class Stack:
    directory_url: str
    hosts_url: str
    hosts: ParticipantHosts
    directory: Directory
    host_map: dict[str, str]
    txt: dict[str, list[str]]
    http: httpx.Client
    registry_token: TestIssuer = field(default_factory=TestIssuer)  # registry writes

    def authorise(self, client: httpx.Client) -> httpx.Client:
        """Give ``client`` a machine token for the registry's writes (issue 15)."""
        client.headers.update(self.registry_token.headers("registry.test", ALL_REGISTRY))
        return client


@pytest.fixture
def stack(make_database) -> Iterator[Stack]:
    url = make_database(MIGRATIONS)
    settings = RegistrySettings(database_url=url, migrate_on_start=False, log_level="WARNING")
    app = create_app(settings)
    hosts = ParticipantHosts()
    txt: dict[str, list[str]] = {}
    with serve(hosts.app) as hosts_url, httpx.Client(timeout=5) as proof_client:
        # The sandbox's DNS: every participant domain points at the participant hosts.
        host_map = dict.fromkeys(("discom-a.example", "indiaenergystack.in"), hosts_url)
        directory = Directory(
            app.state.engine,
            {"well-known": WellKnownProof(host_map, proof_client), "txt": TxtRecordProof(txt)},
        )
        app.state.directory = directory
        token = TestIssuer()
        token.install(app, "registry.test")
        with serve(app) as directory_url, httpx.Client(base_url=directory_url, timeout=10) as http:
            yield Stack(directory_url, hosts_url, hosts, directory, host_map, txt, http, token)
    app.state.engine.dispose()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass
class Participant:
    """An organisation with its own keys (never leaving its custody) and its namespace."""

    namespace: str
    custody: KeyCustody
    writer: DirectoryWriter
    owner_key_id: str
    keys: dict[str, str] = field(default_factory=dict)  # key id -> b64 public key

    def new_signing_key(self, key_id: str) -> str:
        info = self.custody.create(key_id, KeyAlgorithm.ED25519)
        self.keys[key_id] = info.b64
        return info.b64


def make_participant(stack: Stack, tmp_path: Path, namespace: str) -> Participant:
    custody = participant_custody(tmp_path / "keys" / namespace, b"correct horse battery staple")
    owner_key_id = "owner-1"
    custody.create(owner_key_id, KeyAlgorithm.ED25519)
    signer = CallbackSigner(
        f"{namespace}#{owner_key_id}", lambda message: custody.sign(owner_key_id, message)
    )
    return Participant(namespace, custody, DirectoryWriter(stack.http, signer), owner_key_id)


def onboard(stack: Stack, participant: Participant) -> dict:
    """Claim the namespace, publish the challenge on the participant's own host, verify."""
    public = participant.custody.public_key(participant.owner_key_id).b64
    claimed = participant.writer.claim(participant.namespace, participant.owner_key_id, public)
    assert claimed.status_code == 201, claimed.text
    stack.hosts.published[participant.namespace] = [claimed.json()["challenge"]]
    verified = stack.http.post(f"/dedi/namespaces/{participant.namespace}/verify")
    assert verified.status_code == 200, verified.text
    return verified.json()


def subscriber_details(participant: Participant, key_id: str, **overrides: Any) -> dict:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    details = {
        "subscriber_id": participant.namespace,
        "key_id": key_id,
        "subscriber_url": f"https://{participant.namespace}/beckn/bpp",
        "type": "BPP",
        "domains": ["ies:meter-data"],
        "signing_public_key": participant.keys[key_id],
        "encryption_public_key": b64(
            participant.custody.create(f"{key_id}-enc", KeyAlgorithm.X25519).raw
        )
        if f"{key_id}-enc" not in participant.custody.key_ids()
        else b64(participant.custody.public_key(f"{key_id}-enc").raw),
        "valid_from": (now - timedelta(seconds=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "states": ["IN-MH"],
    }
    details.update(overrides)
    return details


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["title"]
    assert body["detail"]
    return body


Snapshot = Callable[[], dict]
