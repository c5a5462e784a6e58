"""The policy decision service's HTTP API, and OPA's own REST Data API beside it.

``/policy/...`` is ours: decide (and log), read the log, list the packs in force and
read a pack's rules. ``/v1/data/...`` and ``/v1/policies`` answer as an OPA server does
(https://www.openpolicyagent.org/docs/rest-api), over the same verified packs, so a
client written for OPA (opa-python-client) works against this service unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine as DatabaseEngine

from kernel.access import public, requires
from kernel.backoffice import backoffice
from kernel.database import session_scope
from kernel.pagination import Page
from kernel.problems import InvalidRequest, problem_responses
from policy_packs import service
from policy_packs.decision import Engine, RecordedDecision, check_representable
from policy_packs.errors import PackNotFound
from policy_packs.manifest import JURISDICTION_PATTERN, Domain, Manifest
from policy_packs.packs import Catalogue, Pack
from policy_packs.regolint import package_of

router = APIRouter(responses=problem_responses(400, 404, 413, 422, 502))
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Printable text only: PostgreSQL text cannot hold NUL, and a reference is shown to people.
_REFERENCE = r"^[^\x00-\x1f\x7f]+$"
_PACK_ID = r"^[a-z0-9][a-z0-9\-]{1,62}$"
_RULE_HEAD = re.compile(r"^(?:default\s+)?([a-z_][A-Za-z0-9_]*)\b(?!\s*\.)", re.MULTILINE)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    jurisdiction: str = Field(pattern=JURISDICTION_PATTERN, examples=["IN-MH"])
    domain: Domain
    input: dict[str, Any] = Field(description="Domain-shaped input (docs/policy.md)")
    as_of: str | None = Field(
        default=None, pattern=_DATE, description="Date the pack must be in force; default today"
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=_REFERENCE,
        description="The caller's reference (trade id, transaction id) to find the decision by",
    )


class PackSummary(BaseModel):
    id: str
    version: str
    title: str
    jurisdiction: str
    programme: str
    effective_from: dt.date
    effective_to: dt.date | None
    author: str
    digest: str
    domains: list[str]


class PackDetail(PackSummary):
    signed_by: str
    key_id: str
    manifest: Manifest


class OpaDataRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    input: dict[str, Any] | None = None


def _date(value: str | None, name: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name} is not a calendar date",
            errors=[{"location": name, "message": str(exc), "type": "date"}],
        ) from exc


def _database(request: Request) -> DatabaseEngine:
    engine: DatabaseEngine = request.app.state.engine
    return engine


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def _summary(pack: Pack) -> dict[str, Any]:
    m = pack.manifest
    return {
        "id": m.id,
        "version": m.version,
        "title": m.title,
        "jurisdiction": m.jurisdiction,
        "programme": m.programme,
        "effective_from": m.effective_from,
        "effective_to": m.effective_to,
        "author": m.author,
        "digest": pack.digest,
        "domains": list(m.domains),
    }


@router.post(
    "/policy/decisions",
    dependencies=[requires("policy:evaluate")],
    tags=["policy"],
    summary="Decide with the pack in force, and log the decision",
    response_model=RecordedDecision,
)
def post_decision(body: DecisionRequest, request: Request) -> RecordedDecision:
    decider: Engine = request.app.state.decider
    with session_scope(_database(request)) as session:
        return service.evaluate(
            session,
            _catalogue(request),
            decider,
            jurisdiction=body.jurisdiction,
            domain=body.domain,
            document=body.input,
            as_of=_date(body.as_of, "as_of"),
            reference=body.reference,
        )


@router.get(
    "/policy/decisions",
    dependencies=[backoffice()],
    tags=["policy"],
    summary="The decision log, newest first (cursor-paginated)",
    response_model=Page[RecordedDecision],
)
def get_decisions(
    request: Request,
    jurisdiction: Annotated[str | None, Query(pattern=JURISDICTION_PATTERN)] = None,
    domain: Domain | None = None,
    allow: bool | None = None,
    input_digest: Annotated[str | None, Query(pattern=r"^sha256:[0-9a-f]{64}$")] = None,
    reference: Annotated[
        str | None, Query(min_length=1, max_length=128, pattern=_REFERENCE)
    ] = None,
    pack_id: Annotated[str | None, Query(pattern=_PACK_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[RecordedDecision]:
    filters = {
        name: value
        for name, value in {
            "jurisdiction": jurisdiction,
            "domain": domain,
            "allow": allow,
            "input_digest": input_digest,
            "reference": reference,
            "pack_id": pack_id,
        }.items()
        if value is not None
    }
    with session_scope(_database(request)) as session:
        return service.decision_log(session, filters=filters, limit=limit, cursor=cursor)


@router.get(
    "/policy/decisions/{decision_id}",
    dependencies=[backoffice()],
    tags=["policy"],
    summary="One logged decision: why it was allowed or refused",
    response_model=RecordedDecision,
)
def get_decision(
    request: Request, decision_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
) -> RecordedDecision:
    with session_scope(_database(request)) as session:
        return service.recorded_decision(session, decision_id)


@router.get(
    "/policy/packs",
    dependencies=[public("signed policy packs are published law: tariffs, rules")],
    tags=["policy"],
    summary="The packs in force on a date (every loaded pack with all=true)",
    response_model=list[PackSummary],
)
def get_packs(
    request: Request,
    as_of: Annotated[str | None, Query(pattern=_DATE)] = None,
    jurisdiction: Annotated[str | None, Query(pattern=JURISDICTION_PATTERN)] = None,
    all: bool = False,
) -> list[dict[str, Any]]:
    catalogue = _catalogue(request)
    packs = catalogue.packs if all else catalogue.in_force(_date(as_of, "as_of"))
    return [
        _summary(pack)
        for pack in packs
        if jurisdiction is None or pack.manifest.jurisdiction == jurisdiction
    ]


@router.get(
    "/policy/packs/{pack_id}/{version}",
    dependencies=[public("signed policy packs are published law: tariffs, rules")],
    tags=["policy"],
    summary="One pack: its manifest, every rule's intent and clause, its digest and signer",
    response_model=PackDetail,
)
def get_pack(
    request: Request,
    pack_id: Annotated[str, Path(max_length=64)],
    version: Annotated[str, Path(max_length=32)],
) -> dict[str, Any]:
    pack = _catalogue(request).get(pack_id, version)
    return {
        **_summary(pack),
        "signed_by": pack.signature.author,
        "key_id": pack.signature.key_id,
        "manifest": pack.manifest,
    }


# --- OPA REST API (the subset a Data API client uses) ---------------------------------


def _opa_document(request: Request, path: str, document: dict[str, Any] | None) -> dict[str, Any]:
    """OPA semantics: ``{"result": value}`` when defined, ``{}`` when undefined."""
    dotted = ".".join(segment for segment in path.strip("/").split("/") if segment)
    pack = _catalogue(request).by_package_root(dotted)
    if pack is None:
        return {}
    local: Engine = request.app.state.local_engine
    check_representable(document or {})
    defined, value = local.document(pack, dotted, document or {})
    return {"result": value} if defined else {}


@router.post(
    "/v1/data/{path:path}",
    dependencies=[
        public("OPA-compatible evaluation of published packs; nothing is logged or changed")
    ],
    tags=["opa"],
    summary="OPA Data API: evaluate a document of a loaded pack with an input",
)
def opa_post_data(path: str, body: OpaDataRequest, request: Request) -> dict[str, Any]:
    return _opa_document(request, path, body.input)


@router.get(
    "/v1/data/{path:path}",
    dependencies=[public("OPA-compatible read of published packs; nothing is logged or changed")],
    tags=["opa"],
    summary="OPA Data API: read a document of a loaded pack (no input)",
)
def opa_get_data(path: str, request: Request) -> dict[str, Any]:
    return _opa_document(request, path, None)


def _opa_policy(pack: Pack, name: str, source: str) -> dict[str, Any]:
    package = package_of(source) or ""
    rules = sorted(set(_RULE_HEAD.findall(source)) - {"package", "import"})
    return {
        "id": f"{pack.manifest.id}/{pack.manifest.version}/{name}",
        "raw": source,
        "ast": {
            "package": {
                "path": [{"type": "var", "value": "data"}]
                + [{"type": "string", "value": part} for part in package.split(".")]
            },
            "rules": [{"head": {"name": rule}} for rule in rules],
        },
    }


@router.get(
    "/v1/policies",
    dependencies=[public("signed policy packs are published law: tariffs, rules")],
    tags=["opa"],
    summary="OPA Policy API: every loaded module",
)
@router.get(
    "/v1/policies/",
    dependencies=[public("signed policy packs are published law: tariffs, rules")],
    include_in_schema=False,
)  # opa-python-client's spelling
def opa_policies(request: Request) -> dict[str, Any]:
    return {
        "result": [
            _opa_policy(pack, name, source)
            for pack in _catalogue(request).packs
            for name, source in pack.modules.items()
        ]
    }


@router.get(
    "/v1/policies/{policy_id:path}",
    dependencies=[public("signed policy packs are published law: tariffs, rules")],
    tags=["opa"],
    summary="OPA Policy API: one module",
)
def opa_policy(policy_id: str, request: Request) -> dict[str, Any]:
    for pack in _catalogue(request).packs:
        for name, source in pack.modules.items():
            policy = _opa_policy(pack, name, source)
            if policy["id"] == policy_id:
                return {"result": policy}
    raise PackNotFound(f"no policy module {policy_id}")


@router.get(
    "/health",
    dependencies=[public("liveness probe (OPA-compatible)")],
    tags=["opa"],
    summary="OPA health check",
)
def opa_health() -> dict[str, Any]:
    return {}
