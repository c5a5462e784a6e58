"""The gateway's process: the protocol block's BG with this participant's identity."""

from __future__ import annotations

from fastapi import FastAPI

from kernel.service import LazyApp
from protocol.app import GatewaySettings, create_app
from sandbox.participants.common import ParticipantContext, identity_router
from sandbox.plan import BECKN_KEY


def create() -> FastAPI:
    context = ParticipantContext()
    me = context.me
    settings = GatewaySettings(
        **context.service_kwargs(),
        subscriber_id=me.host,
        key_id=BECKN_KEY,
        key_dir=context.key_dir,
        key_passphrase=context.passphrase,
        directory_url=context.directory_url,
        networks=list(me.networks),
    )
    app = create_app(settings)
    app.include_router(identity_router(context))
    # Its subscriber record names {url}/beckn (as every member's): serve Beckn there too,
    # or a BAP that reads the directory posts to a 404 (found by the conformance kit).
    app.include_router(app.state.participant.router("/beckn"))
    return app


app = LazyApp(create)
