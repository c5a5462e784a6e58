"""The sending side over HTTP: sign, post, verify the signed Ack, record; and the outbox.

:class:`Exchange` sends one message now and records it in the message log (its
signature kept by messageId, so the callback that answers it can be checked even
after a restart). :class:`Outbox` delivers messages from the database: a callback
to a BAP that is down is retried with exponential backoff and full jitter until it
answers, and a worker started after a crash picks up every row still due. The
receiver's replay table makes each message land once however often it is retried.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from kernel.database import to_db
from protocol.envelope import Context, request_of
from protocol.errors import AckRefused
from protocol.receiving import GATEWAY_HEADER, Inbound, Unit
from protocol.sending import (
    AckPolicy,
    AckVerdict,
    Prepared,
    judge_ack,
    prepare,
    serialise,
    sign_body,
)
from protocol.signing import Signer, format_signature, parse_signature
from protocol.store import MessageRow, OutboxRow, ProtocolStore
from registry.directory.keys import KeyLookup

log = structlog.get_logger("protocol.client")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one attempt: the receiver's verdict, or why there is none."""

    prepared: Prepared
    http_status: int | None
    ack: AckVerdict | None
    failure: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None and self.ack.status == "ACK"

    @property
    def already_received(self) -> bool:
        return self.ack is not None and self.ack.error_code == "40901"


