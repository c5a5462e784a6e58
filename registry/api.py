"""The registry's HTTP API: translates HTTP to service calls and back, nothing more."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from kernel.access import Forbidden, Principal, public, requires
from kernel.database import session_scope
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import InvalidRequest, problem_responses
from registry import service
from registry.errors import ImportFormatError, ImportRejected, InvalidIdentifier
from registry.identifiers import EntityType, parse_id
from registry.models import (
    CODE_PATTERN,
    Address,
    Identity,
    IdentityDraft,
    Instant,
    IsoDate,
    LegacyMapping,
    LegacyRef,
    LegacyScheme,
    PersonalRecord,
    QueryInstant,
    Relation,
)
from registry.ownership import DISCOM_ROLE, REGISTRY_ADMIN, WriterScope
from registry.rows import check_utf8, parse_rows, read_csv, read_ndjson
from registry.store import Window

router = APIRouter(tags=["registry"], responses=problem_responses(400, 404, 409, 413, 422))
IST = ZoneInfo("Asia/Kolkata")


# Every write names its writer: a discom writes only its own discom's records.
Writer = Annotated[Principal, requires("registry:write")]


def writer_scope(principal: Principal) -> WriterScope:
    """The discoms whose records ``principal`` may write: those its token ties it to
    (roles ``discom:<code>``, issued by the directory from the operator's record), or
    every discom for the registry's operator (scope ``registry:admin``). A writer tied
    to no discom writes nothing."""
    if principal.has_scope(REGISTRY_ADMIN):
        return WriterScope(None, principal.organisation)
    codes = {r[len(DISCOM_ROLE) :] for r in principal.roles if r.startswith(DISCOM_ROLE)}
    codes.discard("")
    if not codes:
        raise Forbidden(
            "registry writes are scoped to a discom, and this caller's token names none "
            "(the directory's participant_role record of a discom lists its discoms)"
        )
    return WriterScope.of_discoms(codes, principal.organisation)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _window(at: datetime | None, on: date | None) -> Window:
    """``at``: one instant; ``on``: the whole day in India Standard Time."""
    if at is not None and on is not None:
        raise InvalidIdentifier("ask about one instant (at) or one day (on), not both")
    try:
        if on is not None:
            start = datetime.combine(on, time(0), IST)
            return Window(start, start + timedelta(days=1))
        instant = at or datetime.now(IST)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=IST)
        return Window(instant, instant + timedelta(microseconds=1))
    except OverflowError:  # 0001-01-01 in IST is still year 0 in UTC
        raise InvalidRequest("the day or instant falls outside the years 1-9999 in UTC") from None


class IdentityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: Address | None = None
    attributes: dict[str, Any] | None = None


class LegacyIdRequest(LegacyRef):
    model_config = ConfigDict(extra="forbid", frozen=True)

    valid_from: Instant | None = None


class RelationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: str = Field(min_length=1, max_length=64)
    valid_from: Instant | None = None


class ImportReportBody(BaseModel):
    job_id: str
    status: Literal["completed", "rejected"]
    rows: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[dict[str, Any]]
    errors_truncated: bool


class HistoryEvent(BaseModel):
    seq: int
    at: datetime
    kind: str
    detail: dict[str, Any]


@router.post(
    "/identities",
    status_code=201,
    response_model=Identity,
    summary="Issue a new identity",
    responses={409: {"description": "A legacy identifier is already mapped"}},
)
def create_identity(
    draft: IdentityDraft,
    request: Request,
    response: Response,
    who: Writer,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Issue a persistent identifier. Send an ``Idempotency-Key`` to retry safely."""
    scope = writer_scope(who)
    # Before a replay: another discom's identical request gets no stored answer either.
    scope.check(draft.address.discom, f"the new {draft.type.value}")
    with session_scope(_engine(request)) as session:
        digest = service.request_digest(draft.model_dump(mode="json"))
        if idempotency_key:
            replay = service.replay_idempotent(session, idempotency_key, digest)
            if replay is not None:
                status, body = replay
                return JSONResponse(
                    body, status_code=status, headers={"Location": f"/identities/{body['id']}"}
                )
        identity = service.create_identity(session, draft, scope=scope)
        body = identity.model_dump(mode="json")
        if idempotency_key:
            service.remember_idempotent(session, idempotency_key, digest, 201, body)
    response.headers["Location"] = f"/identities/{identity.id}"
    return identity


@router.get(
    "/identities",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=Page[Identity],
    summary="Search and list identities",
)
def list_identities(
    request: Request,
    type: EntityType | None = None,
    state: str | None = Query(default=None, max_length=8),
    discom: str | None = Query(default=None, max_length=32),
    circle: str | None = Query(default=None, max_length=80),
    division: str | None = Query(default=None, max_length=80),
    subdivision: str | None = Query(default=None, max_length=80),
    pincode: str | None = Query(default=None, pattern=r"^[0-9]{6}$"),
    under: str | None = Query(
        default=None, max_length=64, description="an ancestor in the topology"
    ),
    at: QueryInstant | None = Query(default=None, description="topology as of this instant"),
    on: IsoDate | None = Query(default=None, description="topology on this day (IST)"),
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = Query(default=None, max_length=512),
) -> Page[Identity]:
    """List identities by address and by topology, e.g. the meters under feeder F on day D."""
    address = {
        k: v
        for k, v in {
            "state": state and state.upper(),
            "discom": discom,
            "circle": circle,
            "division": division,
            "subdivision": subdivision,
            "pincode": pincode,
        }.items()
        if v is not None
    }
    filters = {"type": type, **address, "under": under, "at": at, "on": on}
    after = decode_cursor(cursor, filters)[0] if cursor else None
    window = _window(at, on) if under is not None else None
    with session_scope(_engine(request)) as session:
        items = service.search(
            session,
            entity_type=type,
            address=address,
            under=under,
            window=window,
            after=after,
            limit=limit,
        )
    next_cursor = encode_cursor([items[-1].id], filters) if len(items) == limit else None
    return Page[Identity](items=items, next_cursor=next_cursor)


@router.get(
    "/identities/{ies_id}",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=Identity,
    summary="One identity",
)
def get_identity(ies_id: str, request: Request) -> Identity:
    with session_scope(_engine(request)) as session:
        return service.get_identity(session, ies_id)


@router.patch(
    "/identities/{ies_id}",
    response_model=Identity,
    summary="Change address or attributes",
)
def patch_identity(ies_id: str, patch: IdentityPatch, request: Request, who: Writer) -> Identity:
    scope = writer_scope(who)
    with session_scope(_engine(request)) as session:
        return service.update_identity(
            session, ies_id, address=patch.address, attributes=patch.attributes, scope=scope
        )


@router.delete(
    "/identities/{ies_id}",
    response_model=Identity,
    summary="Retire an identity",
)
def retire_identity(ies_id: str, request: Request, who: Writer) -> Identity:
    """Identifiers are never deleted or reused: retiring keeps the history."""
    scope = writer_scope(who)
    with session_scope(_engine(request)) as session:
        return service.retire_identity(session, ies_id, scope=scope)


@router.get(
    "/identities/{ies_id}/legacy-ids",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=list[LegacyMapping],
    summary="The legacy identifiers of an identity (IES -> legacy)",
)
def legacy_ids(ies_id: str, request: Request) -> list[LegacyMapping]:
    with session_scope(_engine(request)) as session:
        return service.legacy_ids_of(session, ies_id)


@router.post(
    "/identities/{ies_id}/legacy-ids",
    status_code=201,
    response_model=LegacyMapping,
    summary="Map one more legacy identifier to an identity",
)
def add_legacy_id(
    ies_id: str, body: LegacyIdRequest, request: Request, who: Writer
) -> LegacyMapping:
    scope = writer_scope(who)
    ref = LegacyRef(scheme=body.scheme, scope=body.scope, value=body.value)
    with session_scope(_engine(request)) as session:
        return service.add_legacy_id(session, ies_id, ref, body.valid_from, scope=scope)


@router.get(
    "/identities/{ies_id}/relations",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=list[Relation],
    summary="Where an entity sat in the network, with history",
)
def relations(ies_id: str, request: Request) -> list[Relation]:
    with session_scope(_engine(request)) as session:
        return service.relations_of(session, ies_id)


@router.post(
    "/identities/{ies_id}/relations",
    status_code=201,
    response_model=Relation,
    summary="Put an entity under a parent from a date",
)
def relate(ies_id: str, body: RelationRequest, request: Request, who: Writer) -> Relation:
    scope = writer_scope(who)
    with session_scope(_engine(request)) as session:
        return service.relate(session, ies_id, body.parent, body.valid_from, scope=scope)


@router.get(
    "/identities/{ies_id}/children",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=list[Relation],
    summary="What sat directly under an entity at an instant or on a day",
)
def children(
    ies_id: str,
    request: Request,
    at: QueryInstant | None = None,
    on: IsoDate | None = None,
) -> list[Relation]:
    with session_scope(_engine(request)) as session:
        return service.children_of(session, ies_id, _window(at, on))


@router.get(
    "/identities/{ies_id}/history",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=Page[HistoryEvent],
    summary="The audit trail of an identity",
)
def history(
    ies_id: str,
    request: Request,
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = Query(default=None, max_length=512),
) -> Page[HistoryEvent]:
    filters = {"id": ies_id}
    after = int(decode_cursor(cursor, filters)[0]) if cursor else None
    with session_scope(_engine(request)) as session:
        events = [HistoryEvent(**e) for e in service.history_of(session, ies_id, after, limit)]
    next_cursor = encode_cursor([events[-1].seq], filters) if len(events) == limit else None
    return Page[HistoryEvent](items=events, next_cursor=next_cursor)


@router.get(
    "/identities/{ies_id}/personal",
    dependencies=[requires("registry:personal")],
    response_model=PersonalRecord,
    summary="A consumer's personal attributes (kept apart from the identity graph)",
)
def get_personal(ies_id: str, request: Request) -> PersonalRecord:
    with session_scope(_engine(request)) as session:
        return service.get_personal(session, ies_id)


@router.put(
    "/identities/{ies_id}/personal",
    response_model=PersonalRecord,
    summary="Set a consumer's personal attributes",
)
def put_personal(
    ies_id: str, record: PersonalRecord, request: Request, who: Writer
) -> PersonalRecord:
    scope = writer_scope(who)
    with session_scope(_engine(request)) as session:
        return service.put_personal(session, ies_id, record, scope=scope)


@router.get(
    "/resolve",
    dependencies=[public("registry reads: opaque identifiers and topology, no personal data")],
    response_model=LegacyMapping,
    summary="Legacy identifier -> IES identity",
)
def resolve(
    request: Request,
    scheme: LegacyScheme,
    scope: str = Query(min_length=1, max_length=32, pattern=CODE_PATTERN),
    value: str = Query(min_length=1, max_length=64),
    at: QueryInstant | None = None,
    type: EntityType | None = Query(default=None, description="when one number names several"),
) -> LegacyMapping:
    ref = LegacyRef(scheme=scheme, scope=scope, value=value)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=IST)
    with session_scope(_engine(request)) as session:
        return service.resolve_legacy(session, ref, at, type)


_FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
}


@router.post(
    "/imports",
    response_model=ImportReportBody,
    summary="Bulk import a CSV or NDJSON file (streamed, idempotent)",
    responses={
        400: {"description": "The file as a whole cannot be read"},
        422: {"description": "An atomic import met broken rows; nothing was written"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_file(
    request: Request,
    who: Writer,
    atomic: bool = False,
    source: str = Query(default="upload", max_length=200),
    valid_from: QueryInstant | None = Query(
        default=None, description="the date of rows that carry none (default: now)"
    ),
) -> ImportReportBody:
    """Every good row is kept and every bad row reported by line; ``atomic=true`` keeps
    nothing unless every row is good. Re-sending the same file changes nothing. A row
    touching another discom's records is a bad row (``foreign-discom``, field
    ``discom``): reported and not written, or, atomic, the whole file rejected."""
    scope = writer_scope(who)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(content_type)
    if fmt is None:
        raise ImportFormatError(
            f"send text/csv or application/x-ndjson, not {content_type or 'no content type'}"
        )
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed below
    try:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        engine = _engine(request)
        batch_size = request.app.state.settings.import_batch_size
        if valid_from is not None and valid_from.tzinfo is None:
            valid_from = valid_from.replace(tzinfo=IST)
        report = await run_in_threadpool(
            _run_import, engine, spool, fmt, source, atomic, batch_size, valid_from, scope
        )
    finally:
        spool.close()
    body = ImportReportBody(**report.to_dict())
    if report.status == "rejected":
        raise ImportRejected(
            f"{report.failed} row(s) are broken; nothing was imported", report=body.model_dump()
        )
    return body


def _text_lines(binary: Any) -> Iterator[str]:
    check_utf8(binary)
    yield from io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _run_import(
    engine: Engine,
    binary: Any,
    fmt: str,
    source: str,
    atomic: bool,
    batch_size: int,
    valid_from: datetime | None,
    scope: WriterScope,
) -> service.ImportReport:
    lines = _text_lines(binary)
    rows = read_csv(lines) if fmt == "csv" else read_ndjson(lines)
    with session_scope(engine) as session:
        return service.import_rows(
            session,
            parse_rows(rows),
            source=source,
            fmt=fmt,
            atomic=atomic,
            batch_size=batch_size,
            valid_from=valid_from,
            scope=scope,
        )


@router.get(
    "/imports/{job_id}",
    response_model=ImportReportBody,
    summary="An import's report",
)
def get_import(job_id: str, request: Request, who: Writer) -> ImportReportBody:
    scope = writer_scope(who)
    with session_scope(_engine(request)) as session:
        return ImportReportBody(**service.get_import(session, job_id, scope=scope).to_dict())


@router.get(
    "/export",
    dependencies=[requires("registry:personal")],
    summary="Every identity as import rows (NDJSON or CSV), streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export(
    request: Request,
    type: EntityType | None = None,
    format: Literal["ndjson", "csv"] = "ndjson",
) -> StreamingResponse:
    engine = _engine(request)

    def ndjson() -> Iterator[bytes]:
        with session_scope(engine) as session:
            for row in service.export_rows(session, type):
                yield (json.dumps(row, separators=(",", ":")) + "\n").encode()

    def as_csv() -> Iterator[bytes]:
        # Columns are fixed up front so every row lines up: the plain ones, then attr./parent.
        with session_scope(engine) as session:
            rows = service.export_rows(session, type)
            columns = export_columns(type)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode()

    if format == "csv":
        return StreamingResponse(as_csv(), media_type="text/csv")
    return StreamingResponse(ndjson(), media_type="application/x-ndjson")


def export_columns(entity_type: EntityType | None) -> list[str]:
    from registry.models import ATTRIBUTE_MODELS
    from registry.topology import ALLOWED_PARENTS

    types = [entity_type] if entity_type else list(EntityType)
    attrs = sorted({f for t in types for f in ATTRIBUTE_MODELS[t].model_fields})
    parents = sorted({p.value for t in types for p in ALLOWED_PARENTS[t]})
    return [
        "id",
        "type",
        "legacy_scheme",
        "legacy_scope",
        "legacy_id",
        "valid_from",
        "state",
        "discom",
        "circle",
        "division",
        "subdivision",
        "pincode",
        "lat",
        "lon",
        *(f"attr.{a}" for a in attrs),
        *(f"parent.{p}" for p in parents),
    ]


def canonical(ies_id: str) -> str:
    return str(parse_id(ies_id))
