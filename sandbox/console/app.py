"""``uvicorn sandbox.console.app:app``: the console's process in the sandbox.

It reads the plan like every participant (``IES_SANDBOX_PLAN``, ``IES_SANDBOX_NAME``),
keeps the personas' wallets under ``{data dir}/console`` in custody opened with the
run's passphrase, and serves its static files (its stylesheet, its chart module and
the vendored uPlot build with its licence) itself: no CDN.

In the sandbox the console is also the regulator's operator desk: it opens the
regulator's key custody (the run's one passphrase) to sign what the commission's staff
ask of the inbox, a request for a correction. Which member of staff asked is issue 15
(sign-in); until then the regulator persona acts with the commission's key.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from credentials.keys import EncryptedFileCustody
from kernel.service import LazyApp, create_service_app
from protocol.signing import CustodySigner
from sandbox.console.pages import Console, router
from sandbox.console.sources import Participants
from sandbox.console.wallet import Wallets
from sandbox.participants.common import ParticipantContext, add_lifespan
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
        routers=[router],
        max_body_bytes=64 * 1024,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    passphrase = context.passphrase.get_secret_value().encode()
    commission = CustodySigner(
        EncryptedFileCustody(context.plan.key_dir("regulator"), passphrase),
        context.plan.member("regulator").host,
        BECKN_KEY,
    )
    app.state.console = Console(
        context.plan, Participants(context.plan, http), wallets, commission=commission
    )
    app.state.shared = {}
    add_lifespan(app, lambda: None, http.close)
    return app


app = LazyApp(create)
