"""Fixtures of the registry's tests: its app on a fresh real database, and a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from registry.app import RegistrySettings, create_app
from tests.tokens import authorise_registry

MIGRATIONS = "registry:migrations"


@pytest.fixture
def registry_url(make_database) -> str:
    return make_database(MIGRATIONS)


@pytest.fixture
def client(registry_url: str) -> Iterator[TestClient]:
    settings = RegistrySettings(
        database_url=registry_url, migrate_on_start=False, log_level="WARNING", import_batch_size=3
    )
    app = create_app(settings)
    with TestClient(app) as test_client:
        # Its writes need a machine token (issue 15); tests/registry/test_machine_doors.py
        # mints others with the same issuer.
        app.state.test_token_issuer = authorise_registry(app, test_client)
        yield test_client
    app.state.engine.dispose()


def create(client: TestClient, **body) -> dict:
    response = client.post("/identities", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["title"]
    assert body["detail"]
    return body
