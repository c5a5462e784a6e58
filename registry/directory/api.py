"""The directory's HTTP API: DeDi's lookup/query, signed writes, did:web documents.

Reads are DeDi's: ``GET /dedi/lookup/{namespace}/{registry}/{record}`` (one record,
``{"message", "data": {..., "details", "network_memberships"}}``) and
``GET /dedi/query/{namespace}/{registry}`` (a registry, filterable, paginated).
Writes carry a detached JWS in ``DeDi-Signature`` over the exact body bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from kernel.access import public, signed
from kernel.pagination import Page
from kernel.problems import NotFound
from kernel.settings import ServiceSettings
from registry.directory.models import (
    AuditEntry,
    Namespace,
    NamespaceClaim,
    QueryEnvelope,
    RecordData,
    RecordEnvelope,
    RecordWrite,
    Registry,
    RegistryDraft,
    RegistryEnvelope,
    SubscriberView,
)
from registry.directory.proof import TxtRecordProof, WellKnownProof
from registry.directory.service import LOOKUP_TTL_SECONDS, Directory
from registry.directory.signing import HEADER
from registry.models import utc

router = APIRouter(tags=["directory"])
did_router = APIRouter(tags=["did:web"])

Signature = Annotated[str | None, Header(alias=HEADER, max_length=4000)]
Name = Annotated[str, Query(min_length=1, max_length=255)]
At = Annotated[datetime | None, Query(description="as of this instant (with time zone)")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=1000)]
Filter = Annotated[str | None, Query(min_length=1, max_length=255)]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or a cursor or identifier is malformed"},
    401: {"description": "The write is unsigned or its signature does not verify"},
    403: {"description": "The namespace is not proven, or the writer may not write this"},
    404: {"description": "No such namespace, registry or record"},
    409: {"description": "Conflicts with what exists (duplicate key id, replayed write)"},
    410: {"description": "The key is revoked, expired or not yet valid"},
    422: {"description": "The body fails its schema"},
}


class DirectorySettings(ServiceSettings):
    """The sandbox's DNS: which loopback base URL serves each domain, and TXT records."""

    model_config = SettingsConfigDict(env_prefix="IES_DIRECTORY_", extra="ignore")

    hosts: dict[str, str] = Field(default_factory=dict)
    txt_records: dict[str, list[str]] = Field(default_factory=dict)


def install_directory(
    app: FastAPI, engine: Engine, settings: DirectorySettings | None = None
) -> None:
    """Mount the directory on the registry's app, over the registry's database."""
    settings = settings or DirectorySettings()
    client = httpx.Client(timeout=5.0)
    app.state.directory = Directory(
        engine,
        {
            "well-known": WellKnownProof(settings.hosts, client),
            "txt": TxtRecordProof(settings.txt_records),
        },
    )
    app.include_router(router)
    app.include_router(did_router)


def _directory(request: Request) -> Directory:
    directory: Directory = request.app.state.directory
    return directory


def _aware(at: datetime | None) -> datetime | None:
    return utc(at) if at is not None else None


