"""The consent manager's HTTP API: apps ask, consumers decide, providers count fetches.

Signed bodies (consent requests, artefact lookups, fetch records) are read as the exact
bytes the signature covers and parsed strictly from JSON; their schemas are declared in
the OpenAPI document all the same. Consumer routes take the consumer's id in the path
and answer only the consumer signed in here (their session, its CSRF header on every
change) for their own id, or a participant holding ``consent:consumer`` (the console the
directory registered, acting for the person it signed in: issue 15, docs/consent.md);
anyone else gets 401/403 and nothing is read or done. A consent of another consumer
answers 404. Changes are audited with who acted: the consumer, or the participant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consent import artefact, notice
from consent.errors import ConsentNotFound, NoticeLanguageUnknown, SignerNotAllowed
from consent.lifecycle import Action
from consent.models import PURPOSES, ConsentRequestBody, Narrowing, Status
from consent.service import (
    AuditView,
    ChainReport,
    ConsentManager,
    ConsentView,
    FetchGrant,
    FetchRecord,
)
from consent.signatures import HEADER, verify_body
from credentials.signin.api import requires_own_consumer
from kernel.access import Principal, public, signed
from kernel.backoffice import backoffice
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import InvalidRequest, problem_responses
from kernel.signed_requests import verified_request

router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429))

_ID = r"^[A-Za-z0-9:._\-]{1,128}$"
ConsumerId = Annotated[str, Path(pattern=_ID, description="The consumer (data principal)")]
ConsentId = Annotated[str, Path(pattern=r"^cns-[0-9a-f]{32}$")]
# The consumer's own door: their session for their own id, or the console's machine token.
CONSUMER = requires_own_consumer("consent:consumer")
Caller = Annotated[Principal, CONSUMER]


def _actor(who: Principal, consumer_id: str) -> str:
    """Who the audit trail names: the consumer themself, or the participant acting for them."""
    return consumer_id if who.kind == "consumer" else who.subject


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


def _body(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": _inline(model.model_json_schema())}},
        },
        "parameters": [
            {
                "name": HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Detached JWS (header..signature) over the exact body",
            }
        ]
        if required
        else [],
    }


def _manager(request: Request) -> ConsentManager:
    manager: ConsentManager = request.app.state.manager
    return manager


class PurposeView(BaseModel):
    code: str
    category: str
    text: dict[str, str]


class NoticeView(BaseModel):
    consent_id: str
    language: str
    text: str
    digest: str


class ArtefactLookup(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    consent_id: str = Field(pattern=r"^cns-[0-9a-f]{32}$")
    party: str = Field(min_length=1, max_length=256)


class ArtefactView(BaseModel):
    consent_id: str
    artefact: str
    digest: str


@router.get(
    "/consent/purposes",
    dependencies=[public("the purpose list is published for every data consumer")],
    response_model=list[PurposeView],
    summary="The purpose list",
)
def purposes() -> list[PurposeView]:
    return [PurposeView(code=p.code, category=p.category, text=p.text) for p in PURPOSES.values()]


@router.post(
    "/consent/requests",
    dependencies=[signed("ies-body")],
    status_code=201,
    response_model=ConsentView,
    summary="An app asks a consumer for consent (signed by the app)",
    openapi_extra=_body(ConsentRequestBody),
)
async def request_consent(request: Request, response: Response) -> Any:
    body = await request.body()
    view, created = await run_in_threadpool(
        _manager(request).request, body, request.headers.get(HEADER)
    )
    if not created:
        response.status_code = 200
    return view


@router.get(
    "/consumers/{consumer_id}/consents",
    dependencies=[CONSUMER],
    response_model=Page[ConsentView],
    summary="The consumer's consents (pending first to decide)",
)
def list_consents(
    request: Request,
    consumer_id: ConsumerId,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[ConsentView]:
    filters = {"consumer": consumer_id, "status": status.value if status else None}
    after = str(decode_cursor(cursor, filters)[0]) if cursor else None
    items = _manager(request).consents(consumer_id, status, after, limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return Page[ConsentView](
        items=items, next_cursor=encode_cursor([items[-1].id], filters) if more else None
    )


@router.get(
    "/consumers/{consumer_id}/consents/{consent_id}",
    dependencies=[CONSUMER],
    response_model=ConsentView,
    summary="One consent",
)
def get_consent(request: Request, consumer_id: ConsumerId, consent_id: ConsentId) -> ConsentView:
    return _manager(request).consent(consumer_id, consent_id)


@router.get(
    "/consumers/{consumer_id}/consents/{consent_id}/notice",
    dependencies=[CONSUMER],
    response_model=NoticeView,
    summary="The plain-language notice in one language (en, hi, mr)",
)
def get_notice(
    request: Request,
    consumer_id: ConsumerId,
    consent_id: ConsentId,
    lang: Annotated[str, Query(pattern=r"^[a-z]{2,3}$")] = "en",
) -> NoticeView:
    consent = _manager(request).consent(consumer_id, consent_id)
    if lang not in consent.notices:
        raise NoticeLanguageUnknown(
            f"this request's notice is in {', '.join(sorted(consent.notices))}"
        )
    return NoticeView(
        consent_id=consent.id,
        language=lang,
        text=consent.notices[lang],
        digest=notice.digest(consent.notices),
    )


@router.post(
    "/consumers/{consumer_id}/consents/{consent_id}/approve",
    response_model=ConsentView,
    summary="Approve, optionally narrower (fewer types, shorter dates, coarser data ...)",
    openapi_extra=_body(Narrowing, required=False),
)
async def approve(
    request: Request, consumer_id: ConsumerId, consent_id: ConsentId, who: Caller
) -> Any:
    body = await request.body()
    change: Narrowing | None = None
    if body.strip():
        try:
            change = Narrowing.model_validate_json(body)
        except ValidationError as exc:
            raise InvalidRequest(
                "the narrowing is not valid",
                errors=[
                    {"location": "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors(include_url=False)
                ],
            ) from None
    actor = _actor(who, consumer_id)
    return await run_in_threadpool(
        _manager(request).approve, consumer_id, consent_id, change, actor=actor
    )


def _action_route(action: Action, summary: str) -> None:
    def act(
        request: Request, consumer_id: ConsumerId, consent_id: ConsentId, who: Caller
    ) -> ConsentView:
        return _manager(request).act(
            consumer_id, consent_id, action, actor=_actor(who, consumer_id)
        )

    act.__name__ = f"{action.value}_consent"
    router.post(
        f"/consumers/{{consumer_id}}/consents/{{consent_id}}/{action.value}",
        response_model=ConsentView,
        summary=summary,
    )(act)


_action_route(Action.REJECT, "Refuse the request")
_action_route(Action.PAUSE, "Pause: no data flows until resumed")
_action_route(Action.RESUME, "Resume a paused consent")
_action_route(Action.REVOKE, "Withdraw consent: one call, data consumer told to erase")


@router.get(
    "/consumers/{consumer_id}/consents/{consent_id}/receipt",
    dependencies=[CONSUMER],
    summary="The consent receipt (unsigned W3C VC 2.0 document, for the credential issuer)",
)
def receipt(request: Request, consumer_id: ConsumerId, consent_id: ConsentId) -> dict[str, Any]:
    consent = _manager(request).consent(consumer_id, consent_id)
    if consent.artefact is None:
        raise ConsentNotFound("the consent has no artefact (it was never approved)")
    issuer = request.app.state.issuer_did
    return artefact.receipt_credential(consent.artefact, issuer)


@router.get(
    "/consumers/{consumer_id}/audit",
    dependencies=[CONSUMER],
    response_model=list[AuditView],
    summary="Every event of the consumer's consents; accesses_only: who accessed what, when",
)
def consumer_audit(
    request: Request,
    consumer_id: ConsumerId,
    accesses_only: bool = False,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditView]:
    return _manager(request).audit_for(
        consumer_id, accesses_only=accesses_only, after=after, limit=limit
    )


@router.post(
    "/consent/artefacts/lookup",
    dependencies=[signed("ies-body")],
    response_model=ArtefactView,
    summary="The signed artefact, for its data consumer or data provider (signed call)",
    openapi_extra=_body(ArtefactLookup),
)
async def lookup_artefact(request: Request) -> ArtefactView:
    manager = _manager(request)
    signed = await verified_request(
        request,
        HEADER,
        lambda signature, body: verify_body(body, signature, manager.keys, now=manager.clock()),
    )
    try:
        asked = ArtefactLookup.model_validate_json(signed.body)
    except ValidationError as exc:
        raise InvalidRequest(str(exc).splitlines()[0]) from None
    signer = signed.signer.subscriber_id
    if asked.party != signer:
        raise SignerNotAllowed(f"signed by {signer}, not {asked.party}")
    token = await run_in_threadpool(manager.artefact_for, asked.consent_id, asked.party)
    return ArtefactView(consent_id=asked.consent_id, artefact=token, digest=artefact.digest(token))


@router.post(
    "/consent/fetches",
    dependencies=[signed("ies-body")],
    response_model=FetchGrant,
    summary="A provider counts one fetch before releasing data (signed; grant signed back)",
    openapi_extra=_body(FetchRecord),
)
async def record_fetch(request: Request) -> Response:
    body = await request.body()
    raw, signature = await run_in_threadpool(
        _manager(request).record_signed_fetch, body, request.headers.get(HEADER)
    )
    return Response(
        raw,
        media_type="application/json",
        headers={HEADER: signature},
    )


@router.get(
    "/consent/audit/verify",
    dependencies=[backoffice()],
    response_model=ChainReport,
    summary="Walk the audit chain; name the first entry that breaks it",
)
def verify_audit(request: Request) -> ChainReport:
    return _manager(request).verify_audit()