class Exchange:
    """One participant's signed sends."""

    def __init__(
        self,
        signer: Signer,
        lookup: KeyLookup,
        store: ProtocolStore,
        http: httpx.Client,
        *,
        clock: Callable[[], datetime] = now_utc,
        ack_policy: AckPolicy = AckPolicy.STRICT,
        ttl_seconds: int = 30,
    ) -> None:
        self.signer = signer
        self.lookup = lookup
        self.store = store
        self.http = http
        self.clock = clock
        self.ack_policy = ack_policy
        self.ttl_seconds = ttl_seconds

    def send(
        self,
        url: str,
        receiver: str,
        document: dict[str, Any],
        *,
        request_signature: str | None = None,
    ) -> Delivery:
        """Sign ``document`` and POST it to ``{url}/{action}``; the verified Ack."""
        created = int(self.clock().timestamp())
        prepared = prepare(
            document, self.signer, created, self.ttl_seconds, request_signature=request_signature
        )
        return self._post(url, receiver, prepared, {"Authorization": prepared.authorization})

    def send_bytes(
        self,
        url: str,
        receiver: str,
        context: Context,
        body: bytes,
        *,
        request_signature: str | None = None,
        forwarded_authorization: str | None = None,
    ) -> Delivery:
        """Send bytes prepared earlier (the outbox), signed now; a gateway forwards the
        caller's own Authorization and adds its signature as X-Gateway-Authorization."""
        created = int(self.clock().timestamp())
        own = sign_body(
            context,
            body,
            self.signer,
            created,
            self.ttl_seconds,
            request_signature=request_signature,
        )
        if forwarded_authorization is not None:
            prepared = Prepared(context.action, context, body, own.digest, forwarded_authorization)
            headers = {"Authorization": forwarded_authorization, GATEWAY_HEADER: own.authorization}
        else:
            prepared = own
            headers = {"Authorization": own.authorization}
        return self._post(url, receiver, prepared, headers)

    def _post(
        self, url: str, receiver: str, prepared: Prepared, headers: dict[str, str]
    ) -> Delivery:
        context = prepared.context
        structlog.contextvars.bind_contextvars(
            transaction_id=context.transaction_id,
            message_id=context.message_id,
            subscriber_id=self.signer.subscriber_id,
        )
        # Logged before it leaves: the receiver may call back before we have read its ACK,
        # and a callback is accepted as solicited only if our request is in the log.
        logged = self._log_sent(prepared, receiver)
        try:
            response = self.http.post(
                f"{url.rstrip('/')}/{prepared.action}",
                content=prepared.body,
                headers={**headers, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            self._settle(logged, "ERROR", None, None, f"unreachable: {exc}")
            return Delivery(prepared, None, None, f"unreachable: {exc}")
        finally:
            structlog.contextvars.unbind_contextvars(
                "transaction_id", "message_id", "subscriber_id"
            )
        try:
            ack = judge_ack(
                response.content,
                response.headers.get("signature"),
                prepared,
                receiver,
                self.lookup,
                self.ack_policy,
            )
        except AckRefused as exc:
            self._settle(logged, "ERROR", response.status_code, None, exc.detail)
            return Delivery(prepared, response.status_code, None, exc.detail)
        self._settle(logged, ack.status, response.status_code, ack, ack.error_message)
        return Delivery(prepared, response.status_code, ack)

    def _settle(
        self,
        pk: int,
        verdict: str,
        status: int | None,
        ack: AckVerdict | None,
        detail: str | None,
    ) -> None:
        self.store.settle_outbound(
            pk,
            verdict=verdict,
            http_status=status,
            error_code=ack.error_code if ack else None,
            step=ack.step if ack else None,
            detail=detail[:500] if detail else None,
        )

    def _log_sent(self, prepared: Prepared, receiver: str) -> int:
        context = prepared.context
        return self.store.log_outbound(
            MessageRow(
                at=to_db(self.clock()),
                participant=self.signer.subscriber_id,
                direction="out",
                counterparty=receiver,
                action=prepared.action,
                message_id=context.message_id,
                transaction_id=context.transaction_id,
                timestamp=context.timestamp,
                digest=prepared.digest,
                signature=parse_signature(prepared.authorization).signature
                if prepared.authorization
                else "",
                verdict="SENT",
                http_status=None,
                error_code=None,
                step=None,
                detail=None,
            )
        )


# ------------------------------------------------------------------ building messages


def new_context(
    action: str,
    *,
    network_id: str,
    bap_id: str,
    bap_uri: str,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    transaction_id: str | None = None,
    message_id: str | None = None,
    clock: Callable[[], datetime] = now_utc,
    **extra: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "networkId": network_id,
        "version": "2.0.0",
        "action": action,
        "bapId": bap_id,
        "bapUri": bap_uri,
        "transactionId": transaction_id or str(uuid.uuid4()),
        "messageId": message_id or str(uuid.uuid4()),
        "timestamp": clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if bpp_id is not None:
        context["bppId"] = bpp_id
    if bpp_uri is not None:
        context["bppUri"] = bpp_uri
    context.update(extra)
    return context


def answer(
    request: Inbound,
    message: dict[str, Any],
    *,
    bpp_id: str,
    bpp_uri: str,
    clock: Callable[[], datetime] = now_utc,
) -> dict[str, Any]:
    """The ``on_*`` document answering ``request``: same transaction and messageId, bound
    to the request's bytes through ``requestDigest``."""
    asked = request.context
    context = new_context(
        f"on_{request_of(request.action)}",
        network_id=asked.network_id or "",
        bap_id=asked.bap_id,
        bap_uri=asked.bap_uri,
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
        transaction_id=asked.transaction_id,
        message_id=asked.message_id,
        clock=clock,
        requestDigest={"digest": request.digest},
    )
    return {"context": context, "message": message}


# ------------------------------------------------------------------ the outbox


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits a random time in
    [d/2, d] where d = min(cap, base · 2^n) (AWS's "equal jitter")."""

    base_seconds: float = 0.5
    cap_seconds: float = 300.0
    max_attempts: int = 20

    def delay(self, attempts: int, rng: random.Random) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** min(attempts, 30)))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


class Outbox:
    """Messages to deliver, kept in the database until the receiver takes them."""

    def __init__(
        self,
        exchange: Exchange,
        store: ProtocolStore,
        *,
        retry: RetryPolicy = RetryPolicy(),
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.retry = retry
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.clock = clock
        self._lock = threading.Lock()

    @property
    def sender(self) -> str:
        return self.exchange.signer.subscriber_id

    def enqueue(
        self,
        url: str,
        receiver: str,
        document: dict[str, Any],
        *,
        request_signature: str | None = None,
        unit: Unit | None = None,
    ) -> int | None:
        """Validate and serialise now (a bad message never enters the outbox); sign at
        each attempt, so a retry an hour later carries a fresh signature."""
        context, body = serialise(document)
        return self._add(url, receiver, context, body, request_signature, None, unit)

    def enqueue_callback(
        self, request: Inbound, message: dict[str, Any], bpp_uri: str, unit: Unit | None = None
    ) -> int | None:
        """The ``on_*`` answering ``request``, signed at delivery with the request's
        signature as its fourth line (ONIX) and ``requestDigest`` in its context."""
        document = answer(request, message, bpp_id=self.sender, bpp_uri=bpp_uri, clock=self.clock)
        return self.enqueue(
            request.context.bap_uri,
            request.context.bap_id,
            document,
            request_signature=request.signature.signature,
            unit=unit,
        )

    def enqueue_forward(
        self, url: str, receiver: str, request: Inbound, unit: Unit | None = None
    ) -> int | None:
        """A gateway's copy of ``request`` for one BPP: the exact bytes, the caller's
        Authorization, and our own signature added at delivery."""
        return self._add(
            url,
            receiver,
            request.context,
            request.body,
            None,
            format_signature(request.signature),
            unit,
        )

    def _add(
        self,
        url: str,
        receiver: str,
        context: Context,
        body: bytes,
        request_signature: str | None,
        forwarded: str | None,
        unit: Unit | None,
    ) -> int | None:
        """Into the outbox; inside ``unit`` (the hand-over's transaction) when given, so
        the answer is queued if and only if the request is recorded as received."""
        now = self.clock()
        row = OutboxRow(
            sender=self.sender,
            counterparty=receiver,
            url=url,
            action=context.action,
            message_id=context.message_id,
            transaction_id=context.transaction_id,
            body=body,
            request_signature=request_signature,
            forwarded_authorization=forwarded,
            state="pending",
            attempts=0,
            next_attempt_at=to_db(now),
            created_at=to_db(now),
        )
        if unit is not None:
            unit.add(row)
            return None
        return self.store.enqueue(row)

    def deliver_due(self, limit: int = 50) -> int:
        """Try every row due now; the number delivered."""
        with self._lock:
            delivered = 0
            for row in self.store.due(self.sender, self.clock(), limit):
                if self._attempt(row):
                    delivered += 1
            return delivered

    def _attempt(self, row: OutboxRow) -> bool:
        assert row.pk is not None
        context = Context.model_validate(json.loads(row.body)["context"])
        delivery = self.exchange.send_bytes(
            row.url,
            row.counterparty,
            context,
            row.body,
            request_signature=row.request_signature,
            forwarded_authorization=row.forwarded_authorization,
        )
        now = self.clock()
        attempts = row.attempts + 1
        if delivery.acknowledged or delivery.already_received:
            self.store.settle(row.pk, state="delivered", attempts=attempts, delivered_at=now)
            return True
        permanent = (
            delivery.ack is not None
            and delivery.http_status is not None
            and 400 <= delivery.http_status < 500
        )
        if permanent or attempts >= self.retry.max_attempts:
            reason = delivery.failure or (delivery.ack.error_message if delivery.ack else None)
            self.store.settle(
                row.pk, state="failed", attempts=attempts, last_error=(reason or "")[:500]
            )
            log.warning("outbox message failed", message_id=row.message_id, reason=reason)
            return False
        wait = self.retry.delay(attempts - 1, self.rng)
        self.store.settle(
            row.pk,
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=wait),
            last_error=(delivery.failure or "NACK")[:500],
        )
        return False

    def run(self, stop: threading.Event, interval: float = 0.1) -> None:
        """The worker loop: deliver what is due until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # a bad row or a busy database must not stop the worker
                log.exception("outbox delivery failed; retrying")
            stop.wait(interval)
