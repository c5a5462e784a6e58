"""The credentials service as an ASGI app: ``uvicorn credentials.app:app``.

``create_app`` takes the issuers it signs for and the verifier's ports; the sandbox
wires them to the directory and the participants' hosts. Run on its own, it reads
one issuer and its neighbours from the environment (``IES_CREDENTIALS_*``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
from fastapi import FastAPI
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from credentials.api import did_router, router
from credentials.dedi import DediReader, DediWriter, HttpStatusLists
from credentials.did import DidResolver
from credentials.keys import EncryptedFileCustody, KeyAlgorithm, KeyExists
from credentials.ports import VerifierPorts
from credentials.resolution import DidIssuerKeys
from credentials.service import CredentialService, IssuerProfile
from kernel.database import create_db_engine
from kernel.logs import configure_logging
from kernel.migrations import upgrade
from kernel.service import LazyApp, create_service_app
from kernel.settings import ServiceSettings
from kernel.tokens import install_token_settings

MIGRATIONS = "credentials:migrations"


class CredentialSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IES_CREDENTIALS_", extra="ignore")

    database_url: str = "sqlite:///./var/credentials.db"
    migrate_on_start: bool = True
    public_url: str = "http://127.0.0.1:8104"
    directory_url: str = "http://127.0.0.1:8101"  # where this service reaches the directory
    directory_public_url: str = ""  # what credentialStatus ids name (defaults to the above)
    trust_namespace: str = "indiaenergystack.in"
    trust_registry: str = "credential-issuers"
    hosts: dict[str, str] = Field(default_factory=dict)  # the sandbox's DNS for did:web
    status_ttl_seconds: float = 30.0
    status_list_ttl_seconds: float = 300.0
    did_ttl_seconds: float = 300.0
    issuer_did: str = ""
    issuer_name: str = ""
    issuer_license_number: str | None = None
    key_dir: str = "var/keys/credentials"
    key_passphrase: SecretStr = SecretStr("")
    owner_key_id: str = "owner-1"


def verifier_ports(
    settings: CredentialSettings, directory: httpx.Client, client: httpx.Client
) -> tuple[VerifierPorts, DediReader, HttpStatusLists]:
    reader = DediReader(
        directory,
        trust_namespace=settings.trust_namespace,
        trust_registry=settings.trust_registry,
        ttl=settings.status_ttl_seconds,
    )
    keys = DidIssuerKeys(DidResolver(settings.hosts, client), reader, ttl=settings.did_ttl_seconds)
    lists = HttpStatusLists(settings.hosts, client, keys, ttl=settings.status_list_ttl_seconds)
    return VerifierPorts(keys, reader, reader, lists), reader, lists


def create_app(
    settings: CredentialSettings | None = None,
    issuers: dict[str, IssuerProfile] | None = None,
    ports: VerifierPorts | None = None,
) -> FastAPI:
    settings = settings or CredentialSettings()
    configure_logging(settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url)
    directory = httpx.Client(base_url=settings.directory_url, timeout=10)
    client = httpx.Client(timeout=10)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(directory.close)
        await run_in_threadpool(client.close)
        engine.dispose()

    if settings.migrate_on_start:
        upgrade(engine, MIGRATIONS)
    if ports is None:
        ports = verifier_ports(settings, directory, client)[0]
    if issuers is None:
        issuers = {}
        if settings.issuer_did:
            custody = EncryptedFileCustody(
                __import__("pathlib").Path(settings.key_dir),
                settings.key_passphrase.get_secret_value().encode(),
            )
            for key_id, algorithm in (
                ("vc-es256", KeyAlgorithm.P256),
                ("vc-ed25519", KeyAlgorithm.ED25519),
            ):
                with suppress(KeyExists):
                    custody.create(key_id, algorithm)
            profile_ns = (
                settings.issuer_did.removeprefix("did:web:").split(":")[0].replace("%3A", ":")
            )
            writer = DediWriter(
                directory,
                profile_ns,
                f"{profile_ns}#{settings.owner_key_id}",
                lambda message: custody.sign(settings.owner_key_id, message),
            )
            issuers[settings.issuer_did] = IssuerProfile(
                did=settings.issuer_did,
                name=settings.issuer_name or settings.issuer_did,
                custody=custody,
                revocations=writer,
                directory_url=settings.directory_public_url or settings.directory_url,
                license_number=settings.issuer_license_number,
            )
    app = create_service_app(
        title="IES credentials",
        description=(
            "W3C Verifiable Credentials 2.0 for the IES credential families and ours: issue "
            "(VC-JOSE, Data Integrity), verify (signature, trust registry, validity, schema, "
            "status), revoke/suspend through the DeDi revocation registry and Bitstring "
            "Status Lists, presentations with challenge and domain, wallet delivery."
        ),
        version="0.1.0",
        routers=[router, did_router],
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
        settings=settings,  # its abuse limits (IES_RATE_*): 429 with Retry-After
    )
    app.state.engine = engine
    app.state.settings = settings
    install_token_settings(app, settings)  # machine tokens for its requires(...) doors
    app.state.credentials = CredentialService(engine, issuers, ports, settings.public_url)
    return app


app = LazyApp(create_app)
