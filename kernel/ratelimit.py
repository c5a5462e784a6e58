"""Abuse limits: token buckets per address and per participant, answered with a 429.

Two budgets, both token buckets (``rate`` requests a second, ``burst`` at once):

- per address, for every request, checked at the edge before any work (the client's
  IP as the ASGI server saw it);
- per participant, for the doors that ``requires(...)`` a scope, checked once the
  caller is authenticated (``kernel.access``), so one participant cannot spend
  another's budget by sharing an address, and a stolen token is throttled too.

Both answer ``429`` with a problem body (``/problems/rate-limited``) and
``Retry-After``. A rate of 0 switches a budget off. Buckets live in the process (one
service process, as the sandbox runs them); the number of buckets is bounded.

Every block's service has them: ``kernel.service.create_service_app(settings=...)``
installs the limits its settings name (each block's ``create_app`` passes its own), so
a service run on its own (``uvicorn registry.app:app``) is limited as in the sandbox.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.access import RateLimited
from kernel.settings import ServiceSettings

MAX_BUCKETS = 50_000


@dataclass(frozen=True)
class RateLimit:
    rate: float  # tokens (requests) added per second
    burst: int  # the bucket's size: requests allowed at once

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.burst > 0


class TokenBuckets:
    """One token bucket per key (pure; the clock is injectable for tests)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 if allowed, else seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - last) * self.limit.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.limit.rate
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)  # the least recently seen key
        return wait


def refusal(who: str, wait: float) -> RateLimited:
    return RateLimited.waiting(f"{who} sent too many requests", wait)


class AddressRateLimitMiddleware:
    """The per-address budget, at the edge (pure ASGI).

    It reads the budget in force from the app's state on every request, so installing
    the limits again (a host overriding a block's settings) replaces the budget rather
    than stacking a second middleware."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        buckets: TokenBuckets | None = getattr(self.state, "address_buckets", None)
        if scope["type"] != "http" or buckets is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = buckets.take(address)
        if wait > 0:
            from kernel.service import problem_response

            response = problem_response(refusal("this address", wait), scope.get("path"))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_rate_limits(
    app: FastAPI, *, per_address: RateLimit | None, per_participant: RateLimit | None
) -> None:
    """Put these budgets in force on ``app`` (``None`` or a rate of 0: that one is off).

    Installing again replaces both budgets (fresh buckets): every block's ``create_app``
    installs its settings' limits, and a host (the sandbox's participants) may install
    its own over them. The middleware itself is added once, before the first request.
    """
    app.state.address_buckets = _buckets(per_address)
    app.state.participant_buckets = _buckets(per_participant)  # read by kernel.access
    if not getattr(app.state, "address_limit_middleware", False):
        app.add_middleware(AddressRateLimitMiddleware, state=app.state)
        app.state.address_limit_middleware = True


def _buckets(limit: RateLimit | None) -> TokenBuckets | None:
    return TokenBuckets(limit) if limit is not None and limit.enabled else None


def install_rate_limits_from(app: FastAPI, settings: ServiceSettings) -> None:
    """The budgets a service's settings name (``IES_RATE_PER_ADDRESS``..., under the
    service's own prefix where it has one: ``IES_CREDENTIALS_RATE_PER_ADDRESS``)."""
    install_rate_limits(
        app,
        per_address=RateLimit(settings.rate_per_address, settings.burst_per_address),
        per_participant=RateLimit(settings.rate_per_participant, settings.burst_per_participant),
    )
