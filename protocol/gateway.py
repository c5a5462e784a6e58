"""The gateway (BG): ``discover`` broadcast to every BPP of the network that serves the
domain and location, each copy carrying the BAP's own signature and the gateway's.

The BPPs are found in the directory (``GET /dedi/subscribers?network=&role=BPP&domain=``,
cached for a few seconds: this is the gateway's hot path). Each copy goes through the
outbox inside the hand-over's transaction, so a discover is broadcast if and only if
it was received, and a BPP that is down gets its copy when it comes back. BPPs answer
``on_discover`` straight to the BAP's ``bapUri`` (Beckn's callback addressing), signed
over the BAP's request signature, which is why the gateway leaves the body untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from protocol.client import Outbox
from protocol.receiving import Inbound, Unit


@dataclass(frozen=True, slots=True)
class Bpp:
    subscriber_id: str
    url: str
    countries: tuple[str, ...]
    states: tuple[str, ...]


class SubscriberSource(Protocol):
    def bpps(self, network: str, domain: str | None) -> list[Bpp]: ...


class DirectorySubscribers:
    """BPPs from the directory's HTTP API, cached for ``ttl`` seconds per query."""

    def __init__(
        self,
        client: httpx.Client,
        ttl: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[tuple[str, str | None], tuple[float, list[Bpp]]] = {}
        self._lock = threading.Lock()

    def bpps(self, network: str, domain: str | None) -> list[Bpp]:
        key = (network, domain)
        cached = self._cache.get(key)
        if cached is not None and self.monotonic() < cached[0]:
            return cached[1]
        found: dict[str, Bpp] = {}
        params: dict[str, Any] = {"network": network, "role": "BPP", "limit": 500}
        if domain:
            params["domain"] = domain
        while True:
            response = self.client.get("/dedi/subscribers", params=params)
            response.raise_for_status()
            page = response.json()
            for view in page["items"]:
                details = view["details"]
                if details.get("status", "SUBSCRIBED") != "SUBSCRIBED":
                    continue
                found.setdefault(
                    details["subscriber_id"],
                    Bpp(
                        details["subscriber_id"],
                        details["url"],
                        tuple(details.get("countries") or ()),
                        tuple(details.get("states") or ()),
                    ),
                )
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]
        bpps = sorted(found.values(), key=lambda b: b.subscriber_id)
        with self._lock:
            self._cache[key] = (self.monotonic() + self.ttl, bpps)
        return bpps


def _serves(bpp: Bpp, location: dict[str, Any] | None) -> bool:
    if not location:
        return True
    country = (location.get("country") or {}).get("code")
    if country and bpp.countries and country not in bpp.countries:
        return False
    city = (location.get("city") or {}).get("code")
    # A city code such as "IN-MH:mumbai" names its state; a BPP that lists states serves those.
    state = city.split(":", 1)[0] if isinstance(city, str) and city.startswith("IN-") else None
    return not (state and bpp.states and state not in bpp.states)


class Gateway:
    """The handler a BG mounts for ``discover``."""

    def __init__(self, source: SubscriberSource, outbox: Outbox) -> None:
        self.source = source
        self.outbox = outbox
        self.broadcasts = 0

    def __call__(self, message: Inbound, unit: Unit) -> None:
        context = message.context
        if context.action != "discover" or context.network_id is None:
            return
        for bpp in self.source.bpps(context.network_id, context.domain):
            if bpp.subscriber_id == context.bap_id or not _serves(bpp, context.location):
                continue
            self.outbox.enqueue_forward(bpp.url, bpp.subscriber_id, message, unit)
            self.broadcasts += 1
