"""A participant's back office answers only its own operators (issue 15, kernel.backoffice).

The guard runs on real FastAPI apps with real signed access tokens (``tests.tokens``):
no token 401, another participant's token 403, the participant's own token 200, the
console acting for an operator of another organisation 403 and of this one 200; and the
discom's personal load-curve door (``sandbox.console.discom_routes``) refuses everyone
but the discom itself and the console acting for that very consumer.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Body, FastAPI, Query
from fastapi.testclient import TestClient

from adapters import vee
from adapters.hes import HesArchive
from kernel.access import Principal, install_authenticator
from kernel.backoffice import (
    BACKOFFICE_SCOPE,
    BY_ROUTE,
    CONSUMER_SCOPE,
    backoffice,
    check_consumer,
    install_backoffice,
    on_behalf_of,
)
from kernel.service import create_service_app
from kernel.tokens import bearer_authenticator
from sandbox.console.discom_routes import console_router
from sandbox.seed import discom_seed
from tests.tokens import TestIssuer

OWNER = "bank.test"
OTHER = "discom.test"
CONSOLE = "console.test"
CONSOLE_SCOPES = (CONSUMER_SCOPE, "registry:read", "ledger:read", BACKOFFICE_SCOPE)


def _app() -> FastAPI:
    return create_service_app(title="t", description="t", version="0", routers=[],
                              max_body_bytes=4096)  # fmt: skip


@pytest.fixture(scope="module")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture(scope="module")
def client(issuer: TestIssuer) -> TestClient:
    app = _app()
    issuer.install(app, OWNER)
    install_backoffice(app, OWNER)

    @app.get("/office", dependencies=[backoffice()])
    def office() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/who")
    def who(principal: Annotated[Principal, backoffice()]) -> dict[str, Any]:
        return {"kind": principal.kind, "organisation": principal.organisation}

    @app.get("/curves/{number}", dependencies=[backoffice(consumer="number")])
    def curve(number: str) -> dict[str, Any]:
        return {"number": number}

    @app.get("/queue", dependencies=[backoffice(mine="requester")])
    def queue(requester: Annotated[str | None, Query()] = None) -> dict[str, Any]:
        return {"requester": requester}

    @app.post("/collect")
    def collect(
        number: Annotated[str, Body(embed=True)],
        principal: Annotated[Principal, backoffice(consumer=BY_ROUTE)],
    ) -> dict[str, Any]:
        check_consumer(principal, number)
        return {"number": number}

    return TestClient(app)


def _as(issuer: TestIssuer, subject: str, scopes: tuple[str, ...] = ("registry:read",),
        **acting: str) -> dict[str, str]:  # fmt: skip
    headers = issuer.headers(OWNER, scopes, subject=subject)
    for kind, who in acting.items():
        headers.update(on_behalf_of(kind, who))  # type: ignore[arg-type]
    return headers


def _console(issuer: TestIssuer, **acting: str) -> dict[str, str]:
    return _as(issuer, CONSOLE, CONSOLE_SCOPES, **acting)


def test_nobody_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    answer = client.get("/office")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["type"].endswith("/unauthenticated")


def test_a_bad_token_is_401_never_nobody(client: TestClient) -> None:
    answer = client.get("/office", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401


def test_another_participants_token_is_403(client: TestClient, issuer: TestIssuer) -> None:
    answer = client.get("/office", headers=_as(issuer, OTHER, ("registry:write",)))
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("/forbidden")


def test_another_participant_claiming_an_operator_without_the_scope_is_403(
    client: TestClient, issuer: TestIssuer
) -> None:
    """Only a caller granted "backoffice" (the console) may act for an operator."""
    answer = client.get("/office", headers=_as(issuer, OTHER, operator=OWNER))
    assert answer.status_code == 403


def test_the_participants_own_token_is_200(client: TestClient, issuer: TestIssuer) -> None:
    assert client.get("/office", headers=_as(issuer, OWNER)).status_code == 200
    assert client.get("/who", headers=_as(issuer, OWNER)).json() == {
        "kind": "participant", "organisation": OWNER,
    }  # fmt: skip


def test_the_console_for_another_organisations_operator_is_403(
    client: TestClient, issuer: TestIssuer
) -> None:
    assert client.get("/office", headers=_console(issuer, operator=OTHER)).status_code == 403


def test_the_console_for_this_organisations_operator_is_200(
    client: TestClient, issuer: TestIssuer
) -> None:
    assert client.get("/office", headers=_console(issuer, operator=OWNER)).status_code == 200
    assert client.get("/who", headers=_console(issuer, operator=OWNER)).json() == {
        "kind": "operator", "organisation": OWNER,
    }  # fmt: skip


def test_the_console_acting_for_nobody_is_403(client: TestClient, issuer: TestIssuer) -> None:
    assert client.get("/office", headers=_console(issuer)).status_code == 403
    bad = {**_console(issuer), "X-On-Behalf-Of": "root"}
    assert client.get("/office", headers=bad).status_code == 403


def test_a_consumer_reaches_only_doors_that_serve_their_own_data(
    client: TestClient, issuer: TestIssuer
) -> None:
    assert client.get("/office", headers=_console(issuer, consumer="C-1")).status_code == 403
    assert client.get("/curves/C-1", headers=_console(issuer, consumer="C-1")).status_code == 200
    assert client.get("/curves/C-2", headers=_console(issuer, consumer="C-1")).status_code == 403
    # the consumer opening needs the console's consumer scope
    plain = _as(issuer, OTHER, consumer="C-1")
    assert client.get("/curves/C-1", headers=plain).status_code == 403


def test_a_consumer_named_in_the_body_is_checked_by_the_route(
    client: TestClient, issuer: TestIssuer
) -> None:
    mine = client.post("/collect", json={"number": "C-1"}, headers=_console(issuer, consumer="C-1"))
    assert mine.status_code == 200
    theirs = client.post(
        "/collect", json={"number": "C-2"}, headers=_console(issuer, consumer="C-1")
    )
    assert theirs.status_code == 403
    own = client.post("/collect", json={"number": "C-2"}, headers=_as(issuer, OWNER))
    assert own.status_code == 200


def test_a_caller_may_read_the_rows_filtered_to_itself(
    client: TestClient, issuer: TestIssuer
) -> None:
    other = _as(issuer, OTHER)
    assert client.get("/queue", params={"requester": OTHER}, headers=other).status_code == 200
    assert client.get("/queue", params={"requester": "x.test"}, headers=other).status_code == 403
    assert client.get("/queue", headers=other).status_code == 403
    operator = _console(issuer, operator=OTHER)
    assert client.get("/queue", params={"requester": OTHER}, headers=operator).status_code == 200
    assert client.get("/queue", headers=operator).status_code == 403


def test_a_service_naming_no_owner_answers_nobody(issuer: TestIssuer) -> None:
    app = _app()
    install_authenticator(app, bearer_authenticator(issuer.verifier(OWNER)))  # no owner

    @app.get("/office", dependencies=[backoffice()])
    def office() -> dict[str, Any]:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/office", headers=_as(issuer, OWNER)).status_code == 403


# ---------------------------------------------------------------------- the load curve

DISCOM = "discom-mh.test"


@pytest.fixture(scope="module")
def load_curve(issuer: TestIssuer) -> tuple[TestClient, str]:
    app = _app()
    issuer.install(app, DISCOM)
    install_backoffice(app, DISCOM)
    app.state.archive = HesArchive(config=vee.VeeConfig(discom="MSEDCL"))  # holds nothing
    app.include_router(console_router("MSEDCL"))
    number = discom_seed("MSEDCL").network().consumers[0].number
    return TestClient(app), number


def _to_discom(issuer: TestIssuer, subject: str, scopes: tuple[str, ...],
               **acting: str) -> dict[str, str]:  # fmt: skip
    headers = issuer.headers(DISCOM, scopes, subject=subject)
    for kind, who in acting.items():
        headers.update(on_behalf_of(kind, who))  # type: ignore[arg-type]
    return headers


def test_the_personal_load_curve_is_refused_without_the_right_principal(
    load_curve: tuple[TestClient, str], issuer: TestIssuer
) -> None:
    client, number = load_curve
    path = f"/back-office/consumers/{number}/load-curve"
    assert client.get(path).status_code == 401
    refused = [
        _to_discom(issuer, OWNER, ("registry:read",)),  # another participant
        _to_discom(issuer, CONSOLE, CONSOLE_SCOPES, consumer="someone-else"),
        _to_discom(issuer, CONSOLE, CONSOLE_SCOPES, operator=OWNER),  # another org's operator
        _to_discom(issuer, CONSOLE, CONSOLE_SCOPES),  # the console for nobody
        _to_discom(issuer, OWNER, ("registry:read",), consumer=number),  # not the console
    ]
    for headers in refused:
        assert client.get(path, headers=headers).status_code == 403, headers
    # Past the guard (the archive holds no load for the meter: the handler's own 404).
    allowed = [
        _to_discom(issuer, DISCOM, ("registry:read",)),
        _to_discom(issuer, CONSOLE, CONSOLE_SCOPES, consumer=number),
        _to_discom(issuer, CONSOLE, CONSOLE_SCOPES, operator=DISCOM),
    ]
    for headers in allowed:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404, (headers, answer.text)
        assert "HES holds no block load" in answer.text
