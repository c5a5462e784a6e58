"""Writing to the ledger over HTTP as a participant: each body signed once, as sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from registry.directory.signing import HEADER, Signer, sign_write


class LedgerClient:
    """Signed writes to the ledger at ``client.base_url``; ``signer.kid`` is
    ``{subscriber id}#{key id}`` of the writer's subscriber record."""

    def __init__(
        self,
        client: httpx.Client,
        signer: Signer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.signer = signer
        self.clock = clock

    def _post(self, path: str, payload: Any) -> httpx.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        token = sign_write(self.signer, "POST", path, body, self.clock())
        headers = {HEADER: token, "content-type": "application/json"}
        return self.client.post(path, content=body, headers=headers)

    def record_trade(self, trade: dict[str, Any]) -> httpx.Response:
        return self._post("/ledger/trades", trade)

    def record_meter_blocks(self, records: list[dict[str, Any]]) -> httpx.Response:
        return self._post("/ledger/meter-blocks", {"records": records})
