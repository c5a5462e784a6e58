"""The sandbox's own message channel: an SMS-gateway-like inbox on disk.

A production deployment delivers one-time codes through an SMS gateway or e-mail; the
sandbox has no network, so it owns this inbox instead: each address (``sms:mh-1``) is a
JSON-lines file under ``{data dir}/inbox``, readable by its owner only (0600),
which a person (or a browser test) reads the code from: the way a phone shows a text.
The text is never logged; only that a message went to an address.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import structlog

log = structlog.get_logger("sandbox.console.inbox")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class SandboxInbox:
    """A :class:`credentials.signin.ports.MessageChannel` the sandbox owns."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _file(self, address: str) -> Path:
        return self.folder / (_SAFE.sub("_", address) + ".jsonl")

    def deliver(self, address: str, text: str) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "to": address, "text": text})
        fd = os.open(self._file(address), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")
        log.info("message delivered", to=address)  # never the text: it holds a code

    def messages(self, address: str) -> list[str]:
        path = self._file(address)
        if not path.exists():
            return []
        return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]


def latest_code(folder: Path, address: str) -> str:
    """The newest code texted to ``address`` (what a person reads off their phone)."""
    texts = SandboxInbox(folder).messages(address)
    for text in reversed(texts):
        found = re.search(r"\b(\d{6})\b", text)
        if found:
            return found.group(1)
    raise LookupError(f"no code in the inbox of {address}")


def address_of(persona_key: str) -> str:
    return f"sms:{persona_key}"
