"""The P2P trading platform's process: a credential issuer (trading permissions) and its
Beckn BPP in the P2P trading network. Its trading flows come with the P2P use case."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from credentials.app import create_app
from kernel.service import LazyApp
from protocol.receiving import Inbound, Unit
from sandbox.participants.common import (
    ParticipantContext,
    add_lifespan,
    beckn_participant,
    identity_router,
    issuer_settings,
)


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(issuer_settings(context))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)

    def handle(_message: Inbound, _unit: Unit) -> None:
        """Offers and trades arrive here once the P2P use case is built."""

    beckn = beckn_participant(context, app.state.engine, handle, http, directory)
    app.include_router(beckn.router("/beckn"))
    app.include_router(beckn.log_router())

    def stop() -> None:
        beckn.stop_worker()
        http.close()
        directory.close()

    add_lifespan(app, lambda: beckn.start_worker(0.05), stop)
    return app


app = LazyApp(create)
