"""The gateway as an ASGI service: ``uvicorn protocol.app:app``.

A BG participant of the network: receives signed ``discover`` requests, broadcasts
them to the BPPs the directory lists for the network and domain, and serves the
message log. Its key stays in its custody (``IES_KEY_DIR``); it looks keys and BPPs
up in the directory at ``IES_PROTOCOL_DIRECTORY_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from credentials.keys import EncryptedFileCustody, KeySettings
from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from protocol.gateway import DirectorySubscribers, Gateway
from protocol.participant import BecknParticipant
from protocol.signing import CustodySigner
from registry.directory.client import HttpKeyLookup

MIGRATIONS = "protocol:migrations"


class GatewaySettings(KeySettings):
    model_config = SettingsConfigDict(env_prefix="IES_PROTOCOL_", extra="ignore")

    database_url: str = "sqlite:///./var/protocol.db"
    migrate_on_start: bool = True
    subscriber_id: str = "gateway.ies.local"
    key_id: str = "gateway-1"
    directory_url: str = "http://127.0.0.1:8101"
    networks: list[str] = Field(
        default_factory=lambda: ["indiaenergystack.in/test-ies-data-sharing-network"]
    )
    max_message_bytes: int = 1024 * 1024
    run_worker: bool = True


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging(settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)
    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)
    directory = httpx.Client(base_url=settings.directory_url, timeout=5.0)
    http = httpx.Client(timeout=10.0)
    custody = EncryptedFileCustody(
        settings.key_dir, settings.key_passphrase.get_secret_value().encode()
    )
    signer = CustodySigner(custody, settings.subscriber_id, settings.key_id)
    participant: BecknParticipant

    def broadcast(message, unit):  # type: ignore[no-untyped-def]
        gateway(message, unit)

    participant = BecknParticipant(
        engine,
        signer,
        HttpKeyLookup(directory),
        frozenset(settings.networks),
        broadcast,
        http,
        max_body_bytes=settings.max_message_bytes,
    )
    gateway = Gateway(DirectorySubscribers(directory), participant.outbox)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.run_worker:
            participant.start_worker()
        yield
        participant.stop_worker()
        for client in (http, directory):
            client.close()
        engine.dispose()

    app = create_service_app(
        title="IES gateway",
        description=(
            "A Beckn v2 gateway (BG): signed discover broadcast to the network's BPPs, "
            "and the message log of every exchange it took part in."
        ),
        version="0.1.0",
        routers=[participant.router(), participant.log_router()],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.participant = participant
    app.state.gateway = gateway
    app.state.engine = engine
    return app


app = LazyApp(create_app)
