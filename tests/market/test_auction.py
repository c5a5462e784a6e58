"""The uniform-price double auction: the rule in its docstring, and its properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.market.auction import Block, Order, OrderBook, OrderRefused, Side, clear_block

BLOCK = Block(date(2026, 11, 20), 45)


def order(id_: str, side: Side, kwh: str, price: str, seq: int = 0, party: str = "") -> Order:
    return Order(id_, party or f"p-{id_}", side, BLOCK, Decimal(kwh), Decimal(price), seq)


def test_the_marginal_pair_sets_one_price_for_every_trade():
    orders = [
        order("b1", Side.BUY, "2", "8.00", 1),
        order("b2", Side.BUY, "1", "6.00", 2),
        order("b3", Side.BUY, "1", "4.00", 3),
        order("a1", Side.SELL, "1.5", "5.00", 4),
        order("a2", Side.SELL, "2", "5.50", 5),
    ]
    clearing = clear_block(BLOCK, orders)
    # b1 (2) takes a1 (1.5) and 0.5 of a2; b2 (1) takes 1 of a2; b3 at 4.00 < 5.50 stops.
    assert [(t.bid_id, t.ask_id, t.quantity_kwh) for t in clearing.trades] == [
        ("b1", "a1", Decimal("1.5")),
        ("b1", "a2", Decimal("0.5")),
        ("b2", "a2", Decimal("1")),
    ]
    assert clearing.price_inr_per_kwh == Decimal("5.75")  # (6.00 + 5.50) / 2
    assert clearing.quantity_kwh == Decimal("3")
    assert {t.price_inr_per_kwh for t in clearing.trades} == {Decimal("5.75")}


def test_orders_that_do_not_cross_trade_nothing():
    clearing = clear_block(BLOCK, [order("b", Side.BUY, "1", "4.00"),
                                   order("a", Side.SELL, "1", "4.01")])  # fmt: skip
    assert clearing.trades == ()
    assert clearing.price_inr_per_kwh is None


def test_equal_prices_go_by_time_then_id():
    orders = [
        order("a-late", Side.SELL, "1", "5.00", 9),
        order("a-early", Side.SELL, "1", "5.00", 1),
        order("b", Side.BUY, "1", "6.00", 3),
    ]
    (trade,) = clear_block(BLOCK, orders).trades
    assert trade.ask_id == "a-early"
    reordered = clear_block(BLOCK, list(reversed(orders)))
    assert reordered.trades == clear_block(BLOCK, orders).trades


def test_the_book_refuses_bad_orders():
    book = OrderBook()
    book.add(order("b", Side.BUY, "1", "6.00", party="x"))
    with pytest.raises(OrderRefused):
        book.add(order("b", Side.BUY, "1", "6.00", party="y"))  # the same id again
    with pytest.raises(OrderRefused):
        book.add(order("a", Side.SELL, "1", "5.00", party="x"))  # both sides in one block
    with pytest.raises(OrderRefused):
        order("c", Side.BUY, "0", "6.00")
    with pytest.raises(OrderRefused):
        order("c", Side.BUY, "1", "6.005")  # not whole paise
    with pytest.raises(OrderRefused):
        Block(date(2026, 11, 20), 97)


prices = st.integers(min_value=100, max_value=1500).map(lambda p: Decimal(p) / 100)
kwh = st.integers(min_value=1, max_value=5000).map(lambda q: Decimal(q) / 1000)


@st.composite
def books(draw: st.DrawFn) -> list[Order]:
    count = draw(st.integers(min_value=0, max_value=14))
    return [
        Order(
            f"o{n}",
            f"p{n}",
            draw(st.sampled_from(Side)),
            BLOCK,
            draw(kwh),
            draw(prices),
            draw(st.integers(min_value=0, max_value=5)),
        )
        for n in range(count)
    ]


@settings(max_examples=300, deadline=None)
@given(books())
def test_clearing_is_rational_balanced_and_only_between_crossing_orders(orders: list[Order]):
    clearing = clear_block(BLOCK, orders)
    by_id = {o.id: o for o in orders}
    bought: dict[str, Decimal] = {}
    sold: dict[str, Decimal] = {}
    for trade in clearing.trades:
        bid, ask = by_id[trade.bid_id], by_id[trade.ask_id]
        assert bid.side is Side.BUY
        assert ask.side is Side.SELL
        assert bid.price_inr_per_kwh >= ask.price_inr_per_kwh  # only crossing orders trade
        assert trade.price_inr_per_kwh == clearing.price_inr_per_kwh  # one price
        assert ask.price_inr_per_kwh <= trade.price_inr_per_kwh <= bid.price_inr_per_kwh
        assert trade.quantity_kwh > 0
        bought[bid.id] = bought.get(bid.id, Decimal(0)) + trade.quantity_kwh
        sold[ask.id] = sold.get(ask.id, Decimal(0)) + trade.quantity_kwh
    for order_id, quantity in {**bought, **sold}.items():
        assert quantity <= by_id[order_id].quantity_kwh  # never more than ordered
    assert sum(bought.values(), Decimal(0)) == sum(sold.values(), Decimal(0))
    assert clearing.quantity_kwh == sum(bought.values(), Decimal(0))
    # Efficiency: after clearing no unfilled bid still crosses an unfilled ask.
    open_bids = [o for o in orders if o.side is Side.BUY
                 and bought.get(o.id, Decimal(0)) < o.quantity_kwh]  # fmt: skip
    open_asks = [o for o in orders if o.side is Side.SELL
                 and sold.get(o.id, Decimal(0)) < o.quantity_kwh]  # fmt: skip
    if open_bids and open_asks:
        best_bid = max(o.price_inr_per_kwh for o in open_bids)
        best_ask = min(o.price_inr_per_kwh for o in open_asks)
        assert best_bid < best_ask
