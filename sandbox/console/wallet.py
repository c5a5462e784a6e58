"""The consumers' wallets the console keeps for the sandbox's personas.

A consumer's wallet is a did:key whose key stays in its own encrypted custody (under
the console's data folder) and the credentials it collected through their issuers' pull
URIs. It shows them to a verifier as a presentation bound to the verifier's one-time
challenge, signed by the holder key: what the consumer's phone wallet would do.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credentials.did import did_key_for
from credentials.keys import EncryptedFileCustody, KeyAlgorithm, KeyExists
from sandbox.usecases.common import Wallet


class Wallets:
    def __init__(self, root: Path, passphrase: bytes) -> None:
        self.root = root
        self.passphrase = passphrase
        self.lock = threading.Lock()

    def wallet(self, persona: str) -> Wallet:
        custody = EncryptedFileCustody(self.root / persona / "keys", self.passphrase)
        with self.lock:
            try:
                raw = custody.create("wallet", KeyAlgorithm.ED25519).raw
            except KeyExists:
                raw = custody.public_key("wallet").raw
        return Wallet(did_key_for(KeyAlgorithm.ED25519, raw), custody)

    def _file(self, persona: str) -> Path:
        return self.root / persona / "held.json"

    def held(self, persona: str) -> list[dict[str, Any]]:
        path = self._file(persona)
        if not path.exists():
            return []
        items: list[dict[str, Any]] = json.loads(path.read_text())
        return items

    def keep(self, persona: str, issuer: str, issued: dict[str, Any], credential: Any) -> None:
        """Keep a collected credential (the wallet's own copy, as the issuer delivered it)."""
        with self.lock:
            items = self.held(persona)
            items.append(
                {
                    "id": issued["id"],
                    "type": issued["type"],
                    "issuer": issuer,
                    "format": issued["format"],
                    "credential": credential,
                    "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            path = self._file(persona)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(items, indent=1))
