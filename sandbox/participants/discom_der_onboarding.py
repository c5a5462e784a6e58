"""A discom's DER onboarding desk, mounted on its process (``install_der_onboarding``).

The desk (``protocol.der``) takes ``confirm``s carrying a DERConnectionApplication on
the discom's own BPP (ahead of its other Beckn handlers), decides them with the
discom's credential verifier (the presentation and every credential in it), the
registry over HTTP (connection, DT, DERs under it; the DER and its meter on
approval), the state's signed policy packs, and issues the DERCredential from the
discom's own issuer. Its read side is ``/der-onboarding/applications``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from credentials.service import CredentialService
from credentials.verify import PresentationVerdict
from kernel.migrations import upgrade
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from protocol.der.api import der_router
from protocol.der.grid import HttpGrid
from protocol.der.service import DerDesk, PackPolicy
from protocol.der.store import DerStore
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from sandbox.participants.common import (
    ParticipantContext,
    add_lifespan,
    machine_client,
)

DER_CREDENTIAL_YEARS = 25  # a rooftop system's working life; revoked if disconnected


class DiscomIssuer:
    """The ``Issuer`` port: DERCredentials from the discom's own issuer."""

    def __init__(self, service: CredentialService, did: str) -> None:
        self.service = service
        self.did = did

    def issue(self, subject: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        until = now + timedelta(days=365 * DER_CREDENTIAL_YEARS)
        return self.service.issue(
            self.did, "DERCredential", subject, valid_from=now, valid_until=until
        )


def install_der_onboarding(app: FastAPI, context: ParticipantContext) -> DerDesk:
    """Mount the desk on a discom's app (after its Beckn participant is built)."""
    me = context.me
    assert me.state is not None
    assert me.discom_code is not None
    beckn: BecknParticipant = app.state.beckn
    service: CredentialService = app.state.credentials
    upgrade(app.state.engine, "protocol.der:migrations")
    store = DerStore(app.state.engine)
    registry = machine_client(context, context.directory_url, context.plan.directory.host)

    def verify(presentation: Any, domain: str) -> PresentationVerdict:
        return service.verify_presentation(presentation, domain)

    desk = DerDesk(
        discom_did=me.did, discom_code=me.discom_code, state=me.state,
        subscriber_id=me.host, bpp_uri=me.beckn_url, store=store, verify=verify,
        grid=HttpGrid(registry, state=me.state, discom=me.discom_code),
        policy=PackPolicy(load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)),
                          EmbeddedEngine()),
        issuer=DiscomIssuer(service, me.did), outbox=beckn.outbox,
    )  # fmt: skip
    others = beckn.receiver.handler

    def handle(message: Inbound, unit: Unit) -> None:
        if not desk.take(message, unit):
            others(message, unit)

    beckn.receiver.handler = handle  # the desk first; every other message as before
    app.include_router(der_router(store))
    app.state.der_desk = desk

    def stop() -> None:
        desk.stop()
        registry.close()

    add_lifespan(app, lambda: desk.start(0.05), stop)
    return desk
