"""Outage notices over the Beckn exchange: the discom's BPP tells each subscriber's BAP.

**Which action.** An outage notice is the provider telling a participant that the
state of something it provides changed, without being asked. Beckn v2 has exactly
that message: ``on_status`` sent *unsolicited* by the BPP to the BAP's URI (the
protocol's callbacks may arrive without a preceding request; ``on_status`` is the
one whose meaning is "this is the state now"). ``on_update`` answers an ``update``
the BAP asked for (a change of terms) and nothing here changes terms; ``support`` /
``track`` are BAP-initiated. INTEROP.md names no Beckn action for outages (the IES
pilot fed OutageNotification from a feeder-status ingest and a CSV), so we use the
one the protocol already has and write it down here and in docs/sandbox.md.

**Shape.** One notice's life (the ALERT and every UPDATE until RESTORED or
CANCELLED) is one Beckn transaction: ``transactionId`` is derived from the notice id,
so every message of one outage shares it, as CAP's ``references`` ties the UPDATEs to
the ALERT. Each version is a message of its own (fresh ``messageId``). The contract
is the discom's outage-notification service on the feeder (``contract.id`` = that
transaction id, since the spec's contract id is a UUID; one commitment whose resource
is the feeder, ACTIVE until the notice ends, then CLOSED) and the notice itself rides
in ``performance[0].performanceAttributes``, typed ``@type: OutageNotification``
with the IES context, as the official examples carry it.

**Delivery.** :class:`BecknNoticeDelivery` implements the outage flow's
:class:`~protocol.outages.ports.NoticeDelivery` by queueing the message in the
participant's :class:`~protocol.client.Outbox`: it is validated and serialised once
now, signed afresh at every attempt (the three-line Beckn signature of an unsolicited
callback), retried with backoff until the subscriber's signed ACK verifies, and kept
across restarts. The receipt says *queued*; the outbox's row says delivered.

**Receiving.** A subscriber's receiver runs the usual steps (signature through the
directory, freshness, replay, sender is a BPP of the network, Beckn schema) and then
:func:`check_outage_notice` as a participant step: the notice must have the
OutageNotification v0.1 shape (:class:`~protocol.outages.notices.OutageNotice`) and
be issued by the participant that signed it, so a BPP cannot announce another
discom's outages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from protocol.client import Outbox, new_context
from protocol.envelope import Context, validation_errors
from protocol.errors import ExchangeRefused
from protocol.outages.notices import CONTEXT_URL, OutageNotice
from protocol.outages.ports import Receipt, Subscriber

ACTION = "on_status"
DOMAIN = "ies:outage"
OFFER = "outage-notifications"
STEP = "checkOutageNotice"
# transactionIds of outage notices: uuid5 over the notice id in this namespace.
_TRANSACTIONS = uuid.uuid5(uuid.NAMESPACE_URL, "https://ies-stack.org/outages")


class OutageNoticeRefused(ExchangeRefused):
    slug = "beckn-outage-notice-invalid"
    title = "The outage notice the message carries is not acceptable"
    status = 400
    beckn_code = "40030"
    step = STEP
    description = (
        "An on_status carrying an OutageNotification must hold exactly one notice in "
        "the OutageNotification v0.1 shape, issued by the BPP that signed the message."
    )


def transaction_of(notice_id: str) -> str:
    """The Beckn transactionId every message about notice ``notice_id`` carries."""
    return str(uuid.uuid5(_TRANSACTIONS, notice_id))


def _now() -> datetime:
    return datetime.now(UTC)


def notice_message(
    notice: dict[str, Any],
    subscriber: Subscriber,
    *,
    bpp_id: str,
    bpp_uri: str,
    network_id: str,
    domain: str = DOMAIN,
    clock: Callable[[], datetime] = _now,
) -> dict[str, Any]:
    """The unsolicited ``on_status`` carrying ``notice`` to ``subscriber`` (a BAP)."""
    notice_id = str(notice["id"]["value"])
    feeder = next(
        (a["id"]["value"] for a in notice["affectedAssets"] if a.get("assetLevel") == "FEEDER"),
        notice["affectedAssets"][0]["id"]["value"],
    )
    attributes = {"@context": CONTEXT_URL, "@type": "OutageNotification", **notice}
    status = str(notice["status"])
    # Beckn v2.0.0's own lifecycles: a commitment is ACTIVE or CLOSED, a contract ACTIVE,
    # COMPLETE or CANCELLED; the notice's status (SCHEDULED … RESTORED) rides in the
    # performance and in the notice itself.
    ended = status in ("RESTORED", "CANCELLED")
    contract_status = {"RESTORED": "COMPLETE", "CANCELLED": "CANCELLED"}.get(status, "ACTIVE")
    transaction = transaction_of(notice_id)
    contract = {
        "id": transaction,  # the spec's contract id is a UUID: the notice's transaction
        "descriptor": {"name": f"Outage notice {notice_id}"},
        "commitments": [
            {
                "id": f"{notice_id}:feeder",
                "status": {"descriptor": {"code": "CLOSED" if ended else "ACTIVE"}},
                "resources": [
                    {
                        "id": feeder,
                        "descriptor": {"name": "11 kV feeder"},
                        "quantity": {"value": "1"},
                    }
                ],
                "offer": {
                    "id": OFFER,
                    "descriptor": {"name": "Outage notifications"},
                    "resourceIds": [feeder],
                },
            }
        ],
        "performance": [
            {
                "id": f"{notice_id}:{notice.get('msgType', 'ALERT')}:{notice.get('issuedAt', '')}",
                "status": {"code": status},
                "commitmentIds": [f"{notice_id}:feeder"],
                "performanceAttributes": attributes,
            }
        ],
        "status": {"code": contract_status},
    }
    context = new_context(
        ACTION,
        network_id=network_id,
        bap_id=subscriber.id,
        bap_uri=subscriber.url,
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
        transaction_id=transaction,
        clock=clock,
        domain=domain,
    )
    return {"context": context, "message": {"contract": contract}}


class BecknNoticeDelivery:
    """A :class:`~protocol.outages.ports.NoticeDelivery` through the participant's outbox."""

    def __init__(
        self,
        outbox: Outbox,
        bpp_uri: str,
        network_id: str,
        *,
        domain: str = DOMAIN,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.outbox = outbox
        self.bpp_uri = bpp_uri
        self.network_id = network_id
        self.domain = domain
        self.clock = clock

    def message(self, subscriber: Subscriber, notice: dict[str, Any]) -> dict[str, Any]:
        return notice_message(
            notice,
            subscriber,
            bpp_id=self.outbox.sender,
            bpp_uri=self.bpp_uri,
            network_id=self.network_id,
            domain=self.domain,
            clock=self.clock,
        )

    def deliver(self, subscriber: Subscriber, notice: dict[str, Any]) -> Receipt:
        document = self.message(subscriber, notice)
        try:
            pk = self.outbox.enqueue(subscriber.url, subscriber.id, document)
        except ExchangeRefused as exc:  # the outgoing message is not valid Beckn
            return Receipt(subscriber.id, exc.status, False, exc.detail)
        message_id = document["context"]["messageId"]
        return Receipt(subscriber.id, 202, True, f"queued: outbox #{pk}, messageId {message_id}")


# ------------------------------------------------------------------ the receiving side


def notices_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every attributes bag typed OutageNotification in a contract's performance."""
    contract = message.get("contract")
    if not isinstance(contract, dict):
        return []
    found: list[dict[str, Any]] = []
    for performance in contract.get("performance") or []:
        attributes = (
            performance.get("performanceAttributes") if isinstance(performance, dict) else None
        )
        if isinstance(attributes, dict) and str(attributes.get("@type", "")).endswith(
            "OutageNotification"
        ):
            found.append(attributes)
    return found


def check_outage_notice(context: Context, message: dict[str, Any]) -> None:
    """The subscriber's receiver step for outage notices (a no-op on other messages)."""
    if context.action != ACTION:
        return
    notices = notices_in(message)
    if not notices:
        return
    if len(notices) != 1:
        raise OutageNoticeRefused(f"{len(notices)} outage notices in one message; send one each")
    try:
        notice = OutageNotice.model_validate(notices[0])
    except ValidationError as exc:
        errors = validation_errors(exc, "message/contract/performance/0/performanceAttributes")
        first = errors[0]
        raise OutageNoticeRefused(
            f"not an OutageNotification v0.1: {first['path']}: {first['message']}", errors=errors
        ) from None
    signer = context.bpp_id
    issuer = notice.issued_by.id.value if notice.issued_by and notice.issued_by.id else None
    if issuer not in (signer, f"did:web:{signer}"):
        raise OutageNoticeRefused(
            f"the notice is issued by {issuer!r}; the message is signed by {signer}"
        )
    expected = transaction_of(notice.id.value)
    if context.transaction_id != expected or message["contract"].get("id") != expected:
        # One outage, one transaction: an UPDATE on another transaction (or a contract
        # that names another notice) could not be tied to its ALERT.
        raise OutageNoticeRefused(
            f"notice {notice.id.value} travels in transaction {expected}, not "
            f"{context.transaction_id} / contract {message['contract'].get('id')}"
        )
