"""A discom's side of P2P trading: after delivery, its meters' export and import per
15-minute block, from its meter data, into the registry's ledger and back to the
platform.

The platform tells the discom about the trades its prosumers made with a Beckn
``status`` carrying the trade contract (DEG wave 2, "seller-initiated status to the
seller discom"), at ``{discom}/p2p/beckn/status``: a receiver of its own, sharing the
discom's Beckn identity, store and outbox, so P2P messages never reach the
meter-data desk. For every prosumer meter of its own the contract names, over every
block the contract covers, the discom reads export and import from its head-end data
(``ExportImportSource``, the HES archive through ``adapters.hes``), records them in
the ledger (signed with its subscriber key; idempotent, so a retried ``status``
records nothing twice) and answers ``on_status`` with the actuals as the devkit's
``sellerdiscom-on-status`` does. A meter the head-end holds no data for is left out:
settlement then holds it to have delivered nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.errors import MeterDataNotAvailable
from protocol.api import beckn_router
from protocol.market.messages import (
    MeterActual,
    contract_meters_and_blocks,
    meter_actuals_commitment,
)
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Receiver, Unit
from registry.directory.client import CallbackSigner
from registry.ledger.client import LedgerClient
from registry.ledger.models import meter_of_discom
from registry.ports import ExportImportSource
from sandbox.participants.common import ParticipantContext
from sandbox.plan import BECKN_KEY

PREFIX = "/p2p/beckn"
BLOCK = timedelta(minutes=15)
WH = Decimal("0.001")


def meter_actuals(
    source: ExportImportSource, meters: list[str], blocks: list[datetime]
) -> dict[str, list[MeterActual]]:
    """meter DID -> its export/import in each of ``blocks`` the head-end holds."""
    wanted = set(blocks)
    found: dict[str, list[MeterActual]] = defaultdict(list)
    if not blocks:
        return found
    for meter in meters:
        serial = meter.rsplit(":", 1)[-1]
        try:
            for block in source.export_import(serial, blocks[0], blocks[-1] + BLOCK):
                if block.start in wanted:
                    found[meter].append(MeterActual(
                        meter, block.start,
                        Decimal(str(block.export_kwh)).quantize(WH),
                        Decimal(str(block.import_kwh)).quantize(WH),
                    ))  # fmt: skip
        except MeterDataNotAvailable:
            continue
    return found


def _records(actuals: dict[str, list[MeterActual]], quality: str) -> list[dict[str, Any]]:
    return [
        {"meter": a.meter, "block_start": a.block_start.isoformat(),
         "export_kwh": str(a.export_kwh), "import_kwh": str(a.import_kwh), "quality": quality}
        for blocks in actuals.values() for a in blocks
    ]  # fmt: skip


def install(
    app: FastAPI,
    context: ParticipantContext,
    beckn: BecknParticipant,
    source: ExportImportSource,
    registry: httpx.Client,
) -> None:
    """Mount the discom's P2P receiver on ``app`` (``registry``: a client of the
    registry's process, where the ledger is)."""
    me = context.me
    code = me.discom_code or me.name
    signer = CallbackSigner(f"{me.host}#{BECKN_KEY}",
                            lambda message: context.custody.sign(BECKN_KEY, message))  # fmt: skip
    ledger = LedgerClient(registry, signer)

    def handle(message: Inbound, unit: Unit) -> None:
        contract = message.document["message"].get("contract") or {}
        meters, blocks = contract_meters_and_blocks(contract)
        mine = [m for m in meters if meter_of_discom(m, me.host)]
        actuals = meter_actuals(source, mine, blocks)
        records = _records(actuals, "VALIDATED")
        if records:
            written = ledger.record_meter_blocks(records)
            if written.status_code != 200:
                raise RuntimeError(f"the ledger refused the meter blocks: {written.text[:300]}")
        answer = {
            "id": contract.get("id"),
            "status": {"code": "ACTIVE"},
            "commitments": [
                meter_actuals_commitment(f"{contract.get('id')}-{n}", code, meter, blocks_)
                for n, (meter, blocks_) in enumerate(sorted(actuals.items()))
            ],
        }
        # The callback names the discom's registered subscriber URL (the receiver of the
        # platform checks it against the directory), wherever the status arrived.
        beckn.outbox.enqueue_callback(message, {"contract": answer}, me.beckn_url, unit)

    receiver = Receiver(
        beckn.settings, beckn.receiver.lookup, beckn.store, handle,
        payload_check=beckn.receiver.payload_check,
    )  # fmt: skip
    app.include_router(beckn_router(receiver, prefix=PREFIX, actions=("status",)))
