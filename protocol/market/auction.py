"""A uniform-price double auction per 15-minute block, as power exchanges clear.

Each block is cleared on its own. Bids (buy orders) are sorted by price descending,
asks (sell orders) by price ascending; among equal prices the earlier order (lower
``seq``) goes first, and then the smaller order id, so the outcome never depends on
the order of the input list. Walking both lists from the top, the best remaining bid
is matched with the best remaining ask for the smaller of their remaining quantities
while the bid's price is at least the ask's; an order left with a remainder is
partially filled and stays first in its list.

Clearing quantity: everything matched in that walk (the quantity where the aggregate
demand and supply curves cross). Clearing price: the midpoint of the marginal
(last matched) bid and ask prices, rounded half-even to the paisa. Every order is
priced in whole paise, so the rounded midpoint stays inside [marginal ask, marginal
bid]: no matched seller gets less than its ask and no matched buyer pays more than
its bid (individual rationality), and every trade of a block is at the same price.
Orders that do not cross trade nothing.

A party may not post both a bid and an ask in one block (it would be trading with
itself through the book); the book refuses it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

PAISA = Decimal("0.01")
WATT_HOUR = Decimal("0.001")  # quantities in kWh, to the Wh
BLOCKS_PER_DAY = 96


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderRefused(ValueError):
    """An order the book will not take, with the reason."""


@dataclass(frozen=True, slots=True, order=True)
class Block:
    """A 15-minute delivery block: ``number`` 1..96 of ``day`` (IST, as the grid counts)."""

    day: date
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= BLOCKS_PER_DAY:
            raise OrderRefused(f"block {self.number} is not one of 1..{BLOCKS_PER_DAY}")

    def __str__(self) -> str:
        return f"{self.day.isoformat()}#{self.number}"


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    party: str  # the prosumer (its registry id)
    side: Side
    block: Block
    quantity_kwh: Decimal
    price_inr_per_kwh: Decimal  # the limit: the most a buyer pays, the least a seller takes
    seq: int  # arrival order on the platform (time priority)

    def __post_init__(self) -> None:
        if self.quantity_kwh <= 0 or self.quantity_kwh != self.quantity_kwh.quantize(WATT_HOUR):
            raise OrderRefused(f"{self.id}: the quantity must be positive, in whole Wh")
        if self.price_inr_per_kwh <= 0 or self.price_inr_per_kwh != (
            self.price_inr_per_kwh.quantize(PAISA)
        ):
            raise OrderRefused(f"{self.id}: the price must be positive, in whole paise")


@dataclass(frozen=True, slots=True)
class Trade:
    """One matched pair: the seller's ask filled against the buyer's bid."""

    block: Block
    bid_id: str
    ask_id: str
    buyer: str
    seller: str
    quantity_kwh: Decimal
    price_inr_per_kwh: Decimal

    @property
    def id(self) -> str:
        return f"{self.block}:{self.ask_id}:{self.bid_id}"


@dataclass(frozen=True, slots=True)
class Clearing:
    """A block's outcome: its price and quantity and the trades at that price."""

    block: Block
    price_inr_per_kwh: Decimal | None  # None: nothing crossed
    quantity_kwh: Decimal
    trades: tuple[Trade, ...]


class OrderBook:
    """The open orders of every block, as the platform took them: a block's orders leave
    the book when the block is taken for clearing (:meth:`take`)."""

    def __init__(self) -> None:
        self._orders: dict[Block, list[Order]] = defaultdict(list)
        self._ids: set[str] = set()

    def check(self, order: Order) -> None:
        """Raise :class:`OrderRefused` if :meth:`add` would refuse ``order`` (the book is
        not changed), so a caller can keep the order elsewhere before adding it."""
        if order.id in self._ids:
            raise OrderRefused(f"order {order.id} is already in the book")
        for other in self._orders.get(order.block, ()):
            if other.party == order.party and other.side != order.side:
                raise OrderRefused(
                    f"{order.party} already {other.side.lower()}s in block {order.block}"
                )

    def add(self, order: Order) -> None:
        self.check(order)
        self._orders[order.block].append(order)
        self._ids.add(order.id)

    def take(self, block: Block) -> list[Order]:
        """Remove ``block``'s orders from the book and return them (to be cleared)."""
        orders = self._orders.pop(block, [])
        self._ids.difference_update(o.id for o in orders)
        return orders

    def blocks(self) -> list[Block]:
        return sorted(self._orders)

    def orders(self, block: Block) -> list[Order]:
        return list(self._orders.get(block, []))

    def clear(self) -> list[Clearing]:
        return [clear_block(block, self._orders[block]) for block in self.blocks()]


def _priority(order: Order) -> tuple[Decimal, int, str]:
    price = -order.price_inr_per_kwh if order.side is Side.BUY else order.price_inr_per_kwh
    return (price, order.seq, order.id)


def clear_block(block: Block, orders: Iterable[Order]) -> Clearing:
    """Clear one block (see the module docstring for the rule)."""
    bids = sorted((o for o in orders if o.side is Side.BUY and o.block == block), key=_priority)
    asks = sorted((o for o in orders if o.side is Side.SELL and o.block == block), key=_priority)
    matched: list[tuple[Order, Order, Decimal]] = []
    i = j = 0
    left_bid = bids[0].quantity_kwh if bids else Decimal(0)
    left_ask = asks[0].quantity_kwh if asks else Decimal(0)
    while i < len(bids) and j < len(asks):
        bid, ask = bids[i], asks[j]
        if bid.price_inr_per_kwh < ask.price_inr_per_kwh:
            break
        quantity = min(left_bid, left_ask)
        matched.append((bid, ask, quantity))
        left_bid -= quantity
        left_ask -= quantity
        if left_bid == 0:
            i += 1
            left_bid = bids[i].quantity_kwh if i < len(bids) else Decimal(0)
        if left_ask == 0:
            j += 1
            left_ask = asks[j].quantity_kwh if j < len(asks) else Decimal(0)
    if not matched:
        return Clearing(block, None, Decimal(0), ())
    marginal_bid, marginal_ask, _ = matched[-1]
    price = ((marginal_bid.price_inr_per_kwh + marginal_ask.price_inr_per_kwh) / 2).quantize(
        PAISA, rounding=ROUND_HALF_EVEN
    )
    trades = tuple(
        Trade(block, bid.id, ask.id, bid.party, ask.party, quantity, price)
        for bid, ask, quantity in matched
    )
    return Clearing(block, price, sum((t.quantity_kwh for t in trades), Decimal(0)), trades)
