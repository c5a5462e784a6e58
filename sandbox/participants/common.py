"""What every sandbox participant's process shares: its settings, its plan entry, its
key custody, its own web host's ``/.well-known`` files, and lifespan composition.

A participant runs as ``uvicorn sandbox.participants.<role>:app`` with
``IES_SANDBOX_PLAN`` (the plan file), ``IES_SANDBOX_NAME`` (which member it is),
``IES_KEY_PASSPHRASE`` (its custody) and ``IES_DATABASE_URL`` (its own database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Engine

from credentials.app import CredentialSettings
from credentials.did import did_document
from credentials.keys import EncryptedFileCustody
from kernel.access import public
from kernel.migrations import upgrade
from kernel.ratelimit import install_rate_limits_from
from kernel.settings import ServiceSettings
from protocol.participant import BecknParticipant
from protocol.receiving import Handler, RequestCheck
from protocol.signing import CustodySigner
from registry.directory.client import HttpKeyLookup
from sandbox.plan import AUTHORITY, BECKN_KEY, OWNER_KEY, TRUST_REGISTRY, Member, Plan


class ParticipantSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    sandbox_plan: Path = Path("var/sandbox/plan.json")
    sandbox_name: str = "registry"
    key_passphrase: SecretStr = SecretStr("")


class ParticipantContext:
    """One participant's view of the network: itself, its neighbours, its custody."""

    def __init__(self, settings: ParticipantSettings | None = None) -> None:
        self.settings = settings or ParticipantSettings()
        self.plan = Plan.read(self.settings.sandbox_plan)
        self.me: Member = self.plan.member(self.settings.sandbox_name)
        self.key_dir = self.plan.key_dir(self.me.name)
        self.passphrase = self.settings.key_passphrase
        self.custody = EncryptedFileCustody(
            self.key_dir, self.passphrase.get_secret_value().encode()
        )

    @property
    def directory_url(self) -> str:
        return self.plan.directory.url

    def service_kwargs(self) -> dict[str, Any]:
        """The settings every block's service takes from the participant's own."""
        return {
            "database_url": self.settings.database_url,
            "log_level": self.settings.log_level,
            "log_format": self.settings.log_format,
            "migrate_on_start": True,
        }


def identity_router(context: ParticipantContext, *, did: bool = True) -> APIRouter:
    """The participant's own web host: the DeDi domain challenge its operator placed
    there (a file, as on any web server) and, unless a block serves it, its did:web
    document declaring the Beckn signing key of its subscriber record."""
    router = APIRouter(tags=["participant host"])
    me = context.me

    @router.get(
        "/.well-known/dedi-challenge",
        dependencies=[public("the DeDi domain challenge must be readable by the directory")],
        response_class=PlainTextResponse,
    )
    def challenge(request: Request) -> PlainTextResponse:
        host = request.headers.get("host", "").lower()
        path = context.plan.challenge_file(host)
        if host != me.host or not path.exists():
            return PlainTextResponse("not found", status_code=404)
        return PlainTextResponse(path.read_text())

    if did:

        @router.get(
            "/.well-known/did.json",
            dependencies=[public("a did:web document is public by definition")],
            summary="This participant's did:web document",
        )
        def did_json(request: Request) -> JSONResponse:
            if request.headers.get("host", "").lower() != me.host:
                return JSONResponse({"detail": "no DID here"}, status_code=404)
            key = context.custody.public_key(BECKN_KEY)
            document = did_document(me.did, [key])
            return JSONResponse(document.to_json(), media_type="application/did+json")

    return router


Hook = Callable[[], None]


def add_lifespan(app: FastAPI, start: Hook, stop: Hook) -> None:
    """Run ``start`` after the app's own start-up and ``stop`` before its shutdown."""
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            start()
            try:
                yield state
            finally:
                stop()

    app.router.lifespan_context = lifespan


def beckn_participant(
    context: ParticipantContext,
    engine: Engine,
    handler: Handler,
    http: httpx.Client,
    directory: httpx.Client,
    checks: Sequence[tuple[str, RequestCheck]] = (),
) -> BecknParticipant:
    """This participant's Beckn side over its own database, keys and the directory
    (``checks``: receiver steps of its own, e.g. a data provider's ``checkPageCursor``)."""
    upgrade(engine, "protocol:migrations")
    me = context.me
    return BecknParticipant(
        engine,
        CustodySigner(context.custody, me.host, BECKN_KEY),
        HttpKeyLookup(directory),
        frozenset(me.networks),
        handler,
        http,
        checks=checks,
    )


def prepend_routes(app: FastAPI, router: APIRouter) -> None:
    """Mount ``router`` ahead of the app's own routes (its answer wins on a shared path)."""
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added


def issuer_settings(context: ParticipantContext, *, issuer: bool = True) -> CredentialSettings:
    """The credentials service's settings: an issuer signing as this participant's
    did:web, or (``issuer=False``) a verifier only; both resolve DIDs in the sandbox."""
    me = context.me
    return CredentialSettings(
        **context.service_kwargs(),
        public_url=me.url,
        directory_url=context.directory_url,
        trust_namespace=AUTHORITY,
        trust_registry=TRUST_REGISTRY,
        hosts=context.plan.hosts,
        status_ttl_seconds=2.0,
        issuer_did=me.did if issuer else "",
        issuer_name=me.title,
        issuer_license_number=me.licence,
        key_dir=str(context.key_dir),
        key_passphrase=context.passphrase,
        owner_key_id=OWNER_KEY,
    )


def accept_machine_tokens(app: FastAPI, context: ParticipantContext) -> None:
    """This participant's doors that ``requires(...)`` a scope accept the directory's
    access tokens for its own host; the directory's key is looked up once and cached."""
    from sandbox.machine_auth import install_token_verification

    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    keys = HttpKeyLookup(directory, default_ttl=300.0)
    install_token_verification(app, context.plan, context.me.host, keys)
    install_rate_limits_from(app, context.settings)  # per address and per participant: 429


def machine_client(context: ParticipantContext, base_url: str, audience: str) -> httpx.Client:
    """An HTTP client calling ``audience``'s non-Beckn doors as this participant, with a
    machine token from the directory (private_key_jwt, signed by its subscriber key)."""
    from sandbox.machine_auth import token_client

    auth = token_client(context.plan, context.me, context.custody, audience)
    return httpx.Client(base_url=base_url, timeout=10, auth=auth)
