"""What every service does at its edge: body limits, NUL refusal, problem details."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from kernel.service import create_service_app
from registry.app import RegistrySettings, create_app
from tests.registry.conftest import MIGRATIONS, assert_problem
from tests.tokens import authorise_registry


@pytest.fixture
def small_client(make_database):
    settings = RegistrySettings(
        database_url=make_database(MIGRATIONS), migrate_on_start=False, max_body_bytes=2000
    )
    app = create_app(settings)
    with TestClient(app) as client:
        authorise_registry(app, client)
        yield client
    app.state.engine.dispose()


def count(client) -> int:
    return len(client.get("/identities").json()["items"])


@pytest.mark.parametrize(
    ("body", "content_type", "path"),
    [
        (b'{"type":"meter","address":{"circle":"a\\u0000b"}}', "application/json", "/identities"),
        (
            b"type,legacy_scheme,legacy_scope,legacy_id\nmeter,meter_serial,X,A\x00\n",
            "text/csv",
            "/imports",
        ),
    ],
)
def test_a_nul_character_in_a_body_is_refused_and_nothing_written(
    small_client, body, content_type, path
):
    response = small_client.post(path, content=body, headers={"content-type": content_type})
    assert_problem(response, 400, "nul-in-text")
    assert count(small_client) == 0


def test_a_nul_character_in_the_url_is_refused(small_client):
    assert_problem(small_client.get("/identities", params={"state": "\x00"}), 400, "nul-in-text")


def test_a_body_over_the_limit_is_refused_declared_or_streamed(small_client):
    big = b'{"type":"meter","address":{"circle":"' + b"a" * 3000 + b'"}}'
    declared = small_client.post(
        "/identities", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(declared, 413, "body-too-large")

    def chunks():
        yield big[:1000]
        yield big[1000:]

    streamed = small_client.post(
        "/identities", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413, "body-too-large")
    assert count(small_client) == 0


def test_method_not_allowed_lists_every_method_of_the_resource(small_client):
    response = small_client.put("/identities")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_validation_errors_are_all_listed_with_their_location(small_client):
    response = small_client.post(
        "/identities", json={"type": "windmill", "address": {"pincode": "12"}}
    )
    body = assert_problem(response, 422, "invalid-request")
    locations = {e["location"] for e in body["errors"]}
    assert {"body/type", "body/address/pincode"} <= locations


def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing():
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret database password in this message")

    app = create_service_app(
        title="t", description="t", version="0", routers=[router], max_body_bytes=100
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secret" not in response.text
    assert response.headers["x-request-id"]


def test_concurrent_writers_on_sqlite_wait_for_each_other(make_database):
    """Two threads creating identities at once: every write lands, none sees 'locked'."""
    import threading

    settings = RegistrySettings(database_url=make_database(MIGRATIONS), migrate_on_start=False)
    app = create_app(settings)
    failures: list[int] = []
    with TestClient(app) as client:
        authorise_registry(app, client)

        def write(n: int) -> None:
            for i in range(15):
                response = client.post(
                    "/identities",
                    json={
                        "type": "meter",
                        "legacy_ids": [
                            {"scheme": "meter_serial", "scope": f"T{n}", "value": f"S{i}"}
                        ],
                    },
                )
                if response.status_code != 201:
                    failures.append(response.status_code)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(client.get("/identities", params={"limit": 100}).json()["items"]) == 60
    app.state.engine.dispose()
