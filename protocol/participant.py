"""A participant's whole protocol side, composed: receiver, sender, outbox, routes.

Any service of the stack (a discom's BPP, a third-party app's BAP, the gateway) builds
one :class:`BecknParticipant` over its database, its key custody and the directory,
mounts :meth:`BecknParticipant.router`, and runs the outbox worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter
from sqlalchemy import Engine

from protocol.api import beckn_router, message_log_router
from protocol.client import Exchange, Outbox, RetryPolicy
from protocol.payloads import ies_payload_errors
from protocol.receiving import Handler, PayloadCheck, Receiver, ReceiverSettings, RequestCheck
from protocol.sending import AckPolicy
from protocol.signing import Signer
from protocol.store import ProtocolStore
from registry.directory.keys import KeyLookup


class BecknParticipant:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        lookup: KeyLookup,
        networks: frozenset[str],
        handler: Handler,
        http: httpx.Client,
        *,
        max_body_bytes: int = 1024 * 1024,
        payload_check: PayloadCheck | None = ies_payload_errors,
        checks: Sequence[tuple[str, RequestCheck]] = (),
        ack_policy: AckPolicy = AckPolicy.STRICT,
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = ProtocolStore(engine)
        self.settings = ReceiverSettings(
            subscriber_id=signer.subscriber_id,
            signer=signer,
            networks=networks,
            max_body_bytes=max_body_bytes,
        )
        self.receiver = Receiver(
            self.settings,
            lookup,
            self.store,
            handler,
            payload_check=payload_check,
            checks=checks,
            clock=clock,
        )
        self.exchange = Exchange(
            signer, lookup, self.store, http, clock=clock, ack_policy=ack_policy
        )
        self.outbox = Outbox(self.exchange, self.store, retry=retry, clock=clock)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    @property
    def subscriber_id(self) -> str:
        return self.settings.subscriber_id

    def router(self, prefix: str = "") -> APIRouter:
        return beckn_router(self.receiver, prefix=prefix)

    def log_router(self) -> APIRouter:
        return message_log_router(self.store)

    def start_worker(self, interval: float = 0.05) -> None:
        self._stop.clear()
        self._worker = threading.Thread(
            target=self.outbox.run, args=(self._stop, interval), daemon=True, name="outbox"
        )
        self._worker.start()

    def stop_worker(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(10)
            self._worker = None
