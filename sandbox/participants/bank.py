"""The bank's process (a third-party app): a credential verifier for what consumers
show it, and its Beckn BAP in the meter-data network.

Its app routes stand in for the bank's own back end (which signs with the bank's keys
in its custody): ``POST /app/beckn/send`` builds, signs and sends one Beckn request;
``GET /app/beckn/received`` lists the verified callbacks its BAP endpoint took.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, Field

from credentials.app import create_app
from kernel.service import LazyApp
from protocol.client import new_context
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from sandbox.participants.common import (
    ParticipantContext,
    add_lifespan,
    beckn_participant,
    identity_router,
    issuer_settings,
    prepend_routes,
)
from sandbox.plan import Member


class Send(BaseModel):
    action: str = Field(pattern=r"^[a-z]{3,12}$")
    url: str  # where to send: the gateway for discover, the BPP's URI otherwise
    receiver: str  # the subscriber id of whoever is at ``url``
    network_id: str = Field(alias="networkId")
    domain: str | None = None
    transaction_id: str | None = Field(default=None, alias="transactionId")
    bpp_id: str | None = Field(default=None, alias="bppId")
    bpp_uri: str | None = Field(default=None, alias="bppUri")
    message: dict[str, Any]


class Inbox:
    """The callbacks the BAP endpoint accepted (signature, freshness, schema passed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []

    def __call__(self, message: Inbound, unit: Unit) -> None:
        with self.lock:
            self.items.append({
                "action": message.action,
                "sender": message.sender.subscriber_id,
                "transactionId": message.context.transaction_id,
                "messageId": message.context.message_id,
                "document": message.document,
            })  # fmt: skip


def app_routes(me: Member, beckn: BecknParticipant, inbox: Inbox) -> APIRouter:
    router = APIRouter(prefix="/app", tags=["bank back end"])

    @router.post("/beckn/send", summary="Sign and send one Beckn request as the bank")
    def send(body: Send) -> dict[str, Any]:
        extra: dict[str, Any] = {"domain": body.domain} if body.domain else {}
        context = new_context(
            body.action, network_id=body.network_id, bap_id=me.host, bap_uri=me.beckn_url,
            bpp_id=body.bpp_id, bpp_uri=body.bpp_uri, transaction_id=body.transaction_id, **extra,
        )  # fmt: skip
        delivery = beckn.exchange.send(
            body.url, body.receiver, {"context": context, "message": body.message}
        )
        return {
            "acknowledged": delivery.acknowledged,
            "transactionId": context["transactionId"],
            "messageId": context["messageId"],
            "failure": delivery.failure,
            "error": delivery.ack.error_message if delivery.ack else None,
        }

    @router.get("/beckn/received", summary="Callbacks received, per transaction")
    def received(transaction_id: str = Query(alias="transactionId")) -> list[dict[str, Any]]:
        with inbox.lock:
            return [i for i in inbox.items if i["transactionId"] == transaction_id]

    return router


def create() -> FastAPI:
    context = ParticipantContext()
    me = context.me
    settings = issuer_settings(context, issuer=False)
    app = create_app(settings)  # a verifier: no issuer of its own
    app.title = f"{me.title}: {me.host}"
    prepend_routes(app, identity_router(context))
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    inbox = Inbox()
    beckn = beckn_participant(context, app.state.engine, inbox, http, directory)
    app.include_router(beckn.router("/beckn"))
    app.include_router(beckn.log_router())
    app.include_router(app_routes(me, beckn, inbox))

    def stop() -> None:
        beckn.stop_worker()
        http.close()
        directory.close()

    add_lifespan(app, lambda: beckn.start_worker(0.05), stop)
    return app


app = LazyApp(create)
