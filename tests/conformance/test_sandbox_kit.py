"""The kit against every participant of a running sandbox (all applicable items pass),
and against deliberately broken participants (exactly the items each breaks fail)."""

from __future__ import annotations

import contextlib
import random
import secrets
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.conformance.kit import RunOptions, Sandbox, conform
from sandbox.conformance.model import Report, Status
from sandbox.conformance.receiver import free_port
from sandbox.network import start
from sandbox.plan import Plan, network_plan
from sandbox.usecases import World, passport
from tests.conformance import fixtures

pytestmark = pytest.mark.slow


def free_port_block(size: int = 20) -> int:
    """A block of free ports from a random start: engineers and CI jobs sharing a machine
    must not all probe the same first block (two of them took it at once)."""
    rng = random.Random()
    for _ in range(200):
        start = rng.randrange(30000, 60000 - size)
        ports = range(start, start + size)
        with contextlib.ExitStack() as stack:
            try:
                for port in ports:
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return start
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    passphrase = secrets.token_urlsafe(24)
    whole = network_plan(free_port_block(), tmp_path_factory.mktemp("net"))
    # The web console is no protocol participant and nothing here talks to it.
    plan = Plan(tuple(m for m in whole.members if m.participant_type != "console"),
                whole.data_dir, whole.extra)  # fmt: skip
    network, _ = start(plan, passphrase)
    try:
        with tempfile.TemporaryDirectory() as scratch, httpx.Client(timeout=60) as http:
            # The discoms' consumers come from their CIS exports: the data-provider items
            # ask for a consumer's consent.
            assert passport.play(World(plan, http, Path(scratch), passphrase)).passed
        yield Sandbox(plan, passphrase)
    finally:
        network.stop()


def run(
    sandbox: Sandbox,
    url: str,
    role: str,
    subscriber_id: str | None = None,
    only: tuple[str, ...] = (),
) -> Report:
    plan: Plan = sandbox.plan
    return conform(
        RunOptions(
            target=url,
            role=role,
            directory=plan.directory.url,
            subscriber_id=subscriber_id or sandbox.subscriber_at(url) or "",
            hosts=plan.hosts,
            sandbox=sandbox,
            callback_wait=5,
            # A shared machine under load answers slowly; the kit's 5 s is for a real
            # target. A timed-out request would fail an item for the load, not the code.
            timeout=30,
            only=only,
        )
    )


def failing(report: Report) -> set[str]:
    return {o.item.id for o in report.outcomes if o.status is not Status.PASS}


@pytest.mark.parametrize(
    ("name", "role", "count"),
    [
        ("registry", "directory", 6),
        ("gateway", "gateway", 16),
        ("discom-mh", "bpp", 16),
        ("discom-ka", "bpp", 16),
        ("bank", "bap", 12),
        ("discom-mh", "credential-issuer", 8),
        ("consent", "consent-manager", 8),
        ("discom-mh", "data-provider", 10),
    ],
)
def test_every_sandbox_participant_passes_every_applicable_item(
    sandbox: Sandbox, name: str, role: str, count: int
) -> None:
    report = run(sandbox, sandbox.plan.member(name).url, role)
    details = {o.item.id: o.detail for o in report.outcomes if o.status is not Status.PASS}
    assert details == {}
    assert len(report.outcomes) == count
    assert report.passed


BECKN = ("exchange.", "refusal.")


@pytest.mark.parametrize(
    ("defect", "broken"),
    [
        (None, set()),
        (fixtures.skips_signature_verification, {"refusal.tampered"}),
        (fixtures.accepts_replays, {"refusal.replayed"}),
        (fixtures.schema_invalid_on_status, {"exchange.callback-schema"}),
    ],
    ids=["reference", "skips-signature", "accepts-replay", "invalid-on-status"],
)
def test_a_broken_bpp_fails_exactly_the_items_it_breaks(
    sandbox: Sandbox, tmp_path: Path, defect: Any, broken: set[str]
) -> None:
    name = getattr(defect, "__name__", "reference").replace("_", "-")
    (url, server, thread), subscriber = fixtures.bpp(
        sandbox.plan, sandbox.passphrase, name, str(tmp_path), defect
    )
    try:
        report = run(sandbox, url, "bpp", subscriber, only=BECKN)
    finally:
        server.should_exit = True
        thread.join(5)
    assert failing(report) == broken, {o.item.id: o.detail for o in report.outcomes}
    for outcome in report.outcomes:
        if outcome.item.id in broken:
            assert outcome.status is Status.FAIL
            assert outcome.evidence


def test_an_issuer_ignoring_revocation_fails_only_the_revocation_item(sandbox: Sandbox) -> None:
    issuer = sandbox.plan.member("discom-mh")
    port = free_port()
    url, server, thread = fixtures.serve(fixtures.ignores_revocation(issuer.url), port)
    try:
        report = run(sandbox, url, "credential-issuer", issuer.host)
    finally:
        server.should_exit = True
        thread.join(5)
    assert failing(report) == {"credential.revocation"}
    (outcome,) = [o for o in report.outcomes if o.item.id == "credential.revocation"]
    assert "still answers HTTP 404" in outcome.detail


def test_a_provider_slicing_finer_than_consented_fails_only_the_slice_item(
    sandbox: Sandbox,
) -> None:
    issuer = sandbox.plan.member("discom-mh")
    app = fixtures.finer_than_consented(sandbox.plan, sandbox.passphrase)
    url, server, thread = fixtures.serve(app, free_port())
    try:
        report = run(sandbox, url, "data-provider", issuer.host, only=("consent.",))
    finally:
        server.should_exit = True
        thread.join(5)
    assert failing(report) == {"consent.slice"}
    (outcome,) = [o for o in report.outcomes if o.item.id == "consent.slice"]
    assert "finer than the consented daily" in outcome.detail


def test_a_manager_whose_revoke_only_pauses_fails_the_revocation_items(sandbox: Sandbox) -> None:
    manager = sandbox.plan.member("consent")
    url, server, thread = fixtures.serve(fixtures.revokes_as_pause(manager.url), free_port())
    try:
        report = run(sandbox, url, "consent-manager", manager.host, only=("consent-manager.",))
    finally:
        server.should_exit = True
        thread.join(5)
    assert failing(report) == {"consent-manager.status-visible", "consent-manager.revocation-final"}
    details = {o.item.id: o.detail for o in report.outcomes}
    assert "revoked, yet the consent reads PAUSED" in details["consent-manager.status-visible"]
    final = details["consent-manager.revocation-final"]
    assert "a revoked consent was accepted for resume" in final
