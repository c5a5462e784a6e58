"""The desk's rules: what a request is, what the consumer is told, and when a decision
is the consumer's own (see the package docstring)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from sqlmodel import Session, col, select

from credentials.did import parse_multibase_key
from credentials.keys import InvalidPublicKey, PublicKeyInfo
from credentials.proofs import ProofInvalid, read_jwt, verify_proof
from kernel.database import from_db
from sandbox.participants.der_requests.errors import (
    NotAwaitingApproval,
    NotTheConsumer,
    RequestInvalid,
    RequestNotFound,
)
from sandbox.participants.der_requests.store import EventRow, RequestRow

AWAITING = "AWAITING_CONSUMER_APPROVAL"
APPROVED = "APPROVED"
DECLINED = "DECLINED"
PASSPORT = "ElectricityCredential"
DID_KEY = r"^did:key:z[1-9A-HJ-NP-Za-km-z]{32,60}$"


class _Edge(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", alias_generator=to_camel,
                              validate_by_name=True, validate_by_alias=True)  # fmt: skip


class Draft(_Edge):
    """What the installer's staff prepare: the application without any presentation."""

    consumer_number: Annotated[str, Field(min_length=1, max_length=40)]
    consumer_wallet: Annotated[str, Field(pattern=DID_KEY)]
    discom: Annotated[str, Field(min_length=1, max_length=255)]
    discom_name: Annotated[str, Field(min_length=1, max_length=200)]
    application: dict[str, Any]
    credentials: list[Any] = Field(min_length=1, max_length=20)


class Decision(_Edge):
    """The consumer's answer: a presentation their wallet signed (see ``check``)."""

    decision: Literal["approve", "decline"]
    presentation: dict[str, Any]