def _cached_json(request: Request, body: BaseModel, status: int = 200) -> Response:
    """JSON with an ETag and a max-age, so remote lookups revalidate cheaply."""
    payload = body.model_dump(mode="json")
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    etag = '"' + hashlib.blake2b(raw, digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": f"max-age={LOOKUP_TTL_SECONDS}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(raw, status_code=status, media_type="application/json", headers=headers)


# --------------------------------------------------------------------- namespaces


@router.post(
    "/dedi/namespaces",
    dependencies=[signed("dedi")],
    status_code=201,
    response_model=Namespace,
    summary="Claim a namespace for a domain; answers the challenge to publish",
    responses=PROBLEMS,
)
async def claim_namespace(
    claim: NamespaceClaim, request: Request, signature: Signature = None
) -> Any:
    """Signed with the owner key being registered (``kid`` = ``{namespace}#{owner_key_id}``)."""
    del claim  # validated above for the schema; the service re-reads the exact bytes
    body = await request.body()
    return await run_in_threadpool(_directory(request).claim, body, signature, request.url.path)


@router.post(
    "/dedi/namespaces/{namespace}/verify",
    dependencies=[public("the directory checks the domain's own published challenge")],
    response_model=Namespace,
    summary="Check that the domain publishes the challenge",
    responses=PROBLEMS,
)
async def verify_namespace(namespace: str, request: Request) -> Any:
    return await run_in_threadpool(_directory(request).verify_namespace, namespace)


@router.get(
    "/dedi/namespaces/{namespace}",
    dependencies=[public("DeDi reads are public by design")],
    response_model=Namespace,
    summary="One namespace",
    responses=PROBLEMS,
)
async def get_namespace(namespace: str, request: Request) -> Any:
    return await run_in_threadpool(_directory(request).namespace, namespace)


@router.get(
    "/dedi/namespaces/{namespace}/audit",
    dependencies=[public("DeDi reads are public by design")],
    response_model=list[AuditEntry],
    summary="Every change to a namespace, with the signature that made it",
    responses=PROBLEMS,
)
async def namespace_audit(
    namespace: str,
    request: Request,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Limit = 100,
) -> Any:
    return await run_in_threadpool(_directory(request).audit, namespace, after, limit)


@router.get(
    "/dedi/namespaces/{namespace}/registries",
    dependencies=[public("DeDi reads are public by design")],
    response_model=list[Registry],
    summary="The registries of a namespace",
    responses=PROBLEMS,
)
async def list_registries(namespace: str, request: Request) -> Any:
    return await run_in_threadpool(_directory(request).registries, namespace)


@router.post(
    "/dedi/namespaces/{namespace}/registries",
    dependencies=[signed("dedi")],
    status_code=201,
    response_model=Registry,
    summary="Create a registry (signed by the namespace owner)",
    responses=PROBLEMS,
)
async def create_registry(
    namespace: str, draft: RegistryDraft, request: Request, signature: Signature = None
) -> Any:
    del draft
    body = await request.body()
    return await run_in_threadpool(
        _directory(request).create_registry, namespace, body, signature, request.url.path
    )


@router.put(
    "/dedi/namespaces/{namespace}/registries/{registry}/records/{record}",
    dependencies=[signed("dedi")],
    response_model=RecordEnvelope,
    summary="Write the next version of a record (signed by the namespace owner)",
    responses=PROBLEMS,
)
async def put_record(
    namespace: str,
    registry: str,
    record: str,
    write: RecordWrite,
    request: Request,
    signature: Signature = None,
) -> Any:
    del write
    body = await request.body()
    data = await run_in_threadpool(
        _directory(request).put_record,
        namespace,
        registry,
        record,
        body,
        signature,
        request.url.path,
    )
    return RecordEnvelope(message="Record written", data=data)


@router.delete(
    "/dedi/namespaces/{namespace}/registries/{registry}/records/{record}",
    dependencies=[signed("dedi")],
    response_model=RecordEnvelope,
    summary="Withdraw a record (signed); its history stays",
    responses=PROBLEMS,
)
async def delete_record(
    namespace: str, registry: str, record: str, request: Request, signature: Signature = None
) -> Any:
    data = await run_in_threadpool(
        _directory(request).delete_record, namespace, registry, record, signature, request.url.path
    )
    return RecordEnvelope(message="Record withdrawn", data=data)


# --------------------------------------------------------------------- DeDi reads


@router.get(
    "/dedi/lookup/{namespace}/{registry}/{record}",
    dependencies=[public("DeDi reads are public by design")],
    response_model=RecordEnvelope,
    summary="One record (DeDi lookup); 404 means absent (for a revocation registry: valid)",
    responses={**PROBLEMS, 304: {"description": "Not modified (If-None-Match)"}},
)
async def lookup_record(
    namespace: str, registry: str, record: str, request: Request, at: At = None
) -> Any:
    data: RecordData = await run_in_threadpool(
        _directory(request).lookup, namespace, registry, record, _aware(at)
    )
    return _cached_json(request, RecordEnvelope(message="Record found", data=data))


@router.get(
    "/dedi/lookup/{namespace}/{registry}/{record}/versions",
    dependencies=[public("DeDi reads are public by design")],
    response_model=list[RecordData],
    summary="Every version of a record, oldest first",
    responses=PROBLEMS,
)
async def record_versions(namespace: str, registry: str, record: str, request: Request) -> Any:
    return await run_in_threadpool(_directory(request).versions, namespace, registry, record)


@router.get(
    "/dedi/lookup/{namespace}/{registry}",
    dependencies=[public("DeDi reads are public by design")],
    response_model=RegistryEnvelope,
    summary="A registry's metadata (DeDi registry lookup)",
    responses=PROBLEMS,
)
async def lookup_registry(namespace: str, registry: str, request: Request) -> Any:
    found: Registry = await run_in_threadpool(_directory(request).registry, namespace, registry)
    meta = {"record_type": found.record_type.value, "description": found.description}
    data = {**found.model_dump(mode="json"), "registry_name": found.name, "meta": meta}
    return _cached_json(request, RegistryEnvelope(message="Registry found", data=data))


@router.get(
    "/dedi/query/{namespace}/{registry}",
    dependencies=[public("DeDi reads are public by design")],
    response_model=QueryEnvelope,
    summary="A whole registry (DeDi query), filterable and cursor-paginated",
    responses=PROBLEMS,
)
async def query_registry(
    namespace: str,
    registry: str,
    request: Request,
    at: At = None,
    role: Filter = None,
    domain: Filter = None,
    state: Filter = None,
    status: Filter = None,
    participant_type: Filter = None,
    discom: Filter = None,
    member: Filter = None,
    subscriber_id: Filter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Any:
    given = {
        "role": role,
        "domain": domain,
        "state": state,
        "status": status,
        "participant_type": participant_type,
        "discom": discom and discom.upper(),
        "member": member,
        "subscriber_id": subscriber_id,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    data, next_cursor = await run_in_threadpool(
        lambda: _directory(request).query(
            namespace, registry, filters=filters, at=_aware(at), cursor=cursor, limit=limit
        )
    )
    return QueryEnvelope(message="Registry queried", data=data, next_cursor=next_cursor)


@router.get(
    "/dedi/subscribers",
    dependencies=[public("DeDi reads are public by design")],
    response_model=Page[SubscriberView],
    summary="Subscriber keys across namespaces, by network, role, domain and state",
    responses=PROBLEMS,
)
async def find_subscribers(
    request: Request,
    network: Filter = None,
    role: Filter = None,
    domain: Filter = None,
    state: Filter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Any:
    items, next_cursor = await run_in_threadpool(
        lambda: _directory(request).subscribers(
            network=network, role=role, domain=domain, state=state, cursor=cursor, limit=limit
        )
    )
    return Page[SubscriberView](items=items, next_cursor=next_cursor)


# --------------------------------------------------------------------- did:web


def _did_response(request: Request, path: str) -> JSONResponse:
    host = request.headers.get("host", "")
    document = _directory(request).did_document(host, path)
    if document is None:
        raise NotFound(f"no DID document for {host}{path}")
    return JSONResponse(document, media_type="application/did+json")


@did_router.get(
    "/.well-known/did.json",
    dependencies=[public("a did:web document is public by definition")],
    summary="The did:web document of the host asked for (Host header)",
    responses={404: {"description": "No participant keys under this host"}, 400: PROBLEMS[400]},
)
async def well_known_did(request: Request) -> JSONResponse:
    return await run_in_threadpool(_did_response, request, "/.well-known/did.json")


@did_router.get(
    "/{did_path:path}/did.json",
    dependencies=[public("a did:web document is public by definition")],
    summary="The did:web document of a path DID (did:web:host:a:b -> /a/b/did.json)",
    responses={
        404: {"description": "No participant keys under this host and path"},
        400: PROBLEMS[400],
    },
)
async def path_did(did_path: str, request: Request) -> JSONResponse:
    return await run_in_threadpool(_did_response, request, f"/{did_path}/did.json")
