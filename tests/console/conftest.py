"""The console's browser tests: one sandbox network for the session (every participant
as its own process, the console among them), on which every use case plays once (so
there are consumers, consents, trades, filings and outages to show), and Debian's
Chromium driven by Playwright (``playwright install`` cannot download browsers here,
nor is it needed).

Screenshots of every page go to ``var/screenshots/console`` (printed at the end).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.console.personas import personas
from sandbox.machine_auth import acting_as
from sandbox.network import play_all, start
from sandbox.plan import Plan, network_plan
from sandbox.usecases import World
from tests.console.signin import sign_in, sign_in_page
from tests.sandbox.conftest import free_port_block

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


@dataclass
class Sandbox:
    plan: Plan
    http: httpx.Client
    world: World
    sessions: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def console(self) -> str:
        return self.plan.member("console").url

    def signed_in(self, key: str) -> httpx.Client:
        """An HTTP client signed in as persona ``key`` through the real flow (a code from
        the sandbox's inbox; an operator's invitation, then a passkey)."""
        if key not in self.sessions:
            self.sessions[key] = sign_in(self.plan, key)
        return self.sessions[key]

    def as_console(self) -> httpx.Client:
        """The consent manager's consumer routes read as the console reads them (its
        machine token, scope consent:consumer): the tests' view of what the manager holds."""
        if "(console token)" not in self.sessions:
            manager = self.plan.member("consent").host
            auth = acting_as(self.plan, "console", self.world.passphrase, manager)
            self.sessions["(console token)"] = httpx.Client(timeout=30, auth=auth)
        return self.sessions["(console token)"]

    def page(self, browser: Any, key: str, **options: Any) -> Any:
        """A browser page signed in as ``key``: a consumer through the sign-in pages; an
        operator (whose passkey lives in the test's software authenticator) carries the
        session that sign-in opened."""
        options.setdefault("viewport", {"width": 1100, "height": 900})
        context = browser.new_context(**options)
        page = context.new_page()
        if {p.key: p.kind for p in personas(self.plan)}[key] != "consumer":
            client = self.signed_in(key)
            context.add_cookies(
                [
                    {"name": c.name, "value": c.value or "", "url": self.console}
                    for c in client.cookies.jar
                ]
            )
        else:
            sign_in_page(page, self.plan, key)
        return page


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The whole network, torn down after the module (so it never overlaps the sandbox
    tests' own network); its participants on SQLite whatever the suite's backend (the
    console only reads their APIs; tests/sandbox runs them on PostgreSQL)."""
    os.environ.setdefault("IES_LOG_LEVEL", "WARNING")
    os.environ.pop("IES_DATABASE_URL", None)
    data_dir = tmp_path_factory.mktemp("console-sandbox")
    plan = network_plan(free_port_block(), data_dir)
    passphrase = secrets.token_urlsafe(24)
    network, _ = start(plan, passphrase)
    scratch = Path(tempfile.mkdtemp())
    try:
        with httpx.Client(timeout=60) as http:
            world = World(plan, http, scratch, passphrase)
            # Every use case once: consumers onboarded, consents, trades, filings, outages.
            cases = {case.name: case for case in play_all(world)}
            onboarding = cases["Consumer onboarding + Consumer Energy Passport"]
            assert onboarding.passed, [c for c in onboarding.checks if not c.passed]
            world.shared["cases"] = cases
            box = Sandbox(plan, http, world)
            yield box
            for client in box.sessions.values():
                client.close()
    finally:
        network.stop()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Iterator[Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield SCREENSHOTS
    print(f"\nconsole screenshots: {SCREENSHOTS}")
