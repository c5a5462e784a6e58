"""A block's supply and demand curves (their properties against the auction), and the
platform's records: clearings and statements kept as written, paginated, and still
there for a new platform process on the same database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.access import Principal, install_authenticator
from kernel.backoffice import install_backoffice
from kernel.database import create_db_engine
from kernel.service import install_problem_handlers
from protocol.market.auction import Block, Order, Side, clear_block
from protocol.market.curves import curves
from protocol.market.store import MarketStore
from sandbox.participants.p2p_book import OpenBook
from sandbox.participants.p2p_views import MIGRATIONS, Records, install_platform_views

DAY = date(2026, 11, 20)
BLOCK = Block(DAY, 45)

orders_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 5000).map(lambda wh: Decimal(wh) / 1000),
        st.integers(100, 1200).map(lambda paise: Decimal(paise) / 100),
    ),
    min_size=1,
    max_size=12,
)


def _orders(rows: list[tuple[Side, Decimal, Decimal]]) -> list[Order]:
    return [Order(f"o{i}", f"p{i}", s, BLOCK, q, p, i) for i, (s, q, p) in enumerate(rows)]


@settings(max_examples=200, deadline=None)
@given(orders_strategy)
def test_the_curves_cross_where_the_auction_clears(rows: list[tuple[Side, Decimal, Decimal]]):
    orders = _orders(rows)
    found = curves(orders)
    assert found.quantity_kwh[0] == 0
    assert found.quantity_kwh == sorted(set(found.quantity_kwh))
    demand = [p for p in found.demand if p is not None]
    supply = [p for p in found.supply if p is not None]
    assert demand == sorted(demand, reverse=True)  # demand falls with quantity
    assert supply == sorted(supply)  # supply rises
    clearing = clear_block(BLOCK, orders)
    if clearing.price_inr_per_kwh is None:
        return
    # Up to the cleared quantity, every step of demand is at or above the price and
    # every step of supply at or below it; the step just past it does not cross.
    for x, d, s in zip(found.quantity_kwh, found.demand, found.supply, strict=True):
        if x < clearing.quantity_kwh:
            assert d is not None
            assert s is not None
            assert d >= clearing.price_inr_per_kwh >= s
    after = [
        (d, s)
        for x, d, s in zip(found.quantity_kwh, found.demand, found.supply, strict=True)
        if x == clearing.quantity_kwh
    ]
    d, s = after[0]
    total_bids = sum((o.quantity_kwh for o in orders if o.side is Side.BUY), Decimal(0))
    total_asks = sum((o.quantity_kwh for o in orders if o.side is Side.SELL), Decimal(0))
    if clearing.quantity_kwh < min(total_bids, total_asks):
        assert d is not None
        assert s is not None
        assert d < s


def _take(market: OpenBook, order: Order) -> None:
    """Taken as the platform takes a prosumer's order (here unsigned: the records keep
    what they are given; tests/market/test_order_book.py signs them)."""
    market.take(order.id, lambda _seq: order, "did:key:z", order.id.encode(), "-")


def _platform(url: str) -> tuple[TestClient, Records, OpenBook]:
    from kernel.migrations import upgrade

    engine = create_db_engine(url)
    upgrade(engine, MIGRATIONS)  # already at head: a restarted platform's upgrade
    records = Records(MarketStore(engine))
    market = OpenBook(records)
    app = FastAPI()
    install_problem_handlers(app)
    install_platform_views(app, records, market)
    # The read side is the platform's back office (kernel.backoffice): its own tool reads.
    owner = "p2p.example"
    tool = Principal(kind="participant", subject=owner, organisation=owner)
    install_backoffice(app, owner)
    install_authenticator(app, lambda r: tool if r.headers.get("authorization") else None)
    return TestClient(app, headers={"authorization": "Bearer the platform's tool"}), records, market


def _clear(market: OpenBook, records: Records) -> dict[str, Any]:
    books = market.clearing(DAY)
    clearings = [clear_block(b, orders) for b, orders in sorted(books.items())]
    result = {
        "day": DAY.isoformat(),
        "blocks": [
            {
                "block": str(c.block),
                "price_inr_per_kwh": None
                if c.price_inr_per_kwh is None
                else str(c.price_inr_per_kwh),
                "quantity_kwh": str(c.quantity_kwh),
                "trades": [
                    {"trade_id": t.id, "quantity_kwh": str(t.quantity_kwh)} for t in c.trades
                ],
            }
            for c in clearings
        ],
    }
    market.cleared(result, books)
    return result


def test_cleared_blocks_and_statements_are_kept_and_survive_a_restart(make_database):
    url = make_database(MIGRATIONS)
    client, records, market = _platform(url)
    for n, (side, kwh, price) in enumerate(
        [(Side.SELL, "2", "5.00"), (Side.BUY, "1.5", "7.00"), (Side.BUY, "1", "4.00")]
    ):
        _take(market, Order(f"o{n}", f"p{n}", side, BLOCK, Decimal(kwh), Decimal(price), n))
    _take(market, Order("late", "p9", Side.SELL, Block(DAY, 46), Decimal(1), Decimal(3), 9))
    open_only = client.get("/platform/blocks", params={"day": DAY.isoformat()}).json()
    assert [(b["number"], b["status"]) for b in open_only["items"]] == [(45, "open"), (46, "open")]

    _clear(market, records)
    records.settled(DAY, [
        {"party": "p0", "discom": "d.example", "netInr": "8.25", "lines": []},
        {"party": "p1", "discom": "d.example", "netInr": "-8.25", "lines": []},
        {"party": "d.example", "discom": None, "netInr": "0.00", "lines": []},
    ])  # fmt: skip
    _take(market, Order("open", "p8", Side.BUY, Block(DAY, 47), Decimal(1), Decimal(3), 10))
    assert client.get(f"/platform/blocks/{DAY.isoformat()}/47").json()["status"] == "open"
    block = client.get(f"/platform/blocks/{DAY.isoformat()}/45").json()
    assert block["status"] == "cleared"
    assert (block["price_inr_per_kwh"], block["quantity_kwh"]) == ("6.00", "1.5")
    assert [o["id"] for o in block["bids"]] == ["o1", "o2"]
    assert [o["id"] for o in block["asks"]] == ["o0"]
    assert block["curves"] == {
        "quantity_kwh": ["0", "1.5", "2", "2.5"],
        "demand_inr_per_kwh": ["7.00", "4.00", "4.00", "4.00"],
        "supply_inr_per_kwh": ["5.00", "5.00", "5.00", None],
    }

    # A new process on the same database: the records are there, and the open book.
    client, _records, _market = _platform(url)
    page = client.get("/platform/blocks", params={"day": DAY.isoformat(), "limit": 1}).json()
    assert [b["number"] for b in page["items"]] == [45]
    assert page["items"][0]["price_inr_per_kwh"] == "6.00"
    unmatched = client.get(f"/platform/blocks/{DAY.isoformat()}/46").json()
    assert (unmatched["status"], unmatched["price_inr_per_kwh"]) == ("cleared", None)
    kept = client.get(f"/platform/blocks/{DAY.isoformat()}/47").json()
    assert (kept["status"], [o["id"] for o in kept["bids"]]) == ("open", ["open"])
    assert client.get(f"/platform/blocks/{DAY.isoformat()}/48").status_code == 404
    first = client.get("/platform/statements", params={"day": DAY.isoformat(), "limit": 2}).json()
    rest = client.get(
        "/platform/statements",
        params={"day": DAY.isoformat(), "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    parties = [s["party"] for s in first["items"] + rest["items"]]
    assert parties == ["d.example", "p0", "p1"]
    assert rest["next_cursor"] is None
    mine = client.get("/platform/statements", params={"party": "p0"}).json()["items"]
    assert [(s["netInr"], s["version"]) for s in mine] == [("8.25", 1)]
    # A cursor of another query is refused.
    wrong = client.get(
        "/platform/statements", params={"party": "p1", "cursor": first["next_cursor"]}
    )
    assert wrong.status_code == 400


def test_settling_again_replaces_the_statements_and_counts_a_version(make_database):
    client, records, _market = _platform(make_database(MIGRATIONS))
    records.settled(
        DAY,
        [
            {"party": "p0", "discom": "d", "netInr": "1.00", "lines": []},
            {"party": "p1", "discom": "d", "netInr": "-1.00", "lines": []},
        ],
    )
    records.settled(DAY, [{"party": "p0", "discom": "d", "netInr": "0.50", "lines": []}])
    items = client.get("/platform/statements", params={"day": DAY.isoformat()}).json()["items"]
    assert [(s["party"], s["netInr"], s["version"]) for s in items] == [("p0", "0.50", 2)]
