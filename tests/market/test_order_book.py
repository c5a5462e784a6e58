"""The platform's open order book is kept: orders signed by their prosumers, taken as
the platform takes them (:class:`OpenBook`), are still there for a new platform
process on the same database, clear to the same result, are idempotent on a re-post,
and are cleared once."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.did import did_key_for
from credentials.keys import KeyAlgorithm
from kernel.access import Principal, install_authenticator
from kernel.backoffice import install_backoffice
from kernel.database import create_db_engine
from kernel.migrations import upgrade
from kernel.service import install_problem_handlers
from protocol.market.auction import (
    Block,
    Clearing,
    Order,
    OrderBook,
    OrderRefused,
    Side,
    clear_block,
)
from protocol.market.store import MarketStore, OrdersAlreadyCleared
from sandbox.participants.p2p import OrderIn, holder_signed
from sandbox.participants.p2p_book import OpenBook
from sandbox.participants.p2p_views import MIGRATIONS, Records, install_platform_views

DAY = date(2026, 11, 21)
OWNER = "p2p.example"  # the platform: its read side is its own back office
TOOL = Principal(kind="participant", subject=OWNER, organisation=OWNER)


@dataclass
class Prosumer:
    key: Ed25519PrivateKey
    holder: str
    party: str

    def sign(self, order: dict[str, Any]) -> tuple[bytes, str]:
        body = json.dumps({**order, "holder": self.holder}, separators=(",", ":")).encode()
        return body, base64.urlsafe_b64encode(self.key.sign(body)).decode().rstrip("=")


def _prosumer(party: str) -> Prosumer:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    return Prosumer(key, did_key_for(KeyAlgorithm.ED25519, raw), party)


SELLERS = [_prosumer(f"s{i}") for i in range(3)]
BUYERS = [_prosumer(f"b{i}") for i in range(3)]
# (block, who, side, kWh, price): two crossing blocks, one that does not cross.
ORDERS = [
    (45, SELLERS[0], "SELL", "2", "4.50"),
    (45, SELLERS[1], "SELL", "1.5", "5.00"),
    (45, BUYERS[0], "BUY", "1", "6.00"),
    (45, BUYERS[1], "BUY", "2.25", "5.20"),
    (46, SELLERS[2], "SELL", "3", "3.10"),
    (46, BUYERS[2], "BUY", "0.5", "3.50"),
    (46, BUYERS[0], "BUY", "1.2", "3.05"),
    (47, SELLERS[0], "SELL", "1", "9.00"),
    (47, BUYERS[1], "BUY", "1", "2.00"),
]


class Platform:
    """A platform process: its database, its open book, its read side over HTTP."""

    def __init__(self, url: str) -> None:
        engine = create_db_engine(url)
        upgrade(engine, MIGRATIONS)  # at head already for a restarted one
        self.records = Records(MarketStore(engine))
        self.book = OpenBook(self.records)
        app = FastAPI()
        install_problem_handlers(app)
        install_platform_views(app, self.records, self.book)
        install_backoffice(app, OWNER)
        install_authenticator(app, lambda r: TOOL if r.headers.get("authorization") else None)
        self.client = TestClient(app, headers={"authorization": "Bearer the platform's tool"})
        self.engine = engine

    def post(self, who: Prosumer, body: bytes, signature: str) -> Order:
        """What ``Platform.order`` does with a posted order: the signature, the body
        parsed, then the book (the prosumer's registry id from its onboarding)."""
        assert holder_signed(who.holder, body, signature)
        parsed = OrderIn.model_validate_json(body)

        def make(seq: int) -> Order:
            return Order(parsed.id, who.party, parsed.side, Block(parsed.day, parsed.block),
                         Decimal(parsed.quantity_kwh), Decimal(parsed.price_inr_per_kwh),
                         seq)  # fmt: skip

        return self.book.take(parsed.id, make, parsed.holder, body, signature)

    def clear(self) -> list[Clearing]:
        books = self.book.clearing(DAY)
        clearings = [clear_block(b, orders) for b, orders in sorted(books.items())]
        self.book.cleared(_result(clearings), books)
        return clearings

    def blocks(self) -> list[dict[str, Any]]:
        return [
            self.client.get(f"/platform/blocks/{DAY.isoformat()}/{n}").json() for n in (45, 46, 47)
        ]

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


def _result(clearings: list[Clearing]) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {"day": DAY.isoformat(), "blocks": [{
        "block": str(c.block), "price_inr_per_kwh": text(c.price_inr_per_kwh),
        "quantity_kwh": str(c.quantity_kwh),
        "trades": [{"trade_id": t.id, "quantity_kwh": str(t.quantity_kwh)} for t in c.trades],
    } for c in clearings]}  # fmt: skip


def _signed() -> list[tuple[Prosumer, bytes, str]]:
    out = []
    for n, (block, who, side, kwh, price) in enumerate(ORDERS):
        body, signature = who.sign({
            "id": f"o{n}", "side": side, "day": DAY.isoformat(), "block": block,
            "quantityKwh": kwh, "priceInrPerKwh": price})  # fmt: skip
        out.append((who, body, signature))
    return out


def _post_all(platform: Platform) -> list[Order]:
    return [platform.post(who, body, signature) for who, body, signature in _signed()]


def test_the_open_book_survives_a_restart_and_clears_the_same(make_database):
    control = Platform(make_database(MIGRATIONS))  # never restarted
    _post_all(control)
    expected = control.clear()
    assert [c.price_inr_per_kwh for c in expected] == [Decimal("5.10"), Decimal("3.30"), None]

    url = make_database(MIGRATIONS)
    first = Platform(url)
    taken = _post_all(first)
    assert [o.seq for o in taken] == list(range(1, len(ORDERS) + 1))
    before = first.blocks()
    assert [b["status"] for b in before] == ["open", "open", "open"]
    first.close()

    again = Platform(url)  # a new process on the same database
    assert again.blocks() == before
    assert [again.book.book.orders(Block(DAY, n)) for n in (45, 46, 47)] == [
        [o for o in taken if o.block.number == n] for n in (45, 46, 47)
    ]
    # Each kept order is what its prosumer signed: the signature verifies again, and
    # the signed body says what the book holds.
    for row, (who, body, signature) in zip(
        again.records.store.open_orders(), _signed(), strict=True
    ):
        assert (row.body, row.signature, row.holder) == (body, signature, who.holder)
        assert holder_signed(row.holder, row.body, row.signature)
        parsed = OrderIn.model_validate_json(row.body)
        assert (parsed.id, parsed.quantity_kwh, parsed.price_inr_per_kwh) == (
            row.id, row.quantity_kwh, row.price_inr_per_kwh)  # fmt: skip
    # Arrival order continues where it was.
    late, signature = BUYERS[2].sign({"id": "late", "side": "BUY", "day": DAY.isoformat(),
                                      "block": 48, "quantityKwh": "1",
                                      "priceInrPerKwh": "1.00"})  # fmt: skip
    assert again.post(BUYERS[2], late, signature).seq == len(ORDERS) + 1

    assert again.clear()[:3] == expected
    cleared = again.blocks()
    assert [b["status"] for b in cleared] == ["cleared", "cleared", "cleared"]
    assert [b["price_inr_per_kwh"] for b in cleared] == ["5.10", "3.30", None]
    assert again.records.store.open_orders() == []
    again.close()
    assert Platform(url).book.book.blocks() == []  # nothing left open after a restart


def test_a_repost_of_the_same_order_is_idempotent(make_database):
    url = make_database(MIGRATIONS)
    platform = Platform(url)
    (who, body, signature), *_ = _signed()
    first = platform.post(who, body, signature)
    assert platform.post(who, body, signature) == first  # same answer, same seq
    assert platform.book.book.orders(first.block) == [first]
    # Another order under a taken id is refused, and changes nothing.
    other, other_signature = who.sign({"id": "o0", "side": "SELL", "day": DAY.isoformat(),
                                       "block": 45, "quantityKwh": "9",
                                       "priceInrPerKwh": "1.00"})  # fmt: skip
    with pytest.raises(OrderRefused, match="taken by another order"):
        platform.post(who, other, other_signature)
    assert platform.book.book.orders(first.block) == [first]
    assert len(platform.records.store.open_orders()) == 1
    platform.close()

    restarted = Platform(url)
    assert restarted.post(who, body, signature) == first
    assert restarted.book.book.orders(first.block) == [first]
    restarted.clear()
    # A re-post of an order already cleared is answered as taken and not re-opened.
    assert restarted.post(who, body, signature) == first
    assert restarted.book.book.blocks() == []
    assert restarted.records.store.open_orders() == []


def test_clearing_twice_does_not_clear_an_order_twice(make_database):
    url = make_database(MIGRATIONS)
    platform = Platform(url)
    _post_all(platform)
    cleared = platform.clear()
    recorded = platform.blocks()
    assert platform.clear() == []  # nothing open for the day any more
    assert platform.blocks() == recorded
    # A cleared block takes no more orders.
    late, signature = BUYERS[2].sign({"id": "late", "side": "BUY", "day": DAY.isoformat(),
                                      "block": 45, "quantityKwh": "1",
                                      "priceInrPerKwh": "9.00"})  # fmt: skip
    with pytest.raises(OrderRefused, match="cleared"):
        platform.post(BUYERS[2], late, signature)
    assert platform.records.known("late") is None

    # Another process on the same database with a stale book (say it loaded before the
    # clearing) cannot record a clearing of the same orders: nothing is written.
    stale = Platform(make_database(MIGRATIONS))
    _post_all(stale)
    stale.records = platform.records
    stale.book.records = platform.records
    books = stale.book.clearing(DAY)
    again = [clear_block(b, orders) for b, orders in sorted(books.items())]
    assert again == cleared
    with pytest.raises(OrdersAlreadyCleared):
        stale.book.cleared(_result(again), books)
    stale.book.put_back(books, OrdersAlreadyCleared("test"))
    assert stale.book.book.blocks() == []  # marked elsewhere: not put back
    assert platform.blocks() == recorded


def test_a_clearing_that_fails_before_it_is_recorded_leaves_the_orders_open(make_database):
    url = make_database(MIGRATIONS)
    platform = Platform(url)
    taken = _post_all(platform)
    books = platform.book.clearing(DAY)
    assert platform.book.book.blocks() == []  # out of the book while being cleared
    late, signature = BUYERS[2].sign({"id": "late", "side": "BUY", "day": DAY.isoformat(),
                                      "block": 46, "quantityKwh": "1",
                                      "priceInrPerKwh": "9.00"})  # fmt: skip
    with pytest.raises(OrderRefused, match="cleared"):  # being cleared: closed
        platform.post(BUYERS[2], late, signature)
    platform.book.put_back(books, RuntimeError("the policy service is down"))
    assert sorted(
        o.id for b in platform.book.book.blocks() for o in platform.book.book.orders(b)
    ) == (sorted(o.id for o in taken))
    assert [o.id for o in platform.records.open_orders()] == [o.id for o in taken]
    assert [c.price_inr_per_kwh for c in platform.clear()] == [
        Decimal("5.10"), Decimal("3.30"), None]  # fmt: skip


book_orders = st.lists(
    st.tuples(
        st.integers(45, 47),  # block
        st.integers(0, 4),  # party
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(0, 6),  # order id (repeats: duplicates)
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(book_orders)
def test_check_refuses_what_add_refuses_and_take_empties_a_block(
    rows: list[tuple[int, int, Side, int]],
) -> None:
    book = OrderBook()
    accepted: list[Order] = []
    for seq, (number, party, side, oid) in enumerate(rows, start=1):
        order = Order(f"o{oid}", f"p{party}", side, Block(DAY, number), Decimal(1),
                      Decimal(5), seq)  # fmt: skip
        before = {b: book.orders(b) for b in book.blocks()}
        try:
            book.check(order)
        except OrderRefused:
            assert {b: book.orders(b) for b in book.blocks()} == before  # unchanged
            with pytest.raises(OrderRefused):
                book.add(order)
            continue
        assert {b: book.orders(b) for b in book.blocks()} == before
        book.add(order)
        accepted.append(order)
    for block in list(book.blocks()):
        taken = book.take(block)
        assert taken == [o for o in accepted if o.block == block]  # in arrival order
        assert block not in book.blocks()
        assert book.take(block) == []
        for order in taken:  # put back (a failed clearing): the ids are free again
            book.add(order)
        assert book.orders(block) == taken
