"""An issuing body's process: a credential issuer and nothing else. Two members of the
sandbox run it: the certifier (the test laboratory: equipment certificates for
inverters, PV modules and batteries) and the state nodal agency (installer licences and
empanelment); which types each may issue is the operator's trust registry's business."""

from __future__ import annotations

from fastapi import FastAPI

from credentials.app import create_app
from kernel.service import LazyApp
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    identity_router,
    issuer_settings,
)


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(issuer_settings(context))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))  # the issuer's did.json is served
    accept_machine_tokens(app, context)  # issuance and status changes need a machine token
    return app


app = LazyApp(create)
