"""The registry as an ASGI service: ``uvicorn registry.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from kernel.settings import ServiceSettings
from kernel.tokens import install_token_settings
from registry.api import router
from registry.directory.api import install_directory

MIGRATIONS = "registry:migrations"


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    database_url: str = "sqlite:///./var/registry.db"
    migrate_on_start: bool = True
    import_batch_size: int = 2000


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    configure_logging(settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)
    app = create_service_app(
        title="IES registry",
        description=(
            "Persistent, opaque identifiers for consumers, connections, meters and grid "
            "assets; legacy-identifier mapping; the network topology with history."
        ),
        version="0.1.0",
        routers=[router],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.engine = engine
    app.state.settings = settings
    install_token_settings(app, settings)  # machine tokens for its requires(...) doors
    install_directory(app, engine)
    return app


app = LazyApp(create_app)
