"""The caller's side of a Beckn exchange, sans-I/O: prepare a signed message, judge
the receiver's signed Ack.

The caller's pipeline (what ONIX calls route, sign, validate) is :func:`prepare`: the
envelope is validated against the action's model, serialised *once*, and those
exact bytes are digested and signed; nobody re-serialises them after that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from protocol.envelope import Ack, Context, check_message, validation_errors
from protocol.errors import AckRefused, EnvelopeInvalid, ExchangeRefused
from protocol.signing import (
    COUNTER_HEADERS,
    RESPONSE_HEADERS,
    Binding,
    Signer,
    canonical_json,
    digest_value,
    sign,
    verify,
)
from registry.directory.keys import KeyLookup


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message ready for the wire: its bytes and the headers that sign them."""

    action: str
    context: Context
    body: bytes
    digest: str
    authorization: str

    @property
    def signature(self) -> str:
        return self.authorization.rsplit('signature="', 1)[1].rstrip('"')


def serialise(document: dict[str, Any]) -> tuple[Context, bytes]:
    """Validate ``document`` (a whole Beckn message) and serialise it, once."""
    try:
        context = Context.model_validate(document["context"])
        check_message(context.action, document["message"])
    except (ValidationError, ValueError) as exc:
        errors = validation_errors(exc, "")
        raise EnvelopeInvalid(
            f"the outgoing message is not valid: {errors[0]}", errors=errors
        ) from None
    except (KeyError, TypeError) as exc:
        raise EnvelopeInvalid(f"the outgoing message is not a Beckn message: {exc}") from None
    return context, json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def prepare(
    document: dict[str, Any],
    signer: Signer,
    created: int,
    ttl: int = 30,
    *,
    request_signature: str | None = None,
) -> Prepared:
    """Validate, serialise once, digest and sign ``document`` (a whole Beckn message).

    ``request_signature`` is the caller's signature a solicited callback answers; it
    becomes the fourth line of the signing string.
    """
    context, body = serialise(document)
    return sign_body(context, body, signer, created, ttl, request_signature=request_signature)


def sign_body(
    context: Context,
    body: bytes,
    signer: Signer,
    created: int,
    ttl: int = 30,
    *,
    request_signature: str | None = None,
) -> Prepared:
    """Sign bytes serialised earlier (the outbox signs afresh at every attempt)."""
    digest = digest_value(body)
    binding = Binding(request_signature=request_signature)
    authorization = sign(body, signer, created, created + ttl, binding, digest=digest)
    return Prepared(context.action, context, body, digest, authorization)


class AckPolicy(StrEnum):
    """How much of the receiver's signed Ack we insist on.

    ``strict``: at least one of ONIX's ``Signature`` header and the v2.0.0
    CounterSignature, and every one present must verify (the default; ONIX only logs
    a bad ACK signature, we refuse it). ``both``: both must be present. ``unsigned``:
    peers that do not sign their ACKs (accepted, recorded as such).
    """

    STRICT = "strict"
    BOTH = "both"
    UNSIGNED = "unsigned"


@dataclass(frozen=True, slots=True)
class AckVerdict:
    status: str
    signed_by: str | None
    header_verified: bool
    counter_verified: bool
    error_code: str | None
    error_message: str | None
    step: str | None


def judge_ack(
    body: bytes,
    signature_header: str | None,
    sent: Prepared,
    receiver: str,
    lookup: KeyLookup,
    policy: AckPolicy = AckPolicy.STRICT,
) -> AckVerdict:
    """Read and verify the receiver's Ack; :class:`AckRefused` if it cannot be trusted."""
    try:
        document = json.loads(body)
        ack = Ack.model_validate(document)
    except (ValueError, ValidationError) as exc:
        raise AckRefused(f"the receiver's answer is not a Beckn Ack: {exc}") from None
    header_ok = counter_ok = False
    signer: str | None = None
    try:
        if signature_header:
            verdict = verify(
                signature_header,
                body,
                lookup,
                expect=RESPONSE_HEADERS,
                binding=Binding(request_signature=sent.signature),
            )
            signer, header_ok = verdict.params.subscriber_id, True
        if ack.signature and policy is not AckPolicy.UNSIGNED:
            unsigned = {k: v for k, v in document.items() if k != "signature"}
            verdict = verify(
                ack.signature,
                canonical_json(unsigned),
                lookup,
                expect=COUNTER_HEADERS,
                binding=Binding(request_digest=sent.digest, message_id=sent.context.message_id),
            )
            signer, counter_ok = verdict.params.subscriber_id, True
    except ExchangeRefused as exc:
        raise AckRefused(f"the receiver's Ack signature does not verify: {exc.detail}") from None
    if policy is AckPolicy.BOTH and not (header_ok and counter_ok):
        raise AckRefused("the Ack must carry both the Signature header and a CounterSignature")
    if policy is AckPolicy.STRICT and not (header_ok or counter_ok):
        raise AckRefused("the Ack is not signed")
    if signer is not None and signer != receiver:
        raise AckRefused(f"the Ack is signed by {signer}, not by {receiver}")
    error = ack.error
    return AckVerdict(
        status=ack.status,
        signed_by=signer,
        header_verified=header_ok,
        counter_verified=counter_ok,
        error_code=error.errorCode if error else None,
        error_message=error.errorMessage if error else None,
        step=error.step if error else None,
    )
