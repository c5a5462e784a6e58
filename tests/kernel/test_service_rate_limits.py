"""The abuse limits are in force in every block's own service, not only in the sandbox.

What an operator runs (``uvicorn registry.app:app``, as the README says) is the block's
``create_app``: the request past the budget answers 429 problem details with
``Retry-After``, and the refused request changed nothing. The registry is exercised
over a real socket (uvicorn, the client's real address), the policy decision service
in-process (ASGI)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from credentials.app import CredentialSettings
from kernel.ratelimit import AddressRateLimitMiddleware, RateLimit, install_rate_limits_from
from kernel.settings import ServiceSettings
from policy_packs.app import PolicySettings
from policy_packs.app import create_app as create_policy_app
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, load_catalogue
from policy_packs.signing import FileKeyring
from registry.app import RegistrySettings
from registry.app import create_app as create_registry_app
from tests.tokens import ALL_REGISTRY, TestIssuer

PORTS = range(8640, 8660)  # this test's own block on loopback
SLOW = 0.001  # tokens a second: nothing refills while a test runs


def _serve(app: FastAPI) -> Iterator[str]:
    """``app`` on a real socket on 127.0.0.1: its base URL (the first free port)."""
    for port in PORTS:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if server.started:
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
                thread.join(10)
            return
        server.should_exit = True
        thread.join(10)  # the port was taken: try the next one
    pytest.fail(f"no free port in {PORTS}")


def _registry(make_database: Any, **limits: Any) -> tuple[FastAPI, TestIssuer]:
    settings = RegistrySettings(database_url=make_database("registry:migrations"),
                                migrate_on_start=False, log_level="WARNING", **limits)  # fmt: skip
    app = create_registry_app(settings)
    issuer = TestIssuer()
    issuer.install(app, "registry.test")
    return app, issuer


def _identities(app: FastAPI) -> int:
    from registry.store import IdentityRow

    with Session(app.state.engine) as session:
        return int(session.execute(select(func.count()).select_from(IdentityRow)).scalar_one())


def _refused(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["type"] == "/problems/rate-limited"
    assert int(answer.headers["retry-after"]) >= 1
    assert body["retry_after"] == int(answer.headers["retry-after"])
    return body


def _meter(n: int) -> dict[str, Any]:
    return {"type": "meter", "attributes": {"manufacturer": f"MAKER{n}"}}


def test_the_registry_refuses_a_participants_write_past_its_budget_over_http(
    make_database: Any,
) -> None:
    app, issuer = _registry(make_database, rate_per_participant=SLOW, burst_per_participant=3)
    writer = issuer.headers("registry.test", ALL_REGISTRY, subject="discom.test")
    try:
        for url in _serve(app):
            with httpx.Client(base_url=url, timeout=10) as http:
                for n in range(3):
                    assert http.post("/identities", json=_meter(n),
                                     headers=writer).status_code == 201  # fmt: skip
                refused = http.post("/identities", json=_meter(3), headers=writer)
                assert "discom.test" in _refused(refused)["detail"]
                assert _identities(app) == 3  # the refused write did not write
                # Another participant, same address: its own budget; the list shows three.
                other = issuer.headers("registry.test", ALL_REGISTRY, subject="other.test")
                assert http.post("/identities", json=_meter(4),
                                 headers=other).status_code == 201  # fmt: skip
                listed = http.get("/identities", params={"limit": 10})
                assert listed.status_code == 200, listed.text
                made = sorted(i["attributes"]["manufacturer"] for i in listed.json()["items"])
                assert made == ["MAKER0", "MAKER1", "MAKER2", "MAKER4"]
    finally:
        app.state.engine.dispose()


def test_the_registry_refuses_an_address_past_its_budget_before_any_work_over_http(
    make_database: Any,
) -> None:
    app, issuer = _registry(make_database, rate_per_address=SLOW, burst_per_address=3)
    writer = issuer.headers("registry.test", ALL_REGISTRY)
    try:
        for url in _serve(app):
            with httpx.Client(base_url=url, timeout=10) as http:
                assert http.get("/healthz").status_code == 200
                for n in range(2):
                    assert http.post("/identities", json=_meter(n),
                                     headers=writer).status_code == 201  # fmt: skip
                _refused(http.post("/identities", json=_meter(2), headers=writer))
                assert _identities(app) == 2
                _refused(http.get("/healthz"))  # every door: the budget is the address's
    finally:
        app.state.engine.dispose()


def _trade_decision(reference: str) -> dict[str, Any]:
    return {
        "jurisdiction": "IN-KA",
        "domain": "p2p_trade",
        "as_of": "2025-06-01",
        "reference": reference,
        "input": {
            "seller": {"connection_category": "domestic", "sanctioned_load_kw": 10,
                       "der_capacity_kw": 5, "metering_scheme": "none"},
            "buyer": {"connection_category": "commercial"},
            "trade": {"block": {"date": "2025-06-01", "number": 48, "minutes": 15},
                      "quantity_kwh": 1, "price_inr_per_kwh": 5.0},
        },
    }  # fmt: skip


def test_the_policy_service_refuses_a_decision_past_the_budget_and_logs_nothing(
    make_database: Any,
) -> None:
    settings = PolicySettings(database_url=make_database("policy_packs:migrations"),
                              migrate_on_start=False, log_level="WARNING",
                              rate_per_participant=SLOW, burst_per_participant=2)  # fmt: skip
    catalogue = load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))
    app = create_policy_app(settings, catalogue=catalogue)
    issuer = TestIssuer()
    issuer.install(app, "regulator.test")
    caller = issuer.headers("regulator.test", ["policy:evaluate"], subject="p2p.test")
    try:
        with TestClient(app) as client:
            for n in range(2):
                decided = client.post("/policy/decisions", json=_trade_decision(f"t-{n}"),
                                      headers=caller)  # fmt: skip
                assert decided.status_code == 200, decided.text
            refused = client.post("/policy/decisions", json=_trade_decision("t-2"),
                                  headers=caller)  # fmt: skip
            _refused(refused)
            # The regulator's back office reads the log: the refused decision is not in it.
            own = issuer.headers("regulator.test", [], subject="regulator.test")
            log = client.get("/policy/decisions", headers=own)
            assert log.status_code == 200, log.text
            assert sorted(d["reference"] for d in log.json()["items"]) == ["t-0", "t-1"]
    finally:
        app.state.engine.dispose()


def test_a_service_takes_the_sandboxs_defaults_and_its_own_prefixed_knobs(
    make_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = ServiceSettings()
    assert (defaults.rate_per_address, defaults.burst_per_address) == (200.0, 2000)
    assert (defaults.rate_per_participant, defaults.burst_per_participant) == (50.0, 500)
    monkeypatch.setenv("IES_RATE_PER_ADDRESS", "7")
    monkeypatch.setenv("IES_BURST_PER_PARTICIPANT", "9")
    monkeypatch.setenv("IES_CREDENTIALS_RATE_PER_ADDRESS", "3")
    app = create_registry_app(RegistrySettings(database_url=make_database("registry:migrations"),
                                               migrate_on_start=False))  # fmt: skip
    try:
        assert app.state.address_buckets.limit == RateLimit(7.0, 2000)
        assert app.state.participant_buckets.limit == RateLimit(50.0, 9)
    finally:
        app.state.engine.dispose()
    assert CredentialSettings().rate_per_address == 3.0  # its own prefix, as its other knobs


def test_a_host_installing_its_own_limits_replaces_the_blocks_instead_of_stacking(
    make_database: Any,
) -> None:
    app, _ = _registry(make_database, rate_per_address=SLOW, burst_per_address=1)
    # As the sandbox's participants do over a block's app: their own process's settings.
    install_rate_limits_from(app, ServiceSettings(rate_per_address=SLOW, burst_per_address=3))
    added = [m for m in app.user_middleware if m.cls is cast(Any, AddressRateLimitMiddleware)]
    assert len(added) == 1
    try:
        with TestClient(app) as client:
            assert [client.get("/healthz").status_code for _ in range(4)] == [200, 200, 200, 429]
        install_rate_limits_from(app, ServiceSettings(rate_per_address=0))  # switched off
        with TestClient(app) as client:
            assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    finally:
        app.state.engine.dispose()
