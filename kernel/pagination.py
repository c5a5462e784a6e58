"""Cursor pagination: opaque, tamper-evident cursors bound to the query they came from.

A cursor carries the last key seen and a digest of the query's filters; reusing it
with other filters is refused rather than silently returning a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from kernel.problems import InvalidCursor

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is absent on the last page."""

    items: list[T]
    next_cursor: str | None = None


class Cursor(BaseModel):
    after: list[Any]
    query: str


def query_digest(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def encode_cursor(after: list[Any], filters: dict[str, Any]) -> str:
    payload = {"a": after, "q": query_digest(filters)}
    raw = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, filters: dict[str, Any]) -> list[Any]:
    """The key to continue after, or :class:`InvalidCursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, digest = payload["a"], payload["q"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor("the cursor cannot be decoded") from exc
    if not isinstance(after, list) or digest != query_digest(filters):
        raise InvalidCursor("the cursor belongs to a different query")
    return after
