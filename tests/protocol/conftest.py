"""Fixtures of the protocol's tests: a real directory (registry app behind uvicorn on
127.0.0.1) with a network authority, and Beckn participants (BAP, BPPs, gateway) each
with its own database, its keys in encrypted file custody and its subscriber record,
served by real uvicorn servers on ports fixed before their records are written."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import Session, select

from credentials.keys import KeyAlgorithm
from kernel.database import create_db_engine
from kernel.service import create_service_app
from protocol.client import RetryPolicy
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from protocol.signing import CustodySigner
from protocol.store import OutboxRow, ReceivedRow
from tests.protocol.der_papers import real_papers  # noqa: F401 - fixture
from tests.registry.directory.conftest import (  # noqa: F401 - fixtures
    Participant,
    Stack,
    make_participant,
    onboard,
    stack,
    subscriber_details,
)

NETWORK = "indiaenergystack.in/test-ies-data-sharing-network"
OTHER_NETWORK = "indiaenergystack.in/ies-p2p-trading-network"
SUBSCRIBERS = "subscribers.beckn.one"
DOMAIN = "ies:meter-data"
MIGRATIONS = "protocol:migrations"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_on(app: Any, port: int) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1:``port`` in a thread, stopped when the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn exited"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@dataclass
class Member:
    """A participant of the network: its directory identity and key custody."""

    subscriber_id: str
    key_id: str
    role: str
    port: int
    org: Participant

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/beckn"

    @property
    def signer(self) -> CustodySigner:
        return CustodySigner(self.org.custody, self.subscriber_id, self.key_id)


@dataclass
class Network:
    stack: Stack
    tmp_path: Path
    authority: Participant
    members: dict[str, Member] = field(default_factory=dict)
    registries: set[str] = field(default_factory=set)

    def join(
        self,
        name: str,
        role: str,
        *,
        networks: tuple[str, ...] = (NETWORK,),
        domains: tuple[str, ...] = (DOMAIN,),
        **overrides: Any,
    ) -> Member:
        """Claim the namespace, publish the subscriber record, get referenced into networks."""
        self.stack.host_map[name] = self.stack.hosts_url
        org = make_participant(self.stack, self.tmp_path, name)
        onboard(self.stack, org)
        created = org.writer.create_registry(name, SUBSCRIBERS, "subscriber")
        assert created.status_code == 201, created.text
        org.new_signing_key("k1")
        member = Member(name, "k1", role, free_port(), org)
        overrides.setdefault("valid_from", (datetime.now(UTC) - timedelta(hours=1)).isoformat())
        details = subscriber_details(
            org, "k1", type=role, subscriber_url=member.url, domains=list(domains), **overrides
        )
        written = org.writer.put_record(name, SUBSCRIBERS, "k1", details)
        assert written.status_code == 200, written.text
        for network in networks:
            self.reference(name, network, role)
        self.members[name] = member
        return member

    def reference(self, name: str, network: str, role: str) -> None:
        registry = network.split("/")[1]
        if registry not in self.registries:
            created = self.authority.writer.create_registry(
                self.authority.namespace, registry, "network_membership"
            )
            assert created.status_code == 201, created.text
            self.registries.add(registry)
        entry = self.authority.writer.put_record(
            self.authority.namespace,
            registry,
            name,
            {
                "subscriber_id": name,
                "record": f"{name}/{SUBSCRIBERS}/k1",
                "roles": [role],
                "valid_from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            },
        )
        assert entry.status_code == 200, entry.text

    def revoke(self, member: Member) -> None:
        current = self.stack.http.get(f"/dedi/lookup/{member.subscriber_id}/{SUBSCRIBERS}/k1")
        published = current.json()["data"]["details"]
        details = {**subscriber_details(member.org, "k1", type=member.role), "status": "REVOKED"}
        details["subscriber_url"] = member.url
        for name in ("valid_from", "valid_until", "domains"):
            details[name] = published[name]
        revoked = member.org.writer.put_record(member.subscriber_id, SUBSCRIBERS, "k1", details)
        assert revoked.status_code == 200, revoked.text


@pytest.fixture
def network(stack, tmp_path) -> Network:  # noqa: F811 - the directory's fixture
    authority = make_participant(stack, tmp_path, "indiaenergystack.in")
    onboard(stack, authority)
    return Network(stack, tmp_path, authority)


@dataclass
class Node:
    """A running participant: its protocol side, its app, what its handler was given."""

    member: Member
    beckn: BecknParticipant
    app: FastAPI
    received: list[Inbound]
    http: httpx.Client

    @property
    def store(self):
        return self.beckn.store

    def received_rows(self) -> int:
        with Session(self.beckn.store.engine) as session:
            return session.exec(select(func.count()).select_from(ReceivedRow)).one()

    def outbox_rows(self) -> list[OutboxRow]:
        return list(self.beckn.store.outbox())


Respond = Callable[[Node, Inbound, Unit], None]


@pytest.fixture
def make_node(make_database, network) -> Iterator[Callable[..., Node]]:
    made: list[Node] = []

    def make(
        member: Member,
        *,
        respond: Respond | None = None,
        networks: frozenset[str] = frozenset({NETWORK}),
        database_url: str | None = None,
        handler: Any = None,
        **options: Any,
    ) -> Node:
        url = database_url or make_database(MIGRATIONS)
        engine = create_db_engine(url)
        received: list[Inbound] = []
        http = httpx.Client(timeout=5)
        node_ref: list[Node] = []

        def handle(message: Inbound, unit: Unit) -> None:
            received.append(message)
            if respond is not None:
                respond(node_ref[0], message, unit)

        beckn = BecknParticipant(
            engine,
            member.signer,
            network.stack.directory,
            networks,
            handler or handle,
            http,
            retry=options.pop("retry", RetryPolicy(base_seconds=0.05, cap_seconds=0.4)),
            **options,
        )
        app = create_service_app(
            title=f"participant {member.subscriber_id}",
            description="a Beckn participant under test",
            version="0",
            routers=[beckn.router("/beckn"), beckn.log_router()],
            max_body_bytes=8 * 1024 * 1024,
        )
        node = Node(member, beckn, app, received, http)
        node_ref.append(node)
        made.append(node)
        return node

    yield make
    for node in made:
        node.beckn.stop_worker()
        node.http.close()
        node.beckn.store.engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


__all__ = ["KeyAlgorithm"]
