"""The credentials HTTP API, in the style of the W3C VC API: issue, verify, status,
presentations (challenge, verify), the wallet's pull URI, status lists and the
issuers' did:web documents. Routes translate; ``service`` decides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from credentials.keys import KeyAlgorithm
from credentials.proofs import ProofFormat
from credentials.service import CredentialService
from kernel.access import Forbidden, Principal, public, requires, signed
from kernel.backoffice import BY_ROUTE, backoffice
from kernel.problems import NotFound, problem_responses
from schemas.credentials import CREDENTIAL_TYPES

router = APIRouter(tags=["credentials"])
did_router = APIRouter(tags=["did:web"])

CredentialType = Literal[tuple(CREDENTIAL_TYPES)]  # type: ignore[valid-type]
Id = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class _Edge(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class IssueOptions(_Edge):
    format: Annotated[ProofFormat, Field(strict=False)] = ProofFormat.VC_JWT
    algorithm: Literal["ES256", "Ed25519"] = "ES256"


class CredentialDraft(_Edge):
    """The unsecured claims; the service adds @context, id, issuer object and status."""

    type: CredentialType  # type: ignore[valid-type]
    issuer: Id
    credentialSubject: dict[str, Any]  # noqa: N815 - VC API member name
    validFrom: Annotated[datetime, Field(strict=False)] | None = None  # noqa: N815
    validUntil: Annotated[datetime, Field(strict=False)] | None = None  # noqa: N815


class IssueRequest(_Edge):
    credential: CredentialDraft
    options: IssueOptions = Field(default_factory=IssueOptions)


class VerifyRequest(_Edge):
    verifiableCredential: dict[str, Any] | Annotated[str, StringConstraints(max_length=1_000_000)]  # noqa: N815


class StatusRequest(_Edge):
    credentialId: Id  # noqa: N815
    status: Literal["revoked", "suspended", "active"]
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class ChallengeRequest(_Edge):
    domain: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PresentationRequest(_Edge):
    presentation: dict[str, Any]
    domain: Annotated[str, StringConstraints(min_length=1, max_length=255)]


def _service(request: Request) -> CredentialService:
    service: CredentialService = request.app.state.credentials
    return service


def _own_issuer(request: Request, who: Principal, issuer_did: str | None = None) -> None:
    """Only an issuer itself (its own machine token) signs or changes its credentials:
    another organisation's token, even with the scope, is refused (403)."""
    own = f"did:web:{who.organisation}"
    if own not in _service(request).issuers or (issuer_did is not None and issuer_did != own):
        raise Forbidden("these credentials belong to another organisation")


@router.post(
    "/credentials/issue",
    status_code=201,
    summary="Issue a credential (vc+jwt by default; Data Integrity on request)",
    responses=problem_responses(400, 404, 422, 502),
)
async def issue(
    body: IssueRequest,
    request: Request,
    who: Annotated[Principal, requires("credentials:issue")],
) -> dict[str, Any]:
    draft = body.credential
    _own_issuer(request, who, draft.issuer)
    algorithm = KeyAlgorithm.P256 if body.options.algorithm == "ES256" else KeyAlgorithm.ED25519
    return await run_in_threadpool(
        lambda: _service(request).issue(
            draft.issuer,
            draft.type,
            draft.credentialSubject,
            proof_format=body.options.format,
            algorithm=algorithm,
            valid_from=draft.validFrom,
            valid_until=draft.validUntil,
        )
    )


@router.post(
    "/credentials/verify",
    dependencies=[public("anyone may verify a credential")],
    summary="Verify a credential: every check, each with its reason",
    responses=problem_responses(400, 422),
)
async def verify(body: VerifyRequest, request: Request) -> dict[str, Any]:
    verdict = await run_in_threadpool(_service(request).verify, body.verifiableCredential)
    return verdict.to_dict()


