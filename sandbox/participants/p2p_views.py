"""The P2P platform's read side: its order book per block, what each block cleared,
and the settlement statements, for the platform's operator and the console.

* ``GET /platform/blocks?day=`` the day's blocks (the cleared ones as recorded, the
  ones with open orders from the live book), paginated by block number;
* ``GET /platform/blocks/{day}/{number}`` one block: its bids and asks, the demand and
  supply curves the auction walked, the clearing price and quantity, every trade with
  the policy decision on it;
* ``GET /platform/statements?day=&party=`` the settlement statements as the platform
  settled them, paginated.

Clearings and statements are records (:mod:`protocol.market.store`), written by the
platform when it clears and settles (:class:`Records`) and read here as written: a
read recomputes nothing, and a restarted platform still shows them. Open orders are
kept too (:class:`Records` writes each as it is taken, :mod:`p2p_book` loads them
again on start), so an uncleared block is still there after a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, FastAPI, Path, Query

from adapters.synthetic import IST
from kernel.backoffice import backoffice
from kernel.database import to_db
from kernel.migrations import upgrade
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import Problem
from protocol.market.auction import Block, Order, OrderBook, Side
from protocol.market.curves import curves
from protocol.market.store import BlockRow, MarketStore, OrderRow, block_json, statement_json

MIGRATIONS = "protocol.market:migrations"
# The platform's operator desk reads these (prosumers named by registry id only): the
# platform's own back office (kernel.backoffice); a prosumer's own statements also
# answer the console acting for that prosumer (``party`` = their registry id).
READ_ACCESS = backoffice()
OWN_STATEMENTS = backoffice(consumer="party")


class BlockNotFound(Problem):
    slug = "p2p-block-not-found"
    title = "The platform holds no orders for that block"
    status = 404
    beckn_code = "40400"
    description = "No order was taken for the block and none was cleared (or the day is wrong)."


class LiveMarket(Protocol):
    """What the read side needs of the platform's in-memory market."""

    book: OrderBook
    lock: threading.Lock


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "party": order.party,
        "side": order.side.value,
        "quantity_kwh": str(order.quantity_kwh),
        "price_inr_per_kwh": str(order.price_inr_per_kwh),
        "seq": order.seq,
    }


def order_of(row: Mapping[str, Any], block: Block) -> Order:
    return Order(
        str(row["id"]),
        str(row["party"]),
        Side(row["side"]),
        block,
        Decimal(row["quantity_kwh"]),
        Decimal(row["price_inr_per_kwh"]),
        int(row["seq"]),
    )


def _order_of_row(row: OrderRow) -> Order:
    block = Block(date.fromisoformat(row.day), row.number)
    return order_of(row.model_dump(include={"id", "party", "side", "quantity_kwh",
                                            "price_inr_per_kwh", "seq"}), block)  # fmt: skip


def block_start(block: Block) -> datetime:
    midnight = datetime(block.day.year, block.day.month, block.day.day, tzinfo=IST)
    return midnight + timedelta(minutes=15 * (block.number - 1))


def is_posted(trade: Mapping[str, Any]) -> bool:
    """A cleared trade whose postings are done: decided, and in the ledger if allowed."""
    decision = trade.get("decision")
    return isinstance(decision, Mapping) and (not decision.get("allow") or "ledger" in trade)


class Records:
    """What the platform writes when it clears a day and when it settles one."""

    def __init__(self, store: MarketStore) -> None:
        self.store = store

    def take_order(self, order: Order, holder: str, body: bytes, signature: str) -> None:
        """Keep an order the platform takes, with the bytes ``holder`` signed."""
        self.store.take_order(
            OrderRow(
                id=order.id,
                holder=holder,
                party=order.party,
                side=order.side.value,
                day=order.block.day.isoformat(),
                number=order.block.number,
                quantity_kwh=str(order.quantity_kwh),
                price_inr_per_kwh=str(order.price_inr_per_kwh),
                seq=order.seq,
                body=body,
                signature=signature,
                taken_at=to_db(datetime.now(UTC)),
            )
        )

    def known(self, order_id: str) -> tuple[Order, bytes] | None:
        """The order kept under ``order_id`` (open or cleared) and the bytes signed."""
        row = self.store.order(order_id)
        return None if row is None else (_order_of_row(row), row.body)

    def open_orders(self) -> list[Order]:
        return [_order_of_row(row) for row in self.store.open_orders()]

    def last_seq(self) -> int:
        return self.store.last_seq()

    def is_cleared(self, block: Block) -> bool:
        return self.store.block(str(block)) is not None

    def cleared(self, result: Mapping[str, Any], books: Mapping[Block, Iterable[Order]]) -> None:
        """Keep each block of a clearing result (the auction's trades, before anything
        is decided or posted: :mod:`p2p_clearing`) with the orders it was cleared from,
        and mark those orders cleared, in one transaction
        (:class:`protocol.market.store.OrdersAlreadyCleared` if one was already). A
        block whose trades are all posted already (or has none) is kept as posted."""
        now = datetime.now(UTC)
        posted = to_db(now)
        rows: list[BlockRow] = []
        marked: dict[str, list[str]] = {}
        for entry in result["blocks"]:
            day, number = str(entry["block"]).split("#")
            block = Block(date.fromisoformat(day), int(number))
            orders = list(books.get(block, ()))
            marked[str(block)] = [o.id for o in orders]
            rows.append(
                BlockRow(
                    id=str(block),
                    day=day,
                    number=block.number,
                    start=to_db(block_start(block)),
                    price_inr_per_kwh=entry["price_inr_per_kwh"],
                    quantity_kwh=str(entry["quantity_kwh"]),
                    orders=[order_json(o) for o in orders],
                    trades=list(entry["trades"]),
                    cleared_at=to_db(now),
                    posted_at=posted if all(map(is_posted, entry["trades"])) else None,
                )
            )
        self.store.keep_clearing(rows, marked)

    def settled(self, day: date, statements: list[dict[str, Any]]) -> None:
        self.store.keep_statements(day.isoformat(), statements, datetime.now(UTC))


