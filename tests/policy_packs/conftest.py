"""Fixtures of the policy tests: the shipped packs, the engine, a service on a real database,
and packs copied to a scratch folder so that tests can alter or re-sign them."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from policy_packs.app import PolicySettings, create_app
from policy_packs.engine import EmbeddedEngine
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, Catalogue, load_catalogue
from policy_packs.signing import FileKeyring, load_private_key, sign_pack
from tests.tokens import TestIssuer

MIGRATIONS = "policy_packs:migrations"
TEST_KEYS = SHIPPED_PACKS.parent / "keys" / "test-only-private-keys"


@pytest.fixture(scope="session")
def keyring() -> FileKeyring:
    return FileKeyring(SHIPPED_KEYRING)


@pytest.fixture(scope="session")
def catalogue(keyring: FileKeyring) -> Catalogue:
    return load_catalogue(SHIPPED_PACKS, keyring)


@pytest.fixture(scope="session")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine()


def resign(folder: Path, regulator: str) -> None:
    """Sign ``folder`` again with a sandbox regulator's test key (as its author would)."""
    author = f"did:web:sandbox.ies.local:regulators:{regulator}"
    sign_pack(
        folder,
        author,
        f"{regulator}-sandbox-2024",
        load_private_key(TEST_KEYS / f"{regulator}.pem"),
    )


@pytest.fixture
def pack_copy(tmp_path: Path):
    """``pack_copy("in-ka", "1.0.0") -> folder``: a shipped pack copied to tmp_path."""

    def copy(pack_id: str, version: str) -> Path:
        target = tmp_path / "packs" / pack_id / version
        shutil.copytree(SHIPPED_PACKS / pack_id / version, target)
        return target

    return copy


def make_settings(database_url: str, **overrides) -> PolicySettings:
    return PolicySettings(
        database_url=database_url, migrate_on_start=False, log_level="WARNING", **overrides
    )


@pytest.fixture
def policy_app(make_database, catalogue, engine) -> Iterator[FastAPI]:
    app = create_app(make_settings(make_database(MIGRATIONS)), catalogue=catalogue, local=engine)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(policy_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(policy_app) as test_client:
        # The regulator's own tooling: logging a decision needs policy:evaluate, reading
        # the decision log is the regulator's back office (issue 15).
        token = policy_app.state.test_token_issuer = TestIssuer()
        token.install(policy_app, "regulator.test")
        test_client.headers.update(
            token.headers("regulator.test", ["policy:evaluate"], subject="regulator.test")
        )
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(policy_app: FastAPI) -> Iterator[str]:
    """The service on a real socket on 127.0.0.1 (uvicorn in a thread): its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(policy_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the policy service did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def assert_problem(response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    return body
