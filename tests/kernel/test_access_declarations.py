"""No route left open by accident (issue 15): every route of every service app declares
exactly one of ``requires``, ``public`` or ``signed`` (``kernel.access``).

The apps are built the way the sandbox builds them: every participant of the plan
(registry + directory + ledger, gateway, discoms with every use case's routes, bank,
consent manager, certifiers, regulator, P2P platform, installer, the console), from a
plan and keys written to a temporary directory; each app is built, never started.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from kernel.access import declared_routes
from sandbox.onboarding import make_keys
from sandbox.plan import Plan, network_plan

PASSPHRASE = "declarations-test-passphrase"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    data_dir = tmp_path_factory.mktemp("declarations")
    plan = network_plan(9900, data_dir)
    make_keys(plan, PASSPHRASE)
    plan.write()
    return plan


def _build(plan: Plan, name: str, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> FastAPI:
    member = plan.member(name)
    monkeypatch.setenv("IES_SANDBOX_PLAN", str(plan.data_dir / "plan.json"))
    monkeypatch.setenv("IES_SANDBOX_NAME", member.name)
    monkeypatch.setenv("IES_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("IES_DATABASE_URL", f"sqlite:///{tmp / (member.name + '.db')}")
    module_name, attribute = member.app.split(":")
    module = importlib.import_module(module_name)
    lazy = getattr(module, attribute)
    factory = getattr(lazy, "_factory", None)
    app = factory() if factory is not None else lazy
    assert isinstance(app, FastAPI)
    return app


def undeclared(app: FastAPI) -> list[str]:
    """``METHODS path: n declarations`` for every route without exactly one, and every
    route still declared open as "unguarded" (issue 15: a door awaiting its guard is
    not a decision to leave it open)."""
    wrong = []
    for methods, path, found in declared_routes(app):
        if len(found) != 1:
            kinds = ", ".join(f"{d.kind}({d.value})" for d in found) or "none"
            wrong.append(f"{methods} {path}: {kinds}")
        elif found[0].kind == "public" and found[0].value.lower().startswith("unguarded"):
            wrong.append(f"{methods} {path}: still unguarded ({found[0].value})")
    return wrong


MEMBERS = [m.name for m in network_plan(9900, Path("/nonexistent")).members]


@pytest.mark.parametrize("name", MEMBERS)
def test_every_route_of_every_participant_declares_its_access(
    plan: Plan, name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = _build(plan, name, monkeypatch, tmp_path)
    assert list(declared_routes(app)), "the app has no routes: the walk would prove nothing"
    assert undeclared(app) == []


def test_the_walk_catches_an_undeclared_route() -> None:
    """The check itself can fail: a bare route, and a doubly declared one, are caught."""
    from kernel.access import public, requires
    from kernel.service import create_service_app

    app = create_service_app(title="t", description="t", version="0", routers=[],
                             max_body_bytes=1024)  # fmt: skip

    @app.get("/open")
    def _open() -> dict[str, Any]:
        return {}

    @app.get("/twice", dependencies=[public("a"), requires("x:y")])
    def _twice() -> dict[str, Any]:
        return {}

    @app.get("/later", dependencies=[public("unguarded: back office, sign-in pending")])
    def _later() -> dict[str, Any]:
        return {}

    assert sorted(undeclared(app)) == [
        "GET /later: still unguarded (unguarded: back office, sign-in pending)",
        "GET /open: none",
        "GET /twice: public(a), requires(x:y)",
    ]
