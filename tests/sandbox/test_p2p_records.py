"""The P2P platform's records after the sandbox run: every block it cleared and every
statement it settled are in its database exactly as its answers carried them, read
back by a new process (the run's processes have all stopped by now), which is what
``GET /platform/blocks`` and ``/platform/statements`` serve."""

from __future__ import annotations

import pytest

from kernel.database import create_db_engine
from protocol.market.store import MarketStore, block_json, statement_json
from tests.conftest import BACKEND
from tests.sandbox.conftest import SandboxRun

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND == "postgres", reason="reads the platform's SQLite file"),
]


def _store(sandbox_run: SandboxRun) -> MarketStore:
    return MarketStore(create_db_engine(f"sqlite:///{sandbox_run.data_dir / 'p2p.db'}"))


def test_every_cleared_block_is_kept_with_its_orders_and_trades(sandbox_run: SandboxRun):
    (clearing,) = sandbox_run.evidence("P2PClearing")
    store = _store(sandbox_run)
    blocks = clearing["payload"]["blocks"]
    assert blocks
    for block in blocks:
        row = store.block(block["block"])
        assert row is not None, block["block"]
        kept = block_json(row)
        assert kept["price_inr_per_kwh"] == block["price_inr_per_kwh"]
        assert kept["quantity_kwh"] == block["quantity_kwh"]
        assert kept["trades"] == block["trades"]
        sides = {o["side"] for o in kept["orders"]}
        assert sides == {"BUY", "SELL"}  # every block of the use case had both
    day = clearing["payload"]["day"]
    assert [r.id for r in store.blocks(day, None, 96)] == [b["block"] for b in blocks]


def test_the_statements_are_kept_as_settled(sandbox_run: SandboxRun):
    settled = [i["payload"] for i in sandbox_run.evidence("P2PSettlementStatement")]
    (clearing,) = sandbox_run.evidence("P2PClearing")
    kept = _store(sandbox_run).statements(clearing["payload"]["day"], None, None, 500)
    assert settled
    stored = {}
    for row in kept:
        statement = statement_json(row)
        assert statement.pop("version") == 1
        assert statement.pop("settled_at")
        assert statement.pop("day") == clearing["payload"]["day"]
        stored[statement["party"]] = statement
    assert stored == {s["party"]: s for s in settled}