def _summary(block: Block, orders: list[Order], row: BlockRow | None) -> dict[str, Any]:
    bids = [o for o in orders if o.side is Side.BUY]
    return {
        "block": str(block),
        "number": block.number,
        "start": block_start(block).isoformat(),
        "status": "cleared" if row is not None else "open",
        # False: its trades' decisions and ledger postings are not all done yet.
        "posted": row is not None and row.posted_at is not None,
        "bids": len(bids),
        "asks": len(orders) - len(bids),
        "price_inr_per_kwh": row.price_inr_per_kwh if row is not None else None,
        "quantity_kwh": row.quantity_kwh if row is not None else None,
        "trades": len(row.trades) if row is not None else 0,
    }


def _curves_json(orders: list[Order]) -> dict[str, Any]:
    found = curves(orders)

    def text(values: list[Decimal | None]) -> list[str | None]:
        return [None if v is None else str(v) for v in values]

    return {
        "quantity_kwh": [str(x) for x in found.quantity_kwh],
        "demand_inr_per_kwh": text(found.demand),
        "supply_inr_per_kwh": text(found.supply),
    }


def views_router(records: Records, market: LiveMarket) -> APIRouter:
    router = APIRouter(prefix="/platform", tags=["P2P trading platform"])
    store = records.store

    def live(day: date) -> dict[Block, list[Order]]:
        with market.lock:
            return {b: market.book.orders(b) for b in market.book.blocks() if b.day == day}

    @router.get(
        "/blocks",
        response_model=Page[dict[str, Any]],
        dependencies=[READ_ACCESS],
        summary="A day's blocks: orders taken, cleared price and quantity",
    )
    def blocks(
        day: Annotated[date, Query(description="the delivery day (IST)")],
        limit: Annotated[int, Query(ge=1, le=96)] = 96,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
    ) -> Page[dict[str, Any]]:
        filters = {"day": day.isoformat()}
        after = int(decode_cursor(cursor, filters)[0]) if cursor else 0
        books = live(day)
        stored = {r.number: r for r in store.blocks(day.isoformat(), None, 96)}
        numbers = sorted(set(stored) | {b.number for b in books})
        chosen = [n for n in numbers if n > after][:limit]
        items = []
        for n in chosen:
            block = Block(day, n)
            row = stored.get(n)
            orders = [order_of(o, block) for o in row.orders] if row is not None else books[block]
            items.append(_summary(block, orders, row))
        more = len(chosen) == limit and any(n > chosen[-1] for n in numbers)
        next_cursor = encode_cursor([chosen[-1]], filters) if more else None
        return Page[dict[str, Any]](items=items, next_cursor=next_cursor)

    @router.get(
        "/blocks/{day}/{number}",
        dependencies=[READ_ACCESS],
        summary="One block: its bids and asks, the supply and demand curves, the clearing",
    )
    def block(day: date, number: Annotated[int, Path(ge=1, le=96)]) -> dict[str, Any]:
        found = Block(day, number)
        row = store.block(str(found))
        if row is not None:
            orders = [order_of(o, found) for o in row.orders]
            out = block_json(row)
        else:
            orders = live(day).get(found, [])
            if not orders:
                raise BlockNotFound(f"no orders for block {found}")
            out = {
                "block": str(found),
                "day": day.isoformat(),
                "number": number,
                "start": block_start(found).isoformat(),
                "price_inr_per_kwh": None,
                "quantity_kwh": None,
                "orders": [order_json(o) for o in orders],
                "trades": [],
                "cleared_at": None,
            }
        bids = [o for o in out["orders"] if o["side"] == Side.BUY.value]
        asks = [o for o in out["orders"] if o["side"] == Side.SELL.value]
        return {
            **out,
            "status": "cleared" if row is not None else "open",
            "bids": sorted(bids, key=lambda o: (-Decimal(o["price_inr_per_kwh"]), o["seq"])),
            "asks": sorted(asks, key=lambda o: (Decimal(o["price_inr_per_kwh"]), o["seq"])),
            "curves": _curves_json(orders),
        }

    @router.get(
        "/statements",
        response_model=Page[dict[str, Any]],
        dependencies=[OWN_STATEMENTS],
        summary="Settlement statements as the platform settled them (per party, per day)",
    )
    def statements(
        day: Annotated[date | None, Query(description="the settled day (IST)")] = None,
        party: Annotated[str | None, Query(max_length=255)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
    ) -> Page[dict[str, Any]]:
        filters = {"day": day.isoformat() if day else None, "party": party}
        after: tuple[str, str] | None = None
        if cursor:
            key = decode_cursor(cursor, filters)
            after = (str(key[0]), str(key[1]))
        rows = store.statements(filters["day"], party, after, limit)
        next_cursor = (
            encode_cursor([rows[-1].day, rows[-1].party], filters) if len(rows) == limit else None
        )
        items = [statement_json(r) for r in rows]
        return Page[dict[str, Any]](items=items, next_cursor=next_cursor)

    return router


def platform_records(app: FastAPI) -> Records:
    """The platform's records in its own database (its tables brought up to date)."""
    upgrade(app.state.engine, MIGRATIONS)
    return Records(MarketStore(app.state.engine))


def install_platform_views(app: FastAPI, records: Records, market: LiveMarket) -> None:
    app.include_router(views_router(records, market))