def read(model: type[_Edge], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise RequestInvalid("; ".join(problems[:8])) from None


def notice(draft: Draft, installer: str, installer_name: str) -> dict[str, Any]:
    """What the consumer is asked, in words: what is shared, with whom, why, by whom."""
    der = draft.application.get("der") or {}
    scheme = str(draft.application.get("scheme", "")).replace("_", " ")
    return {
        "requestedBy": {"id": installer, "name": installer_name},
        "sharedWith": {"id": draft.discom, "name": draft.discom_name},
        "purpose": (
            f"to apply for the grid connection of your {der.get('capacityKw')} kW rooftop "
            f"solar system under {scheme}"
        ),
        "shares": [
            "your ElectricityCredential (consumer passport): your name, consumer number, "
            "connection, address and sanctioned load",
            "the application: the system's capacity, the inverter's and modules' serial "
            "numbers, the bidirectional meter and the commissioning date",
            "the installer's licence and the laboratory's equipment certificates",
        ],
        "ifDeclined": "nothing is sent to the discom; the installer keeps no credential of yours",
    }


def record(session: Session, row: RequestRow, kind: str, actor: str, **detail: Any) -> None:
    session.add(EventRow(request_id=row.id, at=datetime.now(UTC), kind=kind, actor=actor,
                         detail=detail))  # fmt: skip


def prepare(session: Session, draft: Draft, installer: str, installer_name: str) -> RequestRow:
    if draft.application.get("@type") != "DERConnectionApplication":
        raise RequestInvalid("application: not a DERConnectionApplication")
    if "presentation" in draft.application:
        raise RequestInvalid("application: the consumer's presentation is theirs to add")
    row = RequestRow(
        id=f"DERREQ-{time.time_ns():020d}{secrets.token_hex(3)}".upper(),
        consumer_number=draft.consumer_number, consumer_wallet=draft.consumer_wallet,
        discom=draft.discom, state=AWAITING, notice=notice(draft, installer, installer_name),
        application=draft.application, credentials=draft.credentials,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(row)
    record(session, row, "prepared", installer, sharedWith=draft.discom)
    return row


def get(session: Session, request_id: str, consumer_number: str | None = None) -> RequestRow:
    row = session.get(RequestRow, request_id)
    if row is None or (consumer_number is not None and row.consumer_number != consumer_number):
        raise RequestNotFound(f"no application request {request_id}")  # others' look absent
    return row


def listing(session: Session, consumer_number: str | None) -> list[RequestRow]:
    query = select(RequestRow).order_by(col(RequestRow.created_at).desc())
    if consumer_number is not None:
        query = query.where(RequestRow.consumer_number == consumer_number)
    return list(session.exec(query.limit(500)))


def trail(session: Session, request_id: str) -> list[EventRow]:
    query = select(EventRow).where(EventRow.request_id == request_id)
    return list(session.exec(query.order_by(col(EventRow.id))))


def _passport_holders(presentation: dict[str, Any]) -> list[str]:
    """The subjects of the ElectricityCredentials in the presentation (unverified: the
    discom verifies every credential; here only whose passport it claims to be)."""
    holders = []
    for item in presentation.get("verifiableCredential") or []:
        token = item.get("id", "") if isinstance(item, dict) else ""
        if not isinstance(token, str) or not token.startswith("data:application/vc+jwt,"):
            continue
        try:
            claims = read_jwt(token.removeprefix("data:application/vc+jwt,")).payload
        except ProofInvalid:
            continue
        if PASSPORT in (claims.get("type") or []):
            subject = claims.get("credentialSubject") or {}
            holders.append(str(subject.get("id")))
    return holders


def check(row: RequestRow, decision: Decision, installer: str) -> dict[str, Any]:
    """The decision is the consumer's own, or :class:`NotTheConsumer`; the proof."""
    presentation = decision.presentation
    holder = presentation.get("holder")
    if holder != row.consumer_wallet:
        raise NotTheConsumer(f"signed by {holder}, not by the consumer's wallet")
    proof = presentation.get("proof")
    if not isinstance(proof, dict) or proof.get("proofPurpose") != "authentication":
        raise NotTheConsumer("the presentation carries no authentication proof")
    method = str(proof.get("verificationMethod", ""))
    if not method.startswith(f"{holder}#"):
        raise NotTheConsumer(f"the proof's key {method} is not the holder's")
    try:
        algorithm, raw = parse_multibase_key(holder.removeprefix("did:key:"))
        verify_proof(presentation, PublicKeyInfo(method.split("#", 1)[1], algorithm, raw))
    except (ProofInvalid, InvalidPublicKey) as exc:
        raise NotTheConsumer(f"the holder's proof does not verify: {exc}") from None
    if decision.decision == "approve":
        if proof.get("domain") != row.discom:
            raise NotTheConsumer(f"presented for {proof.get('domain')}, not for {row.discom}")
        if _passport_holders(presentation) != [holder]:
            raise NotTheConsumer("the presentation holds no ElectricityCredential of the holder")
    elif (proof.get("domain"), proof.get("challenge")) != (installer, f"decline:{row.id}"):
        raise NotTheConsumer("a decline is signed for this installer and this request")
    elif presentation.get("verifiableCredential"):
        raise NotTheConsumer("a decline shares nothing")
    return proof


def decide(session: Session, row: RequestRow, decision: Decision, installer: str) -> None:
    """Record the consumer's decision (checked first; a refusal changes nothing)."""
    if row.state != AWAITING:
        raise NotAwaitingApproval(f"{row.id} is {row.state}")
    check(row, decision, installer)
    row.state = APPROVED if decision.decision == "approve" else DECLINED
    row.decided_at = datetime.now(UTC)
    session.add(row)
    record(session, row, row.state.lower(), row.consumer_wallet,
           consumerNumber=row.consumer_number, sharedWith=row.discom if
           decision.decision == "approve" else None)  # fmt: skip


def view(row: RequestRow, events: list[EventRow] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": row.id, "consumerNumber": row.consumer_number,
        "consumerWallet": row.consumer_wallet, "discom": row.discom, "state": row.state,
        "notice": row.notice, "application": row.application, "credentials": row.credentials,
        "transactionId": row.transaction_id, "createdAt": from_db(row.created_at).isoformat(),
        "decidedAt": from_db(row.decided_at).isoformat() if row.decided_at else None,
    }  # fmt: skip
    if events is not None:
        shown["trail"] = [{"at": from_db(e.at).isoformat(), "kind": e.kind, "actor": e.actor,
                           "detail": e.detail} for e in events]  # fmt: skip
    return shown
