"""The regulator's process: the policy decision service over the signed state packs
(the packs it authors), with its own identity in the network."""

from __future__ import annotations

from fastapi import FastAPI

from kernel.service import LazyApp
from policy_packs.app import PolicySettings, create_app
from sandbox.participants.common import ParticipantContext, identity_router


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(PolicySettings(**context.service_kwargs()))
    app.include_router(identity_router(context))
    return app


app = LazyApp(create)
