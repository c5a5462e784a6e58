"""What sign-in needs from outside: a way to get a one-time code to a person."""

from __future__ import annotations

from typing import Protocol


class MessageChannel(Protocol):
    """Delivers a short text to an address (a phone number, an inbox): an SMS gateway in
    production, the sandbox's own inbox in the sandbox. The text holds a secret, so an
    implementation must never log it."""

    def deliver(self, address: str, text: str) -> None: ...
