"""The consent manager as an ASGI app: ``uvicorn consent.app:app``.

Everything it needs comes in through :func:`create_app` (the tests and the sandbox
pass their own); with no arguments it reads ``IES_*`` settings: its database, its
directory identity (subscriber id, key id, key custody), the directory to look keys up
in, the registry that says which meters each consumer holds, the providers it serves
and how often the worker sweeps expiry and delivers the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from consent.api import router
from consent.holders import HttpMeterOwnership
from consent.outbox import deliver_due
from consent.ownership import MeterOwnership
from consent.policy import PolicyPoint
from consent.service import ConsentManager
from consent.signatures import SigningIdentity
from credentials.keys import EncryptedFileCustody, KeySettings
from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from registry.directory.client import HttpKeyLookup
from registry.directory.keys import KeyLookup

MIGRATIONS = "consent:migrations"


class ConsentSettings(KeySettings):
    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    database_url: str = "sqlite:///./var/consent.db"
    migrate_on_start: bool = True
    consent_subscriber_id: str = "consent.sandbox.ies.local"
    consent_key_id: str = "consent-signing-1"
    consent_issuer_did: str = "did:web:consent.sandbox.ies.local"
    directory_url: str = "http://127.0.0.1:8100"
    registry_url: str = "http://127.0.0.1:8100"  # who holds which meter (registry topology)
    consent_providers: str = "{}"  # JSON: provider subscriber id -> notification URL
    outbox_interval_seconds: float = 5.0


@dataclass
class Wiring:
    """The consent manager and the HTTP clients it opened (closed with it)."""

    manager: ConsentManager
    clients: list[httpx.Client]

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.manager.engine.dispose()


def wire(
    settings: ConsentSettings,
    *,
    identity: SigningIdentity | None = None,
    keys: KeyLookup | None = None,
    policy: PolicyPoint | None = None,
    providers: dict[str, str] | None = None,
    ownership: MeterOwnership | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Wiring:
    """The consent manager from its settings, with whatever the caller passes instead
    (the service, ``ies consent sweep`` and the tests share this one wiring)."""
    engine = create_db_engine(settings.database_url)
    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)
    clients: list[httpx.Client] = []
    if keys is None:
        directory_http = httpx.Client(base_url=settings.directory_url, timeout=5)
        clients.append(directory_http)
        keys = HttpKeyLookup(directory_http)
    if identity is None:
        custody = EncryptedFileCustody(
            settings.key_dir, settings.key_passphrase.get_secret_value().encode()
        )
        identity = SigningIdentity(settings.consent_subscriber_id, settings.consent_key_id, custody)
    if ownership is None:
        registry_http = httpx.Client(base_url=settings.registry_url, timeout=5)
        clients.append(registry_http)
        ownership = HttpMeterOwnership(registry_http)
    if policy is None:
        policy = PolicyPoint(
            load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)), EmbeddedEngine()
        )
    manager = ConsentManager(
        engine=engine,
        identity=identity,
        keys=keys,
        policy=policy,
        providers=providers if providers is not None else json.loads(settings.consent_providers),
        ownership=ownership,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    return Wiring(manager, clients)


def create_app(
    settings: ConsentSettings | None = None,
    *,
    identity: SigningIdentity | None = None,
    keys: KeyLookup | None = None,
    policy: PolicyPoint | None = None,
    providers: dict[str, str] | None = None,
    ownership: MeterOwnership | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    settings = settings or ConsentSettings()
    configure_logging(settings.log_level, settings.log_format)
    wiring = wire(
        settings,
        identity=identity,
        keys=keys,
        policy=policy,
        providers=providers,
        ownership=ownership,
        clock=clock,
    )
    manager, engine = wiring.manager, wiring.manager.engine

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if settings.outbox_interval_seconds > 0:
            task = asyncio.create_task(_deliver_forever(manager, settings.outbox_interval_seconds))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        wiring.close()

    app = create_service_app(
        title="IES consent manager",
        description=(
            "Consent requests from registered apps, the consumer's approve/narrow/reject/"
            "pause/resume/revoke, signed artefacts, fetch accounting for providers, the "
            "hash-chained audit trail and signed notifications."
        ),
        version="0.1.0",
        routers=[router],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.manager = manager
    app.state.engine = engine
    app.state.issuer_did = settings.consent_issuer_did
    return app


async def _deliver_forever(manager: ConsentManager, interval: float) -> None:
    """The worker: lapse due consents (their notices join the outbox), then deliver."""
    with httpx.Client(timeout=5) as http:
        while True:
            await asyncio.to_thread(manager.sweep)
            await asyncio.to_thread(deliver_due, manager.engine, http, manager.identity)
            await asyncio.sleep(interval)


app = LazyApp(create_app)
