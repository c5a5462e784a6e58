"""Clearing a day on the P2P platform so that a crash at any point moves no money twice.

Money moves on the ledger's trades: settlement (:mod:`protocol.market.settlement`)
reads them alone. So each trade must reach the ledger once, under one identity and
one content, however often the clearing is interrupted and run again. The steps:

1. **Auction, written ahead.** The day's open blocks are taken out of the book and
   cleared (pure); each block is recorded with its trades (the ledger's content of
   each, the policy decision to come) and its orders marked cleared, in one
   transaction (:meth:`Records.cleared`). From then on the block's trades are fixed:
   the block takes no more orders and is never auctioned again, so a retry cannot
   match the same ask with another bid (a second sale of the same energy). If this
   step fails, nothing left the platform and the orders go back into the book.
2. **Postings, resumable.** For each trade of each block of the day not yet posted,
   in order: the state's pack decides (the regulator), and the decision is kept in
   the block's record *before* the ledger sees it; if allowed, the trade is posted to
   the ledger with that decision, and the ledger's answer kept. The ledger is unique
   on (platform, trade id) and answers a trade posted again with the same content as
   recorded already (200, the original entry), so a crash after the ledger wrote and
   before the answer was kept costs nothing: the next run posts the same content
   again. When every trade of a block is done, the block is marked posted.

A clearing interrupted in step 2 (a crash, the regulator or the ledger unreachable)
is finished by the next clearing of the same day (also after a restart: everything is
in the database) and by the day's settlement before it reads the ledger. The steps run
one clearing at a time (:attr:`Postings.lock`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from kernel.database import to_db
from kernel.problems import Problem
from protocol.market.auction import Block, Clearing
from protocol.market.store import BlockRow
from registry.ledger.client import LedgerClient
from sandbox.participants.p2p_prosumers import Prosumer, Prosumers
from sandbox.participants.p2p_views import Records, block_start, is_posted

DOMAIN = "p2p_trade"


class ClearingUnfinished(Problem):
    slug = "p2p-clearing-unfinished"
    title = "The clearing is recorded but its trades are not all posted yet"
    status = 503
    beckn_code = "50300"
    description = (
        "The policy service or the ledger could not be reached: clear the day again to "
        "finish the postings (nothing is posted twice)."
    )


def written_ahead(day: date, clearings: list[Clearing], prosumers: Prosumers) -> dict[str, Any]:
    """The auction's outcome as step 1 records it: each trade with everything the
    ledger will hold of it but the policy decision."""
    blocks: list[dict[str, Any]] = []
    for clearing in clearings:
        entries: list[dict[str, Any]] = []
        for trade in clearing.trades:
            seller, buyer = prosumers.customer(trade.seller), prosumers.customer(trade.buyer)
            entries.append({
                "trade_id": trade.id, "seller": trade.seller, "buyer": trade.buyer,
                "quantity_kwh": str(trade.quantity_kwh),
                "price_inr_per_kwh": str(trade.price_inr_per_kwh),
                "seller_meter": seller.meter, "buyer_meter": buyer.meter,
                "jurisdiction": seller.discom.state,
            })  # fmt: skip
        blocks.append({
            "block": str(clearing.block), "start": block_start(clearing.block).isoformat(),
            "price_inr_per_kwh": None if clearing.price_inr_per_kwh is None
            else str(clearing.price_inr_per_kwh),
            "quantity_kwh": str(clearing.quantity_kwh), "trades": entries,
        })  # fmt: skip
    return {"day": day.isoformat(), "blocks": blocks}


def policy_input(
    seller: Prosumer, buyer: Prosumer, block: Block, entry: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``p2p_trade`` document the state's pack decides on."""
    return {
        "seller": {"connection_category": seller.category,
                   "sanctioned_load_kw": seller.sanctioned_load_kw,
                   "der_capacity_kw": seller.der_capacity_kw,
                   "metering_scheme": seller.metering_scheme},
        "buyer": {"connection_category": buyer.category},
        "trade": {"block": {"date": block.day.isoformat(), "number": block.number,
                            "minutes": 15},
                  "quantity_kwh": float(entry["quantity_kwh"]),
                  "price_inr_per_kwh": float(entry["price_inr_per_kwh"])},
    }  # fmt: skip


