"""The ledger's HTTP API, mounted on the registry's app (``install_ledger``).

Writes are signed (``DeDi-Signature``) by the writing participant's directory key and
verified over the exact body bytes; reads are open to the network's participants and
paged by cursor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from kernel.access import requires, signed
from kernel.migrations import upgrade
from kernel.pagination import Page
from kernel.problems import InvalidRequest, problem_responses
from registry.directory.keys import KeyLookup
from registry.directory.signing import HEADER
from registry.ledger.models import (
    MeterBlockOut,
    MeterBlocksIn,
    MeterWriteReport,
    TradeIn,
    TradeOut,
    valid_block_start,
)
from registry.ledger.service import Ledger, LedgerWriters

MIGRATIONS = "registry.ledger:migrations"
PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
Signature = Annotated[str | None, Header(alias=HEADER, max_length=4000)]
Instant = Annotated[str | None, Query(max_length=40)]

# Reads are for the network's participants (and the console), each with a machine token.
LEDGER_READ = requires("ledger:read")

router = APIRouter(prefix="/ledger", tags=["trade ledger and export/import records"])


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _instant(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return valid_block_start(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name} is not a block boundary",
            errors=[{"location": name, "message": str(exc), "type": "block_start"}],
        ) from exc


@router.post(
    "/trades",
    dependencies=[signed("dedi")],
    status_code=201,
    response_model=TradeOut,
    summary="Record a trade the platform executed (signed by the platform; idempotent)",
    responses={200: {"description": "Already recorded: the same trade"}, **PROBLEMS},
)
async def record_trade(
    trade: TradeIn, request: Request, response: Response, signature: Signature = None
) -> Any:
    ledger = _ledger(request)
    body = await request.body()
    writer = await run_in_threadpool(ledger.authenticate, signature, "POST", request.url.path, body)
    recorded, created = await run_in_threadpool(ledger.record_trade, writer, trade)
    if not created:
        response.status_code = 200
    return recorded


@router.get("/trades", response_model=Page[TradeOut], summary="Trades, oldest first",
            dependencies=[LEDGER_READ], responses=PROBLEMS)  # fmt: skip
def list_trades(
    request: Request,
    party: Annotated[str | None, Query(max_length=255)] = None,
    platform: Annotated[str | None, Query(max_length=255)] = None,
    since: Instant = None,
    until: Instant = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return _ledger(request).trades(
        party=party, platform=platform, since=_instant(since, "since"),
        until=_instant(until, "until"), limit=limit, cursor=cursor,
    )  # fmt: skip


@router.get("/trades/{trade}", response_model=TradeOut, summary="One trade",
            dependencies=[LEDGER_READ],
            responses=PROBLEMS)  # fmt: skip
def get_trade(trade: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request) -> Any:
    return _ledger(request).trade(trade)


@router.post(
    "/meter-blocks",
    dependencies=[signed("dedi")],
    response_model=MeterWriteReport,
    summary="Record meters' export/import per block (signed by their discom; idempotent; "
    "other values for a recorded block are a correction, kept as a new version)",
    responses=PROBLEMS,
)
async def record_meter_blocks(
    batch: MeterBlocksIn, request: Request, signature: Signature = None
) -> Any:
    ledger = _ledger(request)
    body = await request.body()
    writer = await run_in_threadpool(ledger.authenticate, signature, "POST", request.url.path, body)
    return await run_in_threadpool(ledger.record_meter_blocks, writer, batch)


@router.get(
    "/meter-blocks",
    dependencies=[LEDGER_READ],
    response_model=Page[MeterBlockOut],
    summary="Export/import per meter and block: the current versions, or every version "
    "(history=true)",
    responses=PROBLEMS,
)
def list_meter_blocks(
    request: Request,
    meter: Annotated[str | None, Query(max_length=255)] = None,
    discom: Annotated[str | None, Query(max_length=255)] = None,
    since: Instant = None,
    until: Instant = None,
    history: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return _ledger(request).meter_blocks(
        meter=meter, discom=discom, since=_instant(since, "since"),
        until=_instant(until, "until"), history=history, limit=limit, cursor=cursor,
    )  # fmt: skip


def install_ledger(app: FastAPI, engine: Engine, keys: KeyLookup, writers: LedgerWriters) -> None:
    """Mount the ledger on a registry app, over its database, verifying writers'
    signatures through ``keys`` (the directory)."""
    upgrade(engine, MIGRATIONS)
    app.state.ledger = Ledger(engine, keys, writers)
    app.include_router(router)
