"""A block's aggregate demand and supply curves, as the auction walks them.

Demand: the bids from the highest price down, supply: the asks from the lowest price
up (ties in the auction's own priority), each a step function of the cumulative
quantity. Both are sampled on one grid, every breakpoint of either curve, which is
what a chart needs to draw the two as steps on one quantity axis: at a grid point
``x`` a curve's value is the price of the order that serves the quantity just after
``x`` (the step that starts there), at its own total the last order's price (so the
last step is drawn to its end), and None beyond. Where the curves cross is the
block's clearing quantity; the clearing price lies between them there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from protocol.market.auction import Order, Side, _priority


@dataclass(frozen=True, slots=True)
class Curves:
    quantity_kwh: list[Decimal]  # the grid, ascending, from 0
    demand: list[Decimal | None]  # the bid price at each grid point
    supply: list[Decimal | None]  # the ask price at each grid point


def _steps(orders: Sequence[Order]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(from, to, price) of each order along the cumulative quantity."""
    out = []
    at = Decimal(0)
    for order in orders:
        out.append((at, at + order.quantity_kwh, order.price_inr_per_kwh))
        at += order.quantity_kwh
    return out


def _price_at(steps: list[tuple[Decimal, Decimal, Decimal]], x: Decimal) -> Decimal | None:
    for start, end, price in steps:
        if start <= x < end:
            return price
    if steps and x == steps[-1][1]:
        return steps[-1][2]
    return None


def curves(orders: Iterable[Order]) -> Curves:
    listed = list(orders)
    bids = sorted((o for o in listed if o.side is Side.BUY), key=_priority)
    asks = sorted((o for o in listed if o.side is Side.SELL), key=_priority)
    demand, supply = _steps(bids), _steps(asks)
    grid = sorted({Decimal(0)} | {s[1] for s in demand} | {s[1] for s in supply})
    return Curves(grid, [_price_at(demand, x) for x in grid], [_price_at(supply, x) for x in grid])
