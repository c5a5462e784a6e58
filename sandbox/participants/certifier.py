"""The certifier's process: a credential issuer for asset certifications and installer
licences (its use cases come with DER visibility and P2P onboarding)."""

from __future__ import annotations

from fastapi import FastAPI

from credentials.app import create_app
from kernel.service import LazyApp
from sandbox.participants.common import ParticipantContext, identity_router, issuer_settings


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(issuer_settings(context))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))  # the issuer's did.json is served
    return app


app = LazyApp(create)
