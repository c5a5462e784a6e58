"""The filings inbox as an ASGI app of its own (the regulator mounts its router instead).

Its ports come from the host: the directory's key lookup, the commission's signer,
the licensees it regulates and the policy point. ``create_app`` runs the inbox's
migrations on its database and serves ``/filings`` with the stack's problem details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from kernel.database import create_db_engine
from kernel.migrations import upgrade
from kernel.service import create_service_app
from kernel.settings import ServiceSettings
from protocol.filings.api import Inbox, router
from protocol.filings.service import FilingPolicy
from protocol.signing import Signer
from registry.directory.keys import KeyLookup

MIGRATIONS = "protocol.filings:migrations"


class FilingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    database_url: str = "sqlite:///./var/filings.db"
    migrate_on_start: bool = True


def create_app(
    settings: FilingSettings,
    *,
    keys: KeyLookup,
    signer: Signer,
    licensees: Mapping[str, str],
    policy: FilingPolicy,
) -> FastAPI:
    engine = create_db_engine(settings.database_url)
    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    inbox = Inbox(engine, keys, signer, licensees, policy)
    app = create_service_app(
        title="IES filings inbox",
        description="A commission's inbox of signed ARR filings, decided by the state's pack.",
        version="0.1.0",
        routers=[router(inbox)],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.engine = engine
    app.state.inbox = inbox
    return app
