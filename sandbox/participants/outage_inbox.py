"""A subscriber's side of outage notices: what its Beckn receiver accepted, kept and listed.

A discom sends each OutageNotification as an unsolicited ``on_status``
(``protocol.outages.beckn``). The subscriber's receiver has verified everything
before the inbox sees it: the discom's signature against its key in the directory,
freshness, replay, that the sender is a BPP of the network, the Beckn schema, and
(the participant step :func:`~protocol.outages.beckn.check_outage_notice`) that the
notice has the OutageNotification v0.1 shape and is issued by the BPP that signed it.

``GET {prefix}/outages/received`` lists them (newest last) with who signed each and
the key that verified it. The bank mounts it under ``/app``; the consent manager,
which relays notices to the consumers' channel, under ``/channel``.

A participant without a Beckn side of its own (the consent manager) gets one from
:func:`install_outage_receiver`: a receiver at its subscriber record's URL
(``{url}/beckn``) that takes outage notices and nothing else.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Query
from sqlalchemy import Engine

from kernel.backoffice import backoffice
from protocol.envelope import Context
from protocol.outages.beckn import STEP, OutageNoticeRefused, check_outage_notice, notices_in
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from sandbox.participants.common import ParticipantContext, add_lifespan, beckn_participant

OUTAGE_CHECKS = [(STEP, check_outage_notice)]


def only_outage_notices(context: Context, message: dict[str, Any]) -> None:
    """A receiver that exists for outage notices refuses every other message."""
    if context.action != "on_status" or not notices_in(message):
        raise OutageNoticeRefused(f"this endpoint takes outage notices only, not {context.action}")
    check_outage_notice(context, message)


class OutageInbox:
    """The outage notices this participant's receiver accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []

    def take(self, message: Inbound, unit: Unit) -> bool:
        """Keep ``message`` if it carries an outage notice; True if it did."""
        if message.action != "on_status":
            return False
        notices = notices_in(message.document["message"])
        if not notices:
            return False
        with self.lock:
            self.items.append({
                "sender": message.sender.subscriber_id,
                "keyId": f"{message.signature.subscriber_id}|{message.signature.key_id}",
                "signedHeaders": list(message.signature.headers),
                "transactionId": message.context.transaction_id,
                "messageId": message.context.message_id,
                "receivedAt": message.received_at.isoformat(),
                "notice": notices[0],
                "document": message.document,
            })  # fmt: skip
        return True


def inbox_router(inbox: OutageInbox, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["outage notices received"])

    @router.get(
        "/outages/received",
        dependencies=[backoffice()],
        summary="Outage notices received over Beckn, verified",
    )
    def received(
        notice: str | None = Query(default=None, max_length=200),
        sender: str | None = Query(default=None, max_length=255),
    ) -> list[dict[str, Any]]:
        with inbox.lock:
            items = list(inbox.items)
        return [
            i
            for i in items
            if (notice is None or i["notice"]["id"]["value"] == notice)
            and (sender is None or i["sender"] == sender)
        ]

    return router


def install_outage_receiver(
    app: FastAPI, context: ParticipantContext, engine: Engine, prefix: str = "/channel"
) -> OutageInbox:
    """A Beckn receiver at ``/beckn`` that takes outage notices, and the inbox's route."""
    inbox = OutageInbox()
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)

    def handle(message: Inbound, unit: Unit) -> None:
        inbox.take(message, unit)

    participant: BecknParticipant = beckn_participant(
        context, engine, handle, http, directory,
        checks=[(STEP, only_outage_notices)],
    )  # fmt: skip
    app.include_router(participant.router("/beckn"))
    app.include_router(participant.log_router())
    app.include_router(inbox_router(inbox, prefix))

    def stop() -> None:
        http.close()
        directory.close()

    add_lifespan(app, lambda: None, stop)
    return inbox
