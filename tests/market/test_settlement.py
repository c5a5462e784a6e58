"""Settlement: delivered against contracted per party per block, and the books balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.market.auction import Block, Trade
from protocol.market.settlement import Metered, settle

B1 = Block(date(2026, 11, 20), 45)
B2 = Block(date(2026, 11, 20), 46)
DISCOMS = {"s": "mh", "b": "mh", "c": "ka"}
RATES = {"mh": Decimal("2.50"), "ka": Decimal("3.00")}


def test_a_seller_short_of_its_sale_pays_the_deviation_to_its_discom():
    trades = [Trade(B1, "bid", "ask", "b", "s", Decimal("1.000"), Decimal("5.75"))]
    metered = {("s", B1): Metered(Decimal("0.600"), Decimal("0")),
               ("b", B1): Metered(Decimal("0"), Decimal("1.200"))}  # fmt: skip
    statements = settle(trades, metered, DISCOMS, RATES)
    (sale,) = statements["s"].lines
    assert (sale.delivered_kwh, sale.shortfall_kwh) == (Decimal("0.600"), Decimal("0.400"))
    assert sale.energy_inr == Decimal("5.75")
    assert sale.deviation_inr == Decimal("-1.00")
    (purchase,) = statements["b"].lines
    assert purchase.shortfall_kwh == 0
    assert purchase.energy_inr == Decimal("-5.75")
    assert statements["mh"].deviation_received_inr == Decimal("1.00")
    assert sum(s.net_inr for s in statements.values()) == 0


def test_no_meter_record_is_no_delivery():
    trades = [Trade(B2, "bid", "ask", "c", "s", Decimal("0.5"), Decimal("6.00"))]
    statements = settle(trades, {}, DISCOMS, RATES)
    (line,) = statements["s"].lines
    assert line.metered_kwh is None
    assert line.shortfall_kwh == Decimal("0.5")
    assert statements["c"].lines[0].deviation_inr == Decimal("-1.50")
    assert statements["ka"].deviation_received_inr == Decimal("1.50")


parties = st.sampled_from(sorted(DISCOMS))
amounts = st.integers(min_value=1, max_value=9999).map(lambda n: Decimal(n) / 1000)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(parties, parties, st.sampled_from([B1, B2]), amounts,
                       st.integers(300, 1200).map(lambda p: Decimal(p) / 100)), max_size=12),
    st.dictionaries(st.tuples(parties, st.sampled_from([B1, B2])),
                    st.tuples(amounts, amounts), max_size=6),
)  # fmt: skip
def test_settlement_sums_balance(raw_trades, raw_metered):
    trades = [Trade(block, f"b{n}", f"a{n}", buyer, seller, kwh, price)
              for n, (seller, buyer, block, kwh, price) in enumerate(raw_trades)
              if seller != buyer]  # fmt: skip
    metered = {key: Metered(*value) for key, value in raw_metered.items()}
    statements = settle(trades, metered, DISCOMS, RATES)
    assert sum((s.net_inr for s in statements.values()), Decimal(0)) == 0
    parties_ = [s for s in statements.values() if s.discom is not None]
    received = sum((line.energy_inr for s in parties_ for line in s.lines if line.role == "seller"),
                   Decimal(0))  # fmt: skip
    paid = sum((line.energy_inr for s in parties_ for line in s.lines if line.role == "buyer"),
               Decimal(0))  # fmt: skip
    assert received == -paid
    for statement in parties_:
        for line in statement.lines:
            assert line.delivered_kwh + line.shortfall_kwh == line.contracted_kwh
            assert 0 <= line.delivered_kwh <= line.contracted_kwh
            if line.metered_kwh is not None:
                assert line.delivered_kwh <= line.metered_kwh
