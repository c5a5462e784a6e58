"""The policy decision service as an ASGI app: ``uvicorn policy_packs.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from kernel.settings import ServiceSettings
from kernel.tokens import install_token_settings
from policy_packs.api import router
from policy_packs.decision import Engine
from policy_packs.engine import EmbeddedEngine, OpaEngine
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, Catalogue, load_catalogue
from policy_packs.signing import FileKeyring

MIGRATIONS = "policy_packs:migrations"


class PolicySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    database_url: str = "sqlite:///./var/policy.db"
    migrate_on_start: bool = True
    opa_url: str | None = None
    policy_packs_dir: Path = SHIPPED_PACKS
    policy_keyring: Path = SHIPPED_KEYRING


def decision_engine(settings: PolicySettings) -> Engine:
    """An OPA server when IES_OPA_URL is set, the embedded interpreter otherwise."""
    return OpaEngine(settings.opa_url) if settings.opa_url else EmbeddedEngine()


def create_app(
    settings: PolicySettings | None = None,
    *,
    catalogue: Catalogue | None = None,
    local: EmbeddedEngine | None = None,
) -> FastAPI:
    """The service; ``catalogue`` and ``local`` let a host (the sandbox, the tests) share
    packs it has already verified and compiled."""
    settings = settings or PolicySettings()
    configure_logging(settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)
    # Every pack is verified (signature, Rego v1, manifest) before the service answers.
    if catalogue is None:
        keyring = FileKeyring(settings.policy_keyring)
        catalogue = load_catalogue(settings.policy_packs_dir, keyring)
    local = local or EmbeddedEngine()
    for pack in catalogue.packs:
        local.prepare(pack)
    decider = decision_engine(settings) if settings.opa_url else local

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(decider, OpaEngine):
            decider.close()
        engine.dispose()

    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)
    app = create_service_app(
        title="IES policy decision service",
        description=(
            "Signed Rego policy packs per state and programme: decisions with the violated "
            "rules and the clauses they encode, the decision log, and OPA's REST Data API."
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
    app.state.catalogue = catalogue
    app.state.local_engine = local
    app.state.decider = decider
    return app


app = LazyApp(create_app)
