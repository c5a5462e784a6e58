"""A rooftop solar installer's process: a Beckn BAP in the DER integration network and
a credential verifier, with the same small back end as the bank's
(``POST /app/beckn/send``, ``GET /app/beckn/received``), and its desk of DER
application requests (``sandbox.participants.der_requests``): an application it
prepares for a customer waits for the customer's approval, and only the approved one
goes from its BAP to the discom's BPP, carrying the presentation the customer's
wallet signed."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from kernel.migrations import upgrade
from kernel.service import LazyApp
from sandbox.participants import bank
from sandbox.participants.common import ParticipantContext
from sandbox.participants.der_requests.api import router as requests_router
from sandbox.plan import DER_NETWORK, DER_ONBOARDING

MIGRATIONS = "sandbox.participants.der_requests:migrations"


def contract(application: dict[str, Any]) -> dict[str, Any]:
    """The Beckn contract that carries one DERConnectionApplication."""
    return {"commitments": [{
        "id": "der-connection-1", "status": {"descriptor": {"code": "DRAFT"}},
        "resources": [{"id": "der-connection", "quantity": {"value": "1"}}],
        "offer": {"id": "der-connection", "resourceIds": ["der-connection"]},
        "commitmentAttributes": application,
    }]}  # fmt: skip


def create() -> FastAPI:
    context = ParticipantContext()
    app = bank.create()
    upgrade(app.state.engine, MIGRATIONS)
    # The BAP's own send and inbox (the back end's /app/beckn/*), called in process.
    back_end: bank.BackEnd = app.state.back_end
    beckn_send, beckn_received = back_end.send, back_end.received
    discoms = {m.host: m for m in context.plan.discoms()}

    def send(discom: str, application: dict[str, Any]) -> dict[str, Any]:
        to = discoms[discom]
        sent: dict[str, Any] = beckn_send(bank.Send.model_validate({
            "action": "confirm", "url": to.beckn_url, "receiver": to.host,
            "networkId": DER_NETWORK, "domain": DER_ONBOARDING, "bppId": to.host,
            "bppUri": to.beckn_url, "message": {"contract": contract(application)},
        }))  # fmt: skip
        return sent

    def decision(transaction: str) -> dict[str, Any] | None:
        """The discom's decision (its on_confirm) on the application sent in ``transaction``."""
        for item in beckn_received(transaction):
            if item["action"] == "on_confirm":
                contract = item["document"]["message"]["contract"]
                found: dict[str, Any] = contract["commitments"][0]["commitmentAttributes"]
                return found
        return None

    me = context.me
    app.include_router(requests_router(app.state.engine, me.host, me.title, send, decision))
    return app


app = LazyApp(create)
