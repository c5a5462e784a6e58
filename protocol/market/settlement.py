"""Settlement of P2P trades against what the meters recorded, per party per block.

Trades are firm contracts at the block's clearing price: the buyer pays the seller
``quantity x price`` for what was contracted, whatever the meters say. What the meters
say decides the deviations, which each party settles with its own discom (whose grid
made up the difference):

* a seller delivered ``min(contracted sale, metered export)``; the rest is its
  shortfall (under-injection);
* a buyer took ``min(contracted purchase, metered import)``; the rest is its
  shortfall (under-drawal: energy bought that it never used, which the grid absorbed);
* a shortfall is charged at the discom's deviation rate (INR/kWh).

Every amount is rounded half-even to the paisa once, where it arises (a trade's value,
a shortfall's charge), and the same rounded amount is written on both sides, so every
statement set balances exactly: what buyers pay equals what sellers receive, and the
deviation charges parties pay equal what the discoms receive (the net of all
statements, discoms included, is zero).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from protocol.market.auction import PAISA, Block, Trade

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Metered:
    """A party's meter over one block (kWh), as its discom recorded it."""

    export_kwh: Decimal
    import_kwh: Decimal


@dataclass(frozen=True, slots=True)
class BlockLine:
    """One party in one block: contracted, metered, delivered, deviation and money."""

    block: Block
    role: str  # "seller" | "buyer"
    contracted_kwh: Decimal
    metered_kwh: Decimal | None  # None: the discom recorded nothing for the block
    delivered_kwh: Decimal
    shortfall_kwh: Decimal
    energy_inr: Decimal  # + received (seller), - paid (buyer)
    deviation_inr: Decimal  # - paid to the discom


@dataclass
class Statement:
    """What one party owes and is owed over the settled blocks."""

    party: str
    discom: str | None  # None for a discom's own statement
    lines: list[BlockLine] = field(default_factory=list)
    deviation_received_inr: Decimal = ZERO  # a discom's: the charges its parties paid

    @property
    def energy_inr(self) -> Decimal:
        return sum((line.energy_inr for line in self.lines), ZERO)

    @property
    def deviation_inr(self) -> Decimal:
        return sum((line.deviation_inr for line in self.lines), ZERO)

    @property
    def net_inr(self) -> Decimal:
        return self.energy_inr + self.deviation_inr + self.deviation_received_inr


def _money(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_EVEN)


def settle(
    trades: Iterable[Trade],
    metered: Mapping[tuple[str, Block], Metered],
    discom_of: Mapping[str, str],
    deviation_rate: Mapping[str, Decimal],
) -> dict[str, Statement]:
    """The statement of every party that traded, and of every discom charging them.

    ``metered`` maps (party, block) to its meter's block; ``discom_of`` each party to its
    discom; ``deviation_rate`` each discom to its INR/kWh charge. A party with no meter
    record for a block it traded is held to have delivered (or taken) nothing.
    """
    sold: dict[tuple[str, Block], Decimal] = defaultdict(lambda: ZERO)
    bought: dict[tuple[str, Block], Decimal] = defaultdict(lambda: ZERO)
    received: dict[tuple[str, Block], Decimal] = defaultdict(lambda: ZERO)
    paid: dict[tuple[str, Block], Decimal] = defaultdict(lambda: ZERO)
    for trade in trades:
        value = _money(trade.quantity_kwh * trade.price_inr_per_kwh)
        sold[trade.seller, trade.block] += trade.quantity_kwh
        received[trade.seller, trade.block] += value
        bought[trade.buyer, trade.block] += trade.quantity_kwh
        paid[trade.buyer, trade.block] += value
    statements: dict[str, Statement] = {}

    def statement(party: str) -> Statement:
        if party not in statements:
            statements[party] = Statement(party, discom_of[party])
        return statements[party]

    sides = [("seller", sold, received, 1), ("buyer", bought, paid, -1)]
    for role, contracted, money, sign in sides:
        for (party, block), quantity in sorted(contracted.items(), key=lambda kv: kv[0][1]):
            meter = metered.get((party, block))
            reading = (
                None
                if meter is None
                else (meter.export_kwh if role == "seller" else meter.import_kwh)
            )
            delivered = min(quantity, reading) if reading is not None else ZERO
            shortfall = quantity - delivered
            discom = discom_of[party]
            charge = _money(shortfall * deviation_rate[discom])
            line = BlockLine(block, role, quantity, reading, delivered, shortfall,
                             sign * money[party, block], -charge)  # fmt: skip
            statement(party).lines.append(line)
            if discom not in statements:
                statements[discom] = Statement(discom, None)
            statements[discom].deviation_received_inr += charge
    return statements
