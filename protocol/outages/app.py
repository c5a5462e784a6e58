"""The outage flow as a service of its own: ``uvicorn protocol.outages.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from credentials.keys import EncryptedFileCustody
from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from kernel.settings import ServiceSettings
from protocol.outages.api import router
from protocol.outages.delivery import SignedHttpDelivery
from protocol.outages.feeder_energy import ScadaFeederEnergy
from protocol.outages.ingest import NormalisedStatus
from protocol.outages.ports import FeederStatusMapping, MeteredEnergySource
from protocol.outages.service import Issuer, OutageMonitor
from protocol.outages.store import OutageStore, StoredSeenEvents
from protocol.outages.topology import RegistryTopology

MIGRATIONS = "protocol.outages:migrations"


class OutageSettings(ServiceSettings):
    registry_url: str = "http://127.0.0.1:8100"
    issuer_did: str = "did:web:discom.example"
    issuer_name: str = "DISCOM"
    key_id: str = "outages"
    key_dir: Path = Path("var/keys")
    key_passphrase: SecretStr = SecretStr("")
    feeder_status_token: SecretStr = SecretStr("")
    migrate_on_start: bool = True


def create_app(
    settings: OutageSettings | None = None,
    *,
    monitor: OutageMonitor | None = None,
    mapping: FeederStatusMapping | None = None,
    registry: httpx.Client | None = None,
    metered: MeteredEnergySource | None = None,
) -> FastAPI:
    settings = settings or OutageSettings()
    configure_logging(settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)
    registry_client = registry or httpx.Client(base_url=settings.registry_url, timeout=10.0)
    topology = RegistryTopology(registry_client)
    if monitor is None:
        custody = EncryptedFileCustody(
            settings.key_dir, settings.key_passphrase.get_secret_value().encode()
        )
        delivery = SignedHttpDelivery(custody, settings.issuer_did, settings.key_id)
        if settings.migrate_on_start:
            upgrade(engine, MIGRATIONS)
        monitor = OutageMonitor(
            OutageStore(engine),
            topology,
            delivery,
            Issuer(settings.issuer_did, settings.issuer_name),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = create_service_app(
        title="IES outages",
        description="Feeder-status ingest, outage notices and IEEE 1366 reliability indices.",
        version="0.1.0",
        routers=[router],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.monitor = monitor
    app.state.codes = topology
    app.state.mapping = mapping or NormalisedStatus()
    app.state.seen = StoredSeenEvents(monitor.store)
    app.state.ingest_token = settings.feeder_status_token.get_secret_value() or None
    app.state.feeder_energy = ScadaFeederEnergy(monitor.store, metered)
    app.state.engine = engine
    return app


app = LazyApp(create_app)
