"""The consent manager's process: the consent block with this participant's identity;
it notifies each discom's meter data service of status changes and checks meter
ownership against the registry (the directory's process)."""

from __future__ import annotations

import json

from fastapi import FastAPI

from consent.app import ConsentSettings, create_app
from kernel.service import LazyApp
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    identity_router,
)
from sandbox.participants.consent_signin import install_consumer_signin
from sandbox.participants.outage_inbox import install_outage_receiver
from sandbox.plan import BECKN_KEY

PROVIDER_NOTIFICATIONS = "/meter-data-service/consent/notifications"


def create() -> FastAPI:
    context = ParticipantContext()
    me = context.me
    providers = {d.host: d.url + PROVIDER_NOTIFICATIONS for d in context.plan.discoms()}
    settings = ConsentSettings(
        **context.service_kwargs(),
        consent_subscriber_id=me.host,
        consent_key_id=BECKN_KEY,
        consent_issuer_did=me.did,
        key_dir=context.key_dir,
        key_passphrase=context.passphrase,
        directory_url=context.directory_url,
        registry_url=context.directory_url,  # the registry: who holds which meter
        consent_providers=json.dumps(providers),
        outbox_interval_seconds=1.0,
    )
    app = create_app(settings)
    app.include_router(identity_router(context))
    # The consumers' channel for outage notices: discoms send them over Beckn (verified
    # by this receiver), listed at GET /channel/outages/received.
    install_outage_receiver(app, context, app.state.engine)
    # Consumers sign in here too (one-time code, passkey): /signin/* (issue 15).
    install_consumer_signin(app, context)
    # ... and the console acts for the consumer it signed in with a machine token holding
    # "consent:consumer" (the directory registered it; docs/consent.md): tokens for here.
    accept_machine_tokens(app, context)
    return app


app = LazyApp(create)
