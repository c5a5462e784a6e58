"""The filings inbox over HTTP: a licensee files (signed), anyone with access reads.

``POST /filings`` takes the exact body bytes and its Beckn ``Authorization:
Signature …`` header, and runs the receiving steps in order, each refusing with its
own problem before anything is stored: verify the signature against the sender's key
in the directory (``protocol.signing.verify``), check its freshness and that the key
still stands, then hand the body to ``service.receive`` (licensee, schema, the pack's
decision, supersession). The answer is the filing as stored, signed by the
commission in ``X-IES-Receipt-Signature`` with the signing string that binds the
discom's own request signature, so the discom can prove what was acknowledged.

``POST /filings/{id}/corrections`` is the commission's own: its staff send an
acknowledged filing back with reasons. What authenticates it is the same Beckn
signature over the exact body, verified against the directory, and the signer must be
the commission itself (the subscriber id whose key signs the receipts); a licensee's
or a stranger's valid signature is refused. The body names the member of staff who
asked (``operator``, the subject of their console session), inside what the signature
covers: the filing keeps it beside the commission's name, and the discom reads both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from kernel.access import signed
from kernel.backoffice import backoffice
from kernel.pagination import Page
from kernel.problems import problem_responses
from kernel.signed_requests import SignedRequest, verified_request
from protocol.errors import (
    KeyRevoked,
    SignatureExpired,
    SignatureFromFuture,
    SignatureLifetime,
)
from protocol.filings import service
from protocol.filings.models import CorrectionAsk, FilingView, Status, Submission
from protocol.filings.service import FilingPolicy
from protocol.signing import Binding, Signer, Verdict, canonical_json, sign, verify
from registry.directory.keys import KeyLookup

RECEIPT_HEADER = "X-IES-Receipt-Signature"
MAX_SKEW_SECONDS = 5  # as the Beckn receiver: a little clock drift on `created`
MAX_LIFETIME_SECONDS = 3600
RECEIPT_TTL_SECONDS = 300


@dataclass(frozen=True)
class Inbox:
    """What the inbox needs from its host: storage, the directory, the commission's
    signing key, the licensees it regulates (subscriber id → jurisdiction), its pack."""

    engine: Engine
    keys: KeyLookup
    signer: Signer
    licensees: Mapping[str, str]
    policy: FilingPolicy
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema with its ``$defs`` inlined (OpenAPI resolves ``#`` at the
    document root, so local refs would dangle)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def authenticate(header: str | None, body: bytes, keys: KeyLookup, now: datetime) -> Verdict:
    """The sender, verified: signature over the exact bytes, fresh, key still standing."""
    verdict = verify(header, body, keys)
    params = verdict.params
    unix = int(now.timestamp())
    if params.expires <= params.created:
        raise SignatureLifetime("expires is not after created")
    if params.expires - params.created > MAX_LIFETIME_SECONDS:
        raise SignatureLifetime(f"the signature is valid for more than {MAX_LIFETIME_SECONDS} s")
    if params.created > unix + MAX_SKEW_SECONDS:
        raise SignatureFromFuture(
            f"created is {params.created - unix} s ahead of the inbox's clock"
        )
    if unix >= params.expires:
        raise SignatureExpired(f"the signature expired {unix - params.expires} s ago")
    key = verdict.key
    # A key revoked now refuses whatever `created` the signer chose (no backdating).
    if key.status == "REVOKED" or (key.revoked_at is not None and key.revoked_at <= now):
        raise KeyRevoked(f"{key.subscriber_id}|{key.key_id} is revoked")
    return verdict


class History(BaseModel):
    items: list[FilingView]


def router(inbox: Inbox) -> APIRouter:
    async def verified(request: Request, now: datetime) -> SignedRequest[Verdict]:
        """The request's exact body, verified by :func:`authenticate` (kernel.signed_requests:
        the steps every ``signed`` door takes) before anything is read or stored."""
        return await verified_request(
            request,
            "authorization",
            lambda header, body: authenticate(header, body, inbox.keys, now),
        )

    api = APIRouter(prefix="/filings", tags=["filings inbox"])

    @api.post(
        "",
        dependencies=[signed("filing")],
        summary="File (a licensee's signed ArrFiling and energy account)",
        status_code=201,
        response_model=FilingView,
        responses={
            200: {"description": "The same filing sent again: the stored answer"},
            **problem_responses(401, 403, 409, 422, 500, 503),
        },
        openapi_extra={
            "parameters": [
                {
                    "name": "Authorization",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 2048},
                    "description": "Beckn Signature over the exact body (the sender's key)",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _inline(Submission.model_json_schema(by_alias=True))
                    }
                },
            },
        },
    )
    async def file(request: Request) -> Response:
        now = inbox.clock()
        signed_request = await verified(request, now)
        body, header, verdict = signed_request.body, signed_request.signature, signed_request.signer

        def store() -> service.Received:
            for attempt in (1, 2):
                try:
                    with Session(inbox.engine) as s:
                        received = service.receive(
                            s,
                            body=body,
                            sender=verdict.params.subscriber_id,
                            signature=header or "",
                            licensees=inbox.licensees,
                            policy=inbox.policy,
                            now=now,
                        )
                        s.commit()
                        return received
                except IntegrityError:
                    # The same filing id arrived twice at once: the second attempt finds
                    # the first (the same answer, or filing-ref-reused).
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        received = await run_in_threadpool(store)
        return signed_answer(received.filing, verdict.params.signature, received.created)

    def signed_answer(filing: FilingView, request_signature: str, created_now: bool) -> Response:
        answer = canonical_json(filing.model_dump(mode="json"))
        created = int(inbox.clock().timestamp())
        receipt = sign(
            answer,
            inbox.signer,
            created,
            created + RECEIPT_TTL_SECONDS,
            Binding(request_signature=request_signature),
        )
        return Response(
            answer,
            status_code=201 if created_now else 200,
            media_type="application/json",
            headers={RECEIPT_HEADER: receipt, "Location": f"/filings/{filing.id}"},
        )

    @api.post(
        "/{filing_id}/corrections",
        dependencies=[signed("filing")],
        summary="Send an acknowledged filing back for correction (the commission, signed)",
        status_code=201,
        response_model=FilingView,
        responses={
            200: {"description": "The same request sent again: the filing as it stands"},
            **problem_responses(401, 403, 404, 409, 422),
        },
        openapi_extra={
            "parameters": [
                {
                    "name": "Authorization",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 2048},
                    "description": "Beckn Signature over the exact body (the commission's key)",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _inline(CorrectionAsk.model_json_schema(by_alias=True))
                    }
                },
            },
        },
    )
    async def request_correction(
        request: Request, filing_id: Annotated[str, Path(max_length=64)]
    ) -> Response:
        now = inbox.clock()
        signed_request = await verified(request, now)
        body, verdict = signed_request.body, signed_request.signer

        def store() -> service.Received:
            with Session(inbox.engine) as s:
                done = service.request_correction(
                    s,
                    filing_id,
                    body=body,
                    sender=verdict.params.subscriber_id,
                    commission=inbox.signer.subscriber_id,
                    now=now,
                )
                s.commit()
                return done

        done = await run_in_threadpool(store)
        return signed_answer(done.filing, verdict.params.signature, done.created)

    @api.get(
        "",
        dependencies=[backoffice()],
        summary="The inbox: filings received, oldest first",
        responses=problem_responses(400, 422),
    )
    def listing(
        licensee: Annotated[str | None, Query(max_length=255)] = None,
        status: Status | None = None,
        jurisdiction: Annotated[str | None, Query(max_length=8)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
    ) -> Page[FilingView]:
        filters: dict[str, Any] = {
            name: value
            for name, value in (
                ("licensee", licensee),
                ("status", status.value if status else None),
                ("jurisdiction", jurisdiction),
            )
            if value is not None
        }
        with Session(inbox.engine) as db:
            return service.inbox(db, filters=filters, cursor=cursor, limit=limit)

    @api.get(
        "/{filing_id}",
        dependencies=[backoffice()],
        summary="One filing, with the pack's decision",
        responses=problem_responses(404, 422),
    )
    def one(filing_id: Annotated[str, Path(max_length=64)]) -> FilingView:
        with Session(inbox.engine) as db:
            return service.one(db, filing_id)

    @api.get(
        "/{filing_id}/versions",
        dependencies=[backoffice()],
        summary="Every version of the filing's docket, first to newest",
        responses=problem_responses(404, 422),
    )
    def versions(filing_id: Annotated[str, Path(max_length=64)]) -> History:
        with Session(inbox.engine) as db:
            return History(items=service.history(db, filing_id))

    return api
