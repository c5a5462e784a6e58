"""The P2P platform's pages: a day's blocks (orders taken, cleared price and quantity),
one block's order book with its supply and demand curves and clearing price, and the
settlement statements as the platform stored them when it settled.

Everything comes from the platform's read API (``/platform/blocks``,
``/platform/statements``, :mod:`sandbox.participants.p2p_views`) and the registry's
trade ledger; the charts' numbers ride on the chart's ``data-points`` attribute (no
inline script: the console's CSP allows scripts from itself only).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from adapters.synthetic import IST
from sandbox.console.sources import Json, Upstream
from sandbox.console.view import Console, _error_page, _ist, render

router: APIRouter = APIRouter()


def _number(value: str | None) -> float | None:
    return None if value is None else float(value)


def blocks_chart(blocks: list[Json]) -> Json:
    """Traded energy and cleared price per cleared block (HH:MM IST labels)."""
    cleared = [b for b in blocks if b["status"] == "cleared"]
    return {
        "labels": [_ist(b["start"])[11:] for b in cleared],
        "kwh": [float(b["quantity_kwh"] or 0) for b in cleared],
        "price": [_number(b["price_inr_per_kwh"]) for b in cleared],
    }


def curves_chart(block: Json) -> Json:
    """The block's demand and supply steps on one quantity axis, and its clearing."""
    curves = block["curves"]
    price = _number(block.get("price_inr_per_kwh"))
    grid = [float(x) for x in curves["quantity_kwh"]]
    return {
        "quantity": grid,
        "demand": [_number(p) for p in curves["demand_inr_per_kwh"]],
        "supply": [_number(p) for p in curves["supply_inr_per_kwh"]],
        "price": [price for _ in grid] if price is not None else [None for _ in grid],
        "cleared_kwh": _number(block.get("quantity_kwh")),
    }


def _default_day(console: Console) -> str:
    """The latest day with a trade in the ledger (the P2P use case trades a past day),
    else today (IST)."""
    trades = console.net.trades(limit=100_000)
    if trades:
        latest = max(t["block_start"] for t in trades)
        return datetime.fromisoformat(latest).astimezone(IST).date().isoformat()
    return datetime.now(IST).date().isoformat()


@router.get("/p2p", summary="The platform: a day's blocks, orders, cleared prices, trades")
def p2p_platform(request: Request, day: Annotated[date | None, Query()] = None) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("p2p")
    try:
        chosen = day.isoformat() if day else _default_day(console)
        blocks = console.net.platform_blocks(chosen)
        trades = [
            t
            for t in console.net.trades()
            if datetime.fromisoformat(t["block_start"]).astimezone(IST).date().isoformat() == chosen
        ]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    for b in blocks:
        b["time"] = _ist(b["start"])[11:]
    for t in trades:
        t["block"] = _ist(t["block_start"])
    data = {"day": chosen, "blocks": blocks, "trades": trades}
    return render(request, "p2p.html", data, persona=persona, view={"chart": blocks_chart(blocks)})


@router.get("/p2p/blocks/{day}/{number}", summary="One block: order book, curves, clearing")
def p2p_block(request: Request, day: date, number: Annotated[int, Path(ge=1, le=96)]) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("p2p")
    try:
        block = console.net.platform_block(day.isoformat(), number)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    block["time"] = _ist(block["start"])
    return render(
        request, "p2p_block.html", {"block": block}, persona=persona,
        view={"chart": curves_chart(block)},
    )  # fmt: skip


@router.get("/p2p/statements", summary="Settlement statements per party, as settled")
def p2p_statements(request: Request, day: Annotated[date | None, Query()] = None) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("p2p")
    try:
        chosen = day.isoformat() if day else _default_day(console)
        statements = console.net.statements(day=chosen)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    parties = [s for s in statements if s.get("discom")]
    discoms = [s for s in statements if not s.get("discom")]
    balance = str(sum((Decimal(s["netInr"]) for s in statements), Decimal(0)))
    data = {"day": chosen, "parties": parties, "discoms": discoms, "balance_inr": balance}
    return render(request, "p2p_statements.html", data, persona=persona)
