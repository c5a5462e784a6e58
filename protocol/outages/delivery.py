"""Delivering a notice to a subscriber over HTTP, signed with the issuer's key.

The body is the notice's exact bytes, signed the Beckn v2 way (``protocol.signing``:
Ed25519 over ``(created) (expires) digest`` with a BLAKE2b-512 body digest) by the
issuer's key in its custody (``credentials.keys.KeyCustody``): a subscriber checks
the signature against the issuer's key in the directory before it trusts the
notice. Until the exchange's outbox carries OutageNotification (with its retries),
this is the outage flow's own delivery, one attempt per call; failures are recorded
in ``outage_delivery`` by the monitor.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from protocol.outages.ports import Receipt, Subscriber
from protocol.signing import Custody, CustodySigner, sign

CONTENT_TYPE = "application/json"


def notice_bytes(notice: dict[str, Any]) -> bytes:
    return json.dumps(notice, separators=(",", ":"), ensure_ascii=False).encode()


class SignedHttpDelivery:
    """A :class:`~protocol.outages.ports.NoticeDelivery` posting signed notices."""

    def __init__(
        self,
        custody: Custody,
        subscriber_id: str,
        key_id: str,
        client: httpx.Client | None = None,
        *,
        ttl: int = 300,
    ) -> None:
        self.signer = CustodySigner(custody, subscriber_id, key_id)
        self.client = client or httpx.Client(timeout=5.0)
        self.ttl = ttl

    def authorization(self, body: bytes) -> str:
        created = int(time.time())
        return sign(body, self.signer, created, created + self.ttl)

    def deliver(self, subscriber: Subscriber, notice: dict[str, Any]) -> Receipt:
        body = notice_bytes(notice)
        headers = {"Content-Type": CONTENT_TYPE, "Authorization": self.authorization(body)}
        try:
            response = self.client.post(subscriber.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Receipt(subscriber.id, 0, False, f"{type(exc).__name__}: {exc}")
        ok = 200 <= response.status_code < 300
        return Receipt(subscriber.id, response.status_code, ok, "" if ok else response.text[:300])
