"""``uvicorn sandbox.console.app:app``: the console's process in the sandbox.

It reads the plan like every participant (``IES_SANDBOX_PLAN``, ``IES_SANDBOX_NAME``),
keeps the personas' wallets under ``{data dir}/console`` in custody opened with the
run's passphrase, and serves its static files (its stylesheet, its chart module and
the vendored uPlot build with its licence) itself: no CDN.

In the sandbox the console is also the regulator's operator desk: it opens the
regulator's key custody (the run's one passphrase) to sign what the commission's staff
ask of the inbox, a request for a correction; the regulator's operator signs in with a
passkey first (one account per persona: naming individual staff is a later step).

Every page needs a session (``sandbox.console.signin``: one-time codes through the
sandbox's inbox, passkeys, CSRF tokens, security headers); the sign-in tables live in
the console's own database.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from credentials.keys import EncryptedFileCustody
from credentials.signin.service import RelyingParty, SignIn
from kernel.access import requires
from kernel.database import create_db_engine
from kernel.service import LazyApp, create_service_app
from protocol.signing import CustodySigner
from sandbox.console.pages import Console, router
from sandbox.console.signin import install_signin, persona_pages
from sandbox.console.signin_inbox import SandboxInbox
from sandbox.console.sources import Participants, remember_signed_in
from sandbox.console.wallet import Wallets
from sandbox.participants.common import (
    ParticipantContext,
    add_lifespan,
    identity_router,
    machine_client,
)
from sandbox.plan import BECKN_KEY

STATIC = Path(__file__).parent / "static"


def create() -> FastAPI:
    context = ParticipantContext()
    http = httpx.Client(timeout=20)
    wallets = Wallets(
        context.plan.data_dir / "console" / "wallets",
        context.passphrase.get_secret_value().encode(),
    )
    app = create_service_app(
        title="IES console",
        description="Pages for consumers, discom operators, the P2P platform and the "
        "regulator; every page answers JSON too (Accept: application/json or ?format=json).",
        version="0.1.0",
        routers=[],
        max_body_bytes=64 * 1024,
    )
    # Every page needs a signed-in person (a session), and only their own persona's
    # pages answer; sign-in's own routes are mounted by install_signin.
    app.include_router(
        router,
        dependencies=[
            requires("console", kinds=("consumer", "operator")),
            Depends(persona_pages),
            Depends(remember_signed_in),  # whom the back-office calls act for
        ],
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    passphrase = context.passphrase.get_secret_value().encode()
    commission = CustodySigner(
        EncryptedFileCustody(context.plan.key_dir("regulator"), passphrase),
        context.plan.member("regulator").host,
        BECKN_KEY,
    )
    # The console acts for the consumer it signed in at the consent manager with its own
    # machine token (scope "consent:consumer"; docs/console.md): the directory knows its
    # key (its subscriber record, no network membership) and its participant_type.
    manager = context.plan.member("consent")
    consent = machine_client(context, manager.url, manager.host)
    app.state.console = Console(
        context.plan, Participants(context.plan, http, consent), wallets, commission=commission
    )
    # Its own host serves the DeDi domain challenge (onboarding proves its namespace).
    app.include_router(identity_router(context, did=False))
    app.state.shared = {}
    install_signin(app, _signin(context, passphrase), app.state.console.personas)

    def close() -> None:
        http.close()
        consent.close()

    add_lifespan(app, lambda: None, close)
    return app


def _signin(context: ParticipantContext, passphrase: bytes) -> SignIn:
    """Sign-in over the console's own database and the sandbox's inbox. WebAuthn needs a
    domain for its relying party, and browsers treat http://localhost as secure, so the
    console's passkeys belong to ``localhost`` at the console's port."""
    port = urlsplit(context.me.url).port
    origins = tuple(f"{scheme}://localhost:{port}" for scheme in ("http", "https"))
    pepper = hashlib.sha256(b"ies console sign-in pepper\0" + passphrase).digest()
    return SignIn(
        create_db_engine(context.settings.database_url),
        SandboxInbox(context.plan.data_dir / "inbox"),
        RelyingParty("localhost", "IES console (sandbox)", origins),
        pepper,
    )


app = LazyApp(create)