@router.post(
    "/credentials/status",
    summary="Revoke, suspend or reinstate an issued credential",
    responses=problem_responses(400, 404, 409, 422, 502),
)
async def update_status(
    body: StatusRequest,
    request: Request,
    who: Annotated[Principal, requires("credentials:status")],
) -> dict[str, Any]:
    _own_issuer(request, who)
    return await run_in_threadpool(
        _service(request).change_status, body.credentialId, body.status, body.reason
    )


@router.get(
    "/credentials/issued/{credential_id}",
    summary="An issued credential's status (issuer side)",
    description=(
        "The issuer's back office; also the console acting for the holder "
        "(`X-On-Behalf-Of: consumer <the holder's DID>`), for a credential issued to it."
    ),
    responses=problem_responses(400, 404, 422),
)
async def issued(
    credential_id: Annotated[str, Path(max_length=300)],
    request: Request,
    who: Annotated[Principal, backoffice(consumer=BY_ROUTE)],
) -> dict[str, Any]:
    holder = who.subject if who.kind == "consumer" else None  # a holder: its own only
    return await run_in_threadpool(_service(request).issued, credential_id, holder=holder)


@router.get(
    "/credentials/status-lists/{namespace}/{purpose}",
    dependencies=[
        public("status lists are published for every verifier (W3C Bitstring Status List)")
    ],
    summary="An issuer's Bitstring Status List credential (application/vc+jwt)",
    responses={
        200: {"content": {"application/vc+jwt": {"schema": {"type": "string"}}}},
        **problem_responses(400, 404, 422),
    },
    response_class=Response,
)
async def status_list(
    namespace: Annotated[str, Path(max_length=253)],
    purpose: Literal["revocation", "suspension"],
    request: Request,
) -> Response:
    token = await run_in_threadpool(_service(request).status_list_jwt, namespace, purpose)
    return Response(
        token, media_type="application/vc+jwt", headers={"Cache-Control": "max-age=300"}
    )


@router.get(
    "/credentials/deliveries/{delivery_id}",
    dependencies=[signed("delivery-bearer")],
    summary="The consumer's wallet pulls its credential, once, with its bearer token",
    responses={
        200: {"content": {"application/json": {}, "application/vc+jwt": {}}},
        **problem_responses(400, 403, 422),
    },
    response_class=Response,
)
async def deliver(
    delivery_id: Annotated[str, Path(max_length=64)],
    request: Request,
    authorization: Annotated[str | None, Header(max_length=500)] = None,
) -> Response:
    token = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
    secured = await run_in_threadpool(_service(request).deliver, delivery_id, token)
    if isinstance(secured, str):
        return Response(secured, media_type="application/vc+jwt")
    return JSONResponse(secured, media_type="application/vc+ld+json")


@router.post(
    "/presentations/challenges",
    dependencies=[public("a verifier service: anyone may ask it for a one-time challenge")],
    status_code=201,
    summary="A one-time challenge for a presentation to this verifier's domain",
    responses=problem_responses(400, 422),
)
async def challenge(body: ChallengeRequest, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_service(request).new_challenge, body.domain)


@router.post(
    "/presentations/verify",
    dependencies=[public("a verifier service: anyone may ask it to check a presentation")],
    summary="Verify a presentation of several credentials (holder proof, challenge, domain)",
    responses=problem_responses(400, 422),
)
async def verify_presentation(body: PresentationRequest, request: Request) -> dict[str, Any]:
    verdict = await run_in_threadpool(
        _service(request).verify_presentation, body.presentation, body.domain
    )
    return verdict.to_dict()


@did_router.get(
    "/.well-known/did.json",
    dependencies=[public("a did:web document is public by definition")],
    summary="The did:web document of the issuer whose host was asked for (Host header)",
    responses=problem_responses(400, 404),
)
async def issuer_did(request: Request) -> JSONResponse:
    host = request.headers.get("host", "").lower()
    service = _service(request)
    for profile in service.issuers.values():
        if profile.host == host:
            document = await run_in_threadpool(profile.did_document)
            return JSONResponse(document.to_json(), media_type="application/did+json")
    raise NotFound(f"no issuer under {host}")
