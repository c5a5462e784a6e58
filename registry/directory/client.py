"""Talking to a directory over HTTP: signed writes, and the remote key lookup.

:class:`HttpKeyLookup` is the :class:`~registry.directory.keys.KeyLookup` a
participant runs when the directory is another service: it reads ONIX's lookup
(``/dedi/lookup/{subscriber_id}/subscribers.beckn.one/{key_id}``), keeps each answer
for the ``max-age`` the directory sends, then revalidates with ``If-None-Match``
(a 304 costs no body). A revocation is seen at most ``max-age`` late: that is the
trade every DeDi client makes; the in-process lookup sees it at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from registry.directory.didweb import decode_public_key
from registry.directory.keys import (
    Membership,
    Refusal,
    RefusalReason,
    SigningKey,
    judge,
)
from registry.directory.models import SUBSCRIBER_REGISTRY, now_utc
from registry.directory.signing import HEADER, Signer, sign_write


@dataclass(frozen=True, slots=True)
class CallbackSigner:
    """A :class:`Signer` over any ``sign(message)`` callable (a key custody, an HSM)."""

    kid: str
    sign_message: Callable[[bytes], bytes]

    def sign(self, message: bytes) -> bytes:
        return self.sign_message(message)


class DirectoryWriter:
    """Signed writes to one namespace, as its owner."""

    def __init__(
        self, client: httpx.Client, signer: Signer, clock: Callable[[], datetime] = now_utc
    ):
        self.client = client
        self.signer = signer
        self.clock = clock

    def send(self, method: str, path: str, payload: Any | None = None) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        token = sign_write(self.signer, method, path, body, self.clock())
        headers = {HEADER: token}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return self.client.request(method, path, content=body, headers=headers)

    def claim(
        self, namespace: str, owner_key_id: str, owner_public_key: str, **extra: Any
    ) -> httpx.Response:
        payload = {
            "namespace": namespace,
            "owner_key_id": owner_key_id,
            "owner_public_key": owner_public_key,
            **extra,
        }
        return self.send("POST", "/dedi/namespaces", payload)

    def create_registry(self, namespace: str, name: str, record_type: str) -> httpx.Response:
        path = f"/dedi/namespaces/{namespace}/registries"
        return self.send("POST", path, {"name": name, "record_type": record_type})

    def put_record(
        self, namespace: str, registry: str, record: str, details: dict[str, Any], **meta: str
    ) -> httpx.Response:
        path = f"/dedi/namespaces/{namespace}/registries/{registry}/records/{record}"
        return self.send("PUT", path, {"details": details, "meta": meta})

    def delete_record(self, namespace: str, registry: str, record: str) -> httpx.Response:
        path = f"/dedi/namespaces/{namespace}/registries/{registry}/records/{record}"
        return self.send("DELETE", path)

    def rotate(
        self,
        namespace: str,
        current: dict[str, Any],
        new_key_id: str,
        new_signing_public_key: str,
        overlap: timedelta,
        valid_for: timedelta,
        registry: str = SUBSCRIBER_REGISTRY,
    ) -> tuple[httpx.Response, httpx.Response]:
        """Rotation with overlap: publish the new key from now, then end the old key's
        validity ``overlap`` later, so messages signed just before the switch verify."""
        now = self.clock()
        fresh = {
            **_writable(current),
            "key_id": new_key_id,
            "signing_public_key": new_signing_public_key,
            "valid_from": now.isoformat(),
            "valid_until": (now + valid_for).isoformat(),
            "status": "SUBSCRIBED",
        }
        published = self.put_record(namespace, registry, new_key_id, fresh)
        if published.status_code != 200:
            return published, published
        old = {**_writable(current), "valid_until": (now + overlap).isoformat()}
        return published, self.put_record(namespace, registry, str(current["key_id"]), old)


_SERVED_ONLY = {"domain", "subscriber_url", "encryption_public_key", "ukId", "did", "revoked_at"}


def _writable(details: dict[str, Any]) -> dict[str, Any]:
    """A served subscriber record back to its written form (drop the served aliases)."""
    return {k: v for k, v in details.items() if k not in _SERVED_ONLY}


@dataclass(slots=True)
class _Entry:
    found: SigningKey | None
    etag: str | None
    fresh_until: float


class HttpKeyLookup:
    """The key lookup against a remote directory, with a TTL + ETag cache."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        default_ttl: float = 60.0,
        clock: Callable[[], datetime] = now_utc,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.default_ttl = default_ttl
        self.clock = clock
        self.monotonic = monotonic
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        at = at or self.clock()
        key = (subscriber_id, key_id)
        entry = self._entries.get(key)
        if entry is None or self.monotonic() >= entry.fresh_until:
            fetched = self._fetch(subscriber_id, key_id, entry)
            if isinstance(fetched, Refusal):
                return fetched
            entry = fetched
            with self._lock:
                self._entries[key] = entry
        return judge(entry.found, subscriber_id, key_id, at)

    def invalidate(self, subscriber_id: str, key_id: str) -> None:
        with self._lock:
            self._entries.pop((subscriber_id, key_id), None)

    def _fetch(self, subscriber_id: str, key_id: str, entry: _Entry | None) -> _Entry | Refusal:
        path = (
            f"/dedi/lookup/{quote(subscriber_id, safe=':')}/{SUBSCRIBER_REGISTRY}/{quote(key_id)}"
        )
        headers = {"If-None-Match": entry.etag} if entry is not None and entry.etag else {}
        self.requests += 1
        try:
            response = self.client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            return Refusal(RefusalReason.UNREACHABLE, f"the directory is unreachable: {exc}")
        ttl = _max_age(response.headers.get("cache-control"), self.default_ttl)
        fresh_until = self.monotonic() + ttl
        if response.status_code == 304 and entry is not None:
            return _Entry(entry.found, entry.etag, fresh_until)
        if response.status_code == 410:
            reason = response.json().get("reason", "revoked")
            return Refusal(RefusalReason(reason), str(response.json().get("detail", "")))
        if response.status_code == 404:
            return _Entry(None, None, fresh_until)
        if response.status_code != 200:
            return Refusal(
                RefusalReason.UNREACHABLE, f"the directory answered {response.status_code}"
            )
        data = response.json()["data"]
        return _Entry(_key_from_wire(data), response.headers.get("etag"), fresh_until)


def _max_age(header: str | None, default: float) -> float:
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "max-age" and value.isdigit():
            return float(value)
    return default


def _key_from_wire(data: dict[str, Any]) -> SigningKey:
    details = data["details"]
    revoked = details.get("revoked_at")
    return SigningKey(
        subscriber_id=str(details["subscriber_id"]),
        key_id=str(details["key_id"]),
        public_key=decode_public_key(str(details["signing_public_key"])),
        valid_from=datetime.fromisoformat(details["valid_from"]),
        valid_until=datetime.fromisoformat(details["valid_until"]),
        status=str(details["status"]),
        role=str(details["type"]),
        url=str(details["url"]),
        did=str(details["did"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        # The wire carries the networks in force now, without their windows.
        memberships=tuple(
            Membership(n, datetime.min.replace(tzinfo=now_utc().tzinfo), None)
            for n in data.get("network_memberships", [])
        ),
    )