def block_answer(row: BlockRow) -> dict[str, Any]:
    """A cleared block as the clearing answers it."""
    start = block_start(Block(date.fromisoformat(row.day), row.number))
    return {"block": row.id, "start": start.isoformat(),
            "price_inr_per_kwh": row.price_inr_per_kwh, "quantity_kwh": row.quantity_kwh,
            "trades": row.trades, "posted": row.posted_at is not None}  # fmt: skip


class Postings:
    """Step 2: each recorded trade decided and, if allowed, in the ledger, once."""

    def __init__(
        self,
        records: Records,
        prosumers: Prosumers,
        regulator: httpx.Client,
        ledger: LedgerClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.records = records
        self.prosumers = prosumers
        self.regulator = regulator
        self.ledger = ledger
        self.clock = clock
        self.lock = threading.RLock()  # one clearing (steps 1 and 2) at a time

    def finish(self, day: date) -> list[BlockRow]:
        """Every block of ``day`` whose postings were unfinished, finished (as kept);
        :class:`ClearingUnfinished` if the regulator or the ledger failed (what was done
        is kept: the next call goes on from there)."""
        store = self.records.store
        done: list[BlockRow] = []
        with self.lock:
            for row in store.unposted(day.isoformat()):
                try:
                    trades = self._post_block(row)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    raise ClearingUnfinished(f"block {row.id}: {exc}"[:500]) from exc
                store.keep_postings(row.id, trades, to_db(self.clock()))
                kept = store.block(row.id)
                assert kept is not None
                done.append(kept)
        return done

    def _post_block(self, row: BlockRow) -> list[dict[str, Any]]:
        block = Block(date.fromisoformat(row.day), row.number)
        trades = [dict(t) for t in row.trades]
        for entry in trades:
            if is_posted(entry):
                continue
            if "decision" not in entry:
                entry["decision"] = self._decide(block, entry)
                # Kept before the ledger sees it: a retry posts the same decision.
                self.records.store.keep_postings(row.id, trades, None)
            if entry["decision"]["allow"]:
                entry["ledger"] = self._post(block, entry)
                self.records.store.keep_postings(row.id, trades, None)
        return trades

    def _decide(self, block: Block, entry: Mapping[str, Any]) -> dict[str, Any]:
        seller = self.prosumers.customer(str(entry["seller"]))
        buyer = self.prosumers.customer(str(entry["buyer"]))
        asked = self.regulator.post("/policy/decisions", json={
            "jurisdiction": entry["jurisdiction"], "domain": DOMAIN,
            "input": policy_input(seller, buyer, block, entry), "as_of": block.day.isoformat(),
            "reference": entry["trade_id"]})  # fmt: skip
        asked.raise_for_status()
        decision = asked.json()
        return {"id": decision["id"], "allow": decision["allow"],
                "violations": decision["violations"], "pack": decision["pack"]}  # fmt: skip

    def _post(self, block: Block, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The ledger's answer to the trade (201 recorded, 200 recorded before with the
        same content); a 5xx is no answer (raised: posted again next time)."""
        written = self.ledger.record_trade({
            "trade_id": entry["trade_id"], "block_start": block_start(block).isoformat(),
            "seller": entry["seller"], "buyer": entry["buyer"],
            "seller_meter": entry["seller_meter"], "buyer_meter": entry["buyer_meter"],
            "quantity_kwh": entry["quantity_kwh"],
            "price_inr_per_kwh": entry["price_inr_per_kwh"],
            "jurisdiction": entry["jurisdiction"], "policy_decision": entry["decision"]["id"],
        })  # fmt: skip
        if written.status_code >= 500:
            written.raise_for_status()
        return {"status": written.status_code, "body": written.json()}
