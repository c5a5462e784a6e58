"""The receiving side of a Beckn exchange: one ordered list of named steps (pure).

Like ONIX's ``validateSign`` → ``addRoute`` → ``validateSchema`` → ``signAck``, every
inbound message walks :data:`STEPS` in order; each step is timed, and the first one
that refuses names itself in the NACK (``error.step``, ``errorCode``). Nothing reaches
the participant's handler unless every step before ``handOver`` passed, and
``handOver`` records the message as received in the same transaction as the handler
runs, so a message is handed over at most once (idempotent on messageId).

Storage, the directory and the handler come in through ports; this module does no
I/O of its own, so the FastAPI router is a thin shell and the whole path is
testable (and benchmarked) in-process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from protocol.envelope import (
    ACTIONS,
    Context,
    check_message,
    is_callback,
    request_of,
    sender_role,
    validation_errors,
)
from protocol.errors import BodyTooLarge as BeckBodyTooLarge
from protocol.errors import (
    EnvelopeInvalid,
    ExchangeRefused,
    GatewayNotTrusted,
    HandlerFailed,
    KeyRevoked,
    MalformedMessage,
    MessageDuplicate,
    MessageIdReused,
    NetworkNotServed,
    NotNetworkMember,
    PayloadInvalid,
    RequestDigestMismatch,
    RoleNotAllowed,
    SenderMismatch,
    SignatureExpired,
    SignatureFromFuture,
    SignatureLifetime,
    SignatureMissing,
    WrongEndpoint,
)
from protocol.signing import (
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Binding,
    SignatureParams,
    Signer,
    Verdict,
    canonical_json,
    digest_value,
    parse_signature,
    sign,
    verify,
)
from registry.directory.keys import KeyLookup, SigningKey

MAX_SKEW_SECONDS = 5  # INTEROP: up to 5 s accepted on created, none on expires
GATEWAY_HEADER = "x-gateway-authorization"


# ------------------------------------------------------------------ ports


@dataclass(frozen=True, slots=True)
class Exchanged:
    """One side of an earlier exchange this participant took part in."""

    message_id: str
    action: str
    counterparty: str
    digest: str
    signature: str


class ExchangeRecords(Protocol):
    """What the receiver needs to remember (a database in production)."""

    def received_digest(
        self, receiver: str, sender: str, action: str, message_id: str
    ) -> str | None: ...

    def sent_request(self, sender: str, message_id: str, action: str) -> Exchanged | None: ...

    def hand_over(self, message: Inbound, handler: Handler) -> None:
        """Record ``message`` as received and run ``handler`` in one transaction;
        :class:`MessageDuplicate` if it was recorded meanwhile."""
        ...

    def log_refusal(self, entry: Refused) -> None: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message that passed every check: what the participant's handler receives."""

    receiver: str
    action: str
    body: bytes
    document: dict[str, Any]
    context: Context
    digest: str
    signature: SignatureParams
    sender: SigningKey
    gateway: str | None
    received_at: datetime


class Unit(Protocol):
    """The transaction a hand-over runs in: rows the handler adds through it (callbacks
    for the outbox, the participant's own state) commit or roll back with the receipt."""

    def add(self, instance: Any) -> None: ...


