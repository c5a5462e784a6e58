"""The kit's own Beckn endpoints, served on 127.0.0.1 during a run.

The target's callbacks (and, for a BAP under test, its requests) arrive here and walk
the stack's real receiving pipeline (``protocol.receiving.Receiver``): signature
through the directory, freshness, replay, the sender's standing, the Beckn and IES
schemas, ``requestDigest`` against the request the kit sent. Every arrival is kept,
accepted or refused, with the step that refused it: that is the evidence the
exchange items judge.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from kernel.database import create_db_engine, to_db
from kernel.migrations import upgrade
from protocol.envelope import ACTIONS
from protocol.receiving import Inbound, Receiver, ReceiverSettings, Unit
from protocol.store import MessageRow, ProtocolStore
from registry.directory.keys import KeyLookup
from sandbox.conformance.identity import KitIdentity, KitKey


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message the kit's endpoint took: its bytes, headers and the verdict."""

    endpoint: str  # "bap" or "bpp"
    action: str
    body: bytes
    headers: dict[str, str]
    status: int
    error_code: str | None
    step: str | None
    detail: str | None
    at: float

    @property
    def accepted(self) -> bool:
        return self.error_code is None

    @property
    def context(self) -> dict[str, Any]:
        try:
            document = json.loads(self.body)
        except ValueError:
            return {}
        context = document.get("context") if isinstance(document, dict) else None
        return context if isinstance(context, dict) else {}

    @property
    def message_id(self) -> str | None:
        value = self.context.get("messageId")
        return value if isinstance(value, str) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class KitReceiver:
    """Two receivers (the kit's BAP and BPP) behind one uvicorn server."""

    def __init__(self, port: int, lookup: KeyLookup, networks: frozenset[str]) -> None:
        self.port = port
        self.lookup = lookup
        self.networks = networks
        self._scratch = tempfile.TemporaryDirectory(prefix="ies-conformance-")
        self.engine = create_db_engine(f"sqlite:///{Path(self._scratch.name) / 'kit.db'}")
        upgrade(self.engine, "protocol:migrations")
        self.store = ProtocolStore(self.engine)
        self.arrivals: list[Arrival] = []
        self._changed = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._receivers: dict[str, Receiver] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bind(self, identity: KitIdentity) -> None:
        for name, key in (("bap", identity.bap), ("bpp", identity.bpp)):
            settings = ReceiverSettings(subscriber_id=key.subscriber_id, signer=key,
                                        networks=self.networks)  # fmt: skip
            self._receivers[name] = Receiver(settings, self.lookup, self.store, _keep)

    def app(self) -> FastAPI:
        app = FastAPI(title="IES conformance kit", openapi_url=None)

        async def endpoint(endpoint: str, action: str, request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            receiver = self._receivers.get(endpoint)
            if receiver is None or action not in ACTIONS:
                return Response(status_code=404)
            outcome = receiver.receive(action, body, headers)
            error = outcome.error
            self._add(
                Arrival(endpoint, action, body, headers, outcome.status,
                        error.beckn_code if error else None, error.step if error else None,
                        error.detail if error else None, time.monotonic())
            )  # fmt: skip
            return Response(outcome.body, outcome.status, outcome.headers,
                            media_type="application/json")  # fmt: skip

        app.add_api_route("/{endpoint}/{action}", endpoint, methods=["POST"])
        return app

    def _add(self, arrival: Arrival) -> None:
        with self._changed:
            self.arrivals.append(arrival)
            self._changed.notify_all()

    def log_sent(self, key: KitKey, receiver: str, action: str, context: dict[str, Any],
                 digest: str, signature: str) -> None:  # fmt: skip
        """What the kit sent, by messageId: the solicited callback must bind it."""
        self.store.log_outbound(
            MessageRow(
                at=to_db(datetime.now(UTC)), participant=key.subscriber_id, direction="out",
                counterparty=receiver, action=action, message_id=str(context["messageId"]),
                transaction_id=str(context["transactionId"]), timestamp=str(context["timestamp"]),
                digest=digest, signature=signature, verdict="SENT", http_status=None,
                error_code=None, step=None, detail=None,
            )
        )  # fmt: skip

    def wait_for(self, match: Callable[[Arrival], bool], timeout: float,
                 count: int = 1) -> list[Arrival]:  # fmt: skip
        """Arrivals matching ``match``, once ``count`` came or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [a for a in self.arrivals if match(a)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._changed.wait(left)

    def start(self, host: str = "127.0.0.1") -> None:
        config = uvicorn.Config(self.app(), host=host, port=self.port,
                                log_level="warning", access_log=False, lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="kit-receiver")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the kit's receiver did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.engine.dispose()
        self._scratch.cleanup()


def _keep(message: Inbound, unit: Unit) -> None:
    """The kit takes every message that passed; the arrival list is its evidence."""