Handler = Callable[[Inbound, Unit], None]


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused message, for the message log."""

    receiver: str
    action: str
    counterparty: str
    message_id: str
    transaction_id: str
    timestamp: str
    digest: str
    signature: str
    error: ExchangeRefused
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StepTime:
    name: str
    seconds: float


@dataclass(slots=True)
class Outcome:
    """The synchronous answer and how it was reached."""

    status: int
    body: bytes
    headers: dict[str, str]
    timings: list[StepTime] = field(default_factory=list)
    error: ExchangeRefused | None = None
    inbound: Inbound | None = None

    @property
    def refused_at(self) -> str | None:
        return self.error.step if self.error is not None else None


PayloadCheck = Callable[[dict[str, Any]], list[dict[str, str]]]
# A participant's own check of a message that passed every protocol step (a data
# provider's page cursor, a policy): raises the precise ExchangeRefused, whose ``step``
# names it in the NACK. It runs before handOver, so a refused message is not recorded.
RequestCheck = Callable[[Context, dict[str, Any]], None]


@dataclass(frozen=True)
class ReceiverSettings:
    """Who we are and what we accept."""

    subscriber_id: str
    signer: Signer
    networks: frozenset[str]
    max_body_bytes: int = 1024 * 1024
    max_skew_seconds: int = MAX_SKEW_SECONDS
    max_signature_lifetime: int = 3600
    ack_ttl_seconds: int = 300  # ONIX: the ACK signature expires 5 min after created
    check_sender_uri: bool = True


# ------------------------------------------------------------------ the pipeline


@dataclass(slots=True)
class _State:
    action: str
    body: bytes
    headers: Mapping[str, str]
    now: datetime
    digest: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    context: Context | None = None
    raw_context: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict | None = None
    gateway: Verdict | None = None
    request: Exchanged | None = None
    inbound: Inbound | None = None


class Receiver:
    """Walks :data:`STEPS` for each inbound message; see the module docstring."""

    def __init__(
        self,
        settings: ReceiverSettings,
        lookup: KeyLookup,
        records: ExchangeRecords,
        handler: Handler,
        *,
        payload_check: PayloadCheck | None = None,
        checks: Sequence[tuple[str, RequestCheck]] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.lookup = lookup
        self.records = records
        self.handler = handler
        self.payload_check = payload_check
        self.clock = clock
        self.steps: list[tuple[str, Callable[[_State], None]]] = [
            ("parse", self.parse),
            ("validateSign", self.validate_sign),
            ("checkFreshness", self.check_freshness),
            ("checkReplay", self.check_replay),
            ("checkParticipant", self.check_participant),
            ("validateSchema", self.validate_schema),
            ("checkRequestDigest", self.check_request_digest),
            *((name, _participant_step(check)) for name, check in checks),
            ("handOver", self.hand_over),
        ]

    # -------------------------------------------------------------- driver

    def receive(self, action: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """Run every step; the signed ACK, or the signed NACK naming the step that refused.

        ``headers`` are the request's, with lower-case names.
        """
        state = _State(action, body, headers, self.clock())
        timings: list[StepTime] = []
        error: ExchangeRefused | None = None
        for name, step in self.steps:
            started = time.perf_counter()
            try:
                step(state)
            except ExchangeRefused as exc:
                error = exc
            finally:
                timings.append(StepTime(name, time.perf_counter() - started))
            if error is not None:
                break
        started = time.perf_counter()
        outcome = self.sign_ack(state, error)
        timings.append(StepTime("signAck", time.perf_counter() - started))
        outcome.timings = timings
        if error is not None:
            self._log_refusal(state, error)
        return outcome

    # -------------------------------------------------------------- steps

    def parse(self, state: _State) -> None:
        if not state.headers.get("authorization"):
            # Unsigned: refused before a byte of the body is parsed.
            raise SignatureMissing("the Authorization header is missing")
        if len(state.body) > self.settings.max_body_bytes:
            raise BeckBodyTooLarge(f"the body exceeds {self.settings.max_body_bytes} bytes")
        state.digest = digest_value(state.body)
        state.document = parse_document(state.body, state.action)
        state.raw_context = state.document["context"]

    def validate_sign(self, state: _State) -> None:
        context = state.raw_context
        binding = Binding()
        expect = REQUEST_HEADERS
        if is_callback(state.action):
            # A callback answering one of our requests must bind that request's signature
            # (ONIX); a three-line callback for a request we sent is refused.
            message_id = context.get("messageId")
            if isinstance(message_id, str):
                state.request = self.records.sent_request(
                    self.settings.subscriber_id, message_id, request_of(state.action)
                )
            if state.request is not None:
                binding = Binding(request_signature=state.request.signature)
                expect = RESPONSE_HEADERS
        state.verdict = verify(
            state.headers.get("authorization"),
            state.body,
            self.lookup,
            expect=expect,
            binding=binding,
            digest=state.digest,
        )
        _still_standing(state.verdict.key, state.now)
        forwarded = state.headers.get(GATEWAY_HEADER)
        if forwarded is not None:
            gateway = verify(forwarded, state.body, self.lookup, digest=state.digest)
            _still_standing(gateway.key, state.now)
            if gateway.key.role != "BG":
                raise GatewayNotTrusted(
                    f"{gateway.params.subscriber_id} is a {gateway.key.role}, not a gateway"
                )
            state.gateway = gateway

    def check_freshness(self, state: _State) -> None:
        now = int(state.now.timestamp())
        for verdict in (state.verdict, state.gateway):
            if verdict is None:
                continue
            params = verdict.params
            if params.expires <= params.created:
                raise SignatureLifetime("expires is not after created")
            if params.expires - params.created > self.settings.max_signature_lifetime:
                raise SignatureLifetime(
                    f"the signature is valid for more than {self.settings.max_signature_lifetime} s"
                )
            if params.created > now + self.settings.max_skew_seconds:
                raise SignatureFromFuture(
                    f"created is {params.created - now} s ahead of this receiver's clock"
                )
            if now >= params.expires:
                raise SignatureExpired(f"the signature expired {now - params.expires} s ago")

    def check_replay(self, state: _State) -> None:
        context = state.raw_context
        message_id = context.get("messageId")
        verdict = state.verdict
        assert verdict is not None
        if not isinstance(message_id, str):
            return  # the schema step refuses it
        seen = self.records.received_digest(
            self.settings.subscriber_id, verdict.params.subscriber_id, state.action, message_id
        )
        if seen is None:
            return
        if seen == state.digest:
            raise MessageDuplicate(f"{state.action} {message_id} was received before")
        raise MessageIdReused(f"messageId {message_id} was used before for another {state.action}")

    def check_participant(self, state: _State) -> None:
        verdict = state.verdict
        assert verdict is not None
        context = state.raw_context
        action = state.action
        signer = verdict.params.subscriber_id
        sender = context.get("bppId" if is_callback(action) else "bapId")
        if signer != sender or verdict.key.subscriber_id != signer:
            raise SenderMismatch(
                f"signed by {signer!r} but the context names {sender!r} as the sender"
            )
        expected_role = sender_role(action)
        if verdict.key.role != expected_role:
            raise RoleNotAllowed(
                f"{action} is sent by a {expected_role}; {signer} is a {verdict.key.role}"
            )
        uri = context.get("bppUri" if is_callback(action) else "bapUri")
        if self.settings.check_sender_uri and uri != verdict.key.url:
            raise SenderMismatch(f"{uri!r} is not the URL {signer} registered")
        network = context.get("networkId")
        if not isinstance(network, str):
            raise NotNetworkMember("context.networkId is required on this network")
        # Membership is judged per message against all of the sender's networks, and the
        # receiver may serve several: a single-network equality check breaks shared services.
        if network not in verdict.key.networks_at(state.now):
            raise NotNetworkMember(f"{signer} is not a member of {network}")
        if network not in self.settings.networks:
            raise NetworkNotServed(f"this receiver does not serve {network}")
        if state.gateway is not None and network not in state.gateway.key.networks_at(state.now):
            raise NotNetworkMember(f"gateway {state.gateway.key.subscriber_id} is not in {network}")

    def validate_schema(self, state: _State) -> None:
        try:
            state.context = Context.model_validate(state.raw_context)
        except ValidationError as exc:
            errors = validation_errors(exc, "context")
            raise EnvelopeInvalid(_summary(errors), errors=errors) from None
        addressee = state.context.bap_id if is_callback(state.action) else state.context.bpp_id
        if addressee is not None and addressee != self.settings.subscriber_id:
            raise EnvelopeInvalid(f"this message is addressed to {addressee}")
        try:
            check_message(state.action, state.document["message"])
        except (ValidationError, ValueError) as exc:
            errors = validation_errors(exc, "message")
            raise EnvelopeInvalid(_summary(errors), errors=errors) from None
        if self.payload_check is not None:
            errors = self.payload_check(state.document["message"])
            if errors:
                raise PayloadInvalid(_summary(errors), errors=errors)

    def check_request_digest(self, state: _State) -> None:
        if state.request is None:
            return
        context = state.context
        assert context is not None
        bound = context.request_digest.digest if context.request_digest is not None else None
        if bound is None:
            raise RequestDigestMismatch("context.requestDigest is missing on a solicited callback")
        if bound != state.request.digest:
            raise RequestDigestMismatch(
                f"context.requestDigest does not match the {state.request.action} "
                f"{state.request.message_id} this callback answers"
            )

    def hand_over(self, state: _State) -> None:
        verdict = state.verdict
        assert verdict is not None
        assert state.context is not None
        state.inbound = Inbound(
            receiver=self.settings.subscriber_id,
            action=state.action,
            body=state.body,
            document=state.document,
            context=state.context,
            digest=state.digest,
            signature=verdict.params,
            sender=verdict.key,
            gateway=state.gateway.params.subscriber_id if state.gateway else None,
            received_at=state.now,
        )
        try:
            self.records.hand_over(state.inbound, self.handler)
        except ExchangeRefused:
            raise
        except Exception as exc:  # the participant's failure: NACK 500, sender retries
            raise HandlerFailed(f"the participant could not take the message: {exc}") from exc

    # -------------------------------------------------------------- the answer

    def sign_ack(self, state: _State, error: ExchangeRefused | None) -> Outcome:
        message_id = state.raw_context.get("messageId")
        message_id = message_id if isinstance(message_id, str) else ""
        status = "ACK" if error is None else "NACK"
        unsigned: dict[str, Any] = {
            "message": {"status": status, "messageId": message_id},
            "status": status,
        }
        if error is not None:
            unsigned["error"] = {
                "errorCode": error.beckn_code,
                "errorMessage": error.detail,
                "step": error.step,
                "type": error.type_uri,
            }
        ack = ack_signatures(
            unsigned,
            self.settings.signer,
            request_digest=state.digest or digest_value(state.body[: self.settings.max_body_bytes]),
            message_id=message_id,
            request_signature=_caller_signature(state),
            created=int(state.now.timestamp()),
            ttl=self.settings.ack_ttl_seconds,
        )
        http_status = 200 if error is None else error.status
        return Outcome(
            http_status, ack.body, {"Signature": ack.header}, error=error, inbound=state.inbound
        )

    def _log_refusal(self, state: _State, error: ExchangeRefused) -> None:
        context = state.raw_context
        verdict = state.verdict
        counterparty = (
            verdict.params.subscriber_id
            if verdict is not None
            else str(context.get("bppId" if is_callback(state.action) else "bapId") or "")
        )
        self.records.log_refusal(
            Refused(
                receiver=self.settings.subscriber_id,
                action=state.action,
                counterparty=counterparty[:255],
                message_id=str(context.get("messageId") or "")[:255],
                transaction_id=str(context.get("transactionId") or "")[:255],
                timestamp=str(context.get("timestamp") or "")[:64],
                digest=state.digest,
                signature=verdict.params.signature if verdict is not None else "",
                error=error,
                received_at=state.now,
            )
        )


def parse_document(body: bytes, action: str) -> dict[str, Any]:
    """A body as a Beckn document posted to ``action``'s endpoint, or the NACK that says
    why not. Nesting deeper than the JSON parser's recursion limit is refused like any
    other malformed body (the fuzzer found it escaping as a RecursionError)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedMessage(f"the body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise MalformedMessage("the body is not a JSON object")
    context, message = document.get("context"), document.get("message")
    if not isinstance(context, dict) or not isinstance(message, dict):
        raise MalformedMessage("a Beckn message has a context object and a message object")
    if context.get("action") != action or action not in ACTIONS:
        raise WrongEndpoint(
            f"context.action is {context.get('action')!r}; this endpoint is {action!r}"
        )
    return document


def _participant_step(check: RequestCheck) -> Callable[[_State], None]:
    def step(state: _State) -> None:
        assert state.context is not None
        check(state.context, state.document["message"])

    return step


def _still_standing(key: SigningKey, now: datetime) -> None:
    # The directory judges a key at the signature's `created`, which the signer chooses
    # (up to the lifetime limit in the past): a participant revoked *now* is refused
    # whatever `created` says, so a stolen key cannot be used by backdating.
    if key.status == "REVOKED" or (key.revoked_at is not None and key.revoked_at <= now):
        raise KeyRevoked(f"{key.subscriber_id}|{key.key_id} is revoked")


def _caller_signature(state: _State) -> str | None:
    if state.verdict is not None:
        return state.verdict.params.signature
    try:
        return parse_signature(state.headers.get("authorization")).signature
    except ExchangeRefused:
        return None


def _summary(errors: list[dict[str, str]]) -> str:
    first = errors[0]
    return f"{len(errors)} error(s); first: {first['path']}: {first['message']}"


# ------------------------------------------------------------------ signed answers


@dataclass(frozen=True, slots=True)
class SignedAck:
    body: bytes
    header: str  # the ONIX ``Signature`` response header


def ack_signatures(
    unsigned: dict[str, Any],
    signer: Signer,
    *,
    request_digest: str,
    message_id: str,
    request_signature: str | None,
    created: int,
    ttl: int,
) -> SignedAck:
    """The Ack body with its v2.0.0 CounterSignature, and ONIX's ``Signature`` header.

    CounterSignature (our reading, docs/protocol.md): ``digest`` covers the JCS
    serialisation of the Ack object *without* its ``signature`` member, and the
    signing string adds ``(request-digest)`` and ``(message-id)``. The ``Signature``
    header covers the exact response bytes and binds the caller's signature.
    """
    expires = created + ttl
    counter = sign(
        canonical_json(unsigned),
        signer,
        created,
        expires,
        Binding(request_digest=request_digest, message_id=message_id),
    )
    body = json.dumps({**unsigned, "signature": counter}, separators=(",", ":")).encode()
    binding = Binding(request_signature=request_signature) if request_signature else Binding()
    return SignedAck(body, sign(body, signer, created, expires, binding))
