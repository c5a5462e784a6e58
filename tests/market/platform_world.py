"""A P2P platform process as the sandbox builds it (its plan, context, custody, its own
credentials service and database), over a real ledger (the registry's, with the
platform and a discom onboarded in the real directory, writes signed with their
subscriber keys) and a real policy decision service (the shipped, signed packs).

Only what crosses a process boundary is in-process here (``TestClient``); nothing is
stubbed. A "restart" is a new :class:`Platform` over the same databases."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from credentials.app import create_app as create_credentials_app
from credentials.did import did_key_for
from credentials.keys import EncryptedFileCustody, KeyAlgorithm, KeyExists
from kernel.database import create_db_engine
from policy_packs.app import PolicySettings
from policy_packs.app import create_app as create_policy_app
from policy_packs.engine import EmbeddedEngine
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, Catalogue, load_catalogue
from policy_packs.signing import FileKeyring
from protocol.market.auction import Block
from registry.app import RegistrySettings
from registry.app import create_app as create_registry_app
from registry.directory.client import CallbackSigner, DirectoryWriter
from registry.directory.proof import TXT_PREFIX, TxtRecordProof
from registry.directory.service import Directory
from registry.ledger.api import MIGRATIONS as LEDGER_MIGRATIONS
from registry.ledger.api import install_ledger
from registry.ledger.client import LedgerClient
from registry.ledger.service import Ledger, LedgerWriters
from sandbox.participants.common import ParticipantContext, ParticipantSettings, issuer_settings
from sandbox.participants.p2p import Inbox, Platform
from sandbox.participants.p2p_prosumers import Prosumer
from sandbox.participants.p2p_views import MIGRATIONS as MARKET_MIGRATIONS
from sandbox.participants.p2p_views import block_start, platform_records
from sandbox.plan import BECKN_KEY, Plan, network_plan
from tests.tokens import TestIssuer, authorise_registry

PASSPHRASE = "correct horse battery staple"
DAY = date(2026, 11, 21)
PLATFORM_DB = (MARKET_MIGRATIONS, "credentials:migrations")


def _onboard(client: TestClient, txt: dict[str, list[str]], host: str, custody: Any) -> None:
    """``host`` in the directory with its Beckn key ``k1`` (as the sandbox onboards it)."""
    for key_id, algorithm in (("owner-1", KeyAlgorithm.ED25519), (BECKN_KEY, KeyAlgorithm.ED25519),
                              ("k1-enc", KeyAlgorithm.X25519)):  # fmt: skip
        with suppress(KeyExists):
            custody.create(key_id, algorithm)
    owner, beckn, encryption = (custody.public_key(k) for k in ("owner-1", BECKN_KEY, "k1-enc"))
    writer = DirectoryWriter(
        client, CallbackSigner(f"{host}#owner-1", lambda m: custody.sign("owner-1", m))
    )
    claimed = writer.claim(host, "owner-1", owner.b64, proof_method="txt")
    assert claimed.status_code == 201, claimed.text
    txt[TXT_PREFIX + host] = [claimed.json()["challenge"]]
    assert client.post(f"/dedi/namespaces/{host}/verify").status_code == 200
    assert writer.create_registry(host, "subscribers.beckn.one", "subscriber").status_code == 201
    now = datetime.now(UTC)
    details = {
        "subscriber_id": host, "key_id": BECKN_KEY, "subscriber_url": f"https://{host}/beckn",
        "type": "BAP", "domains": ["ies:p2p-trading"], "signing_public_key": beckn.b64,
        "encryption_public_key": base64.b64encode(encryption.raw).decode(),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(), "states": ["IN-MH"],
    }  # fmt: skip
    assert writer.put_record(host, "subscribers.beckn.one", BECKN_KEY, details).status_code == 200


@cache
def _catalogue() -> Catalogue:
    """The shipped packs, their signatures verified (once per test process)."""
    return load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))


@cache
def _engine() -> EmbeddedEngine:
    return EmbeddedEngine()


@dataclass
class Wallet:
    """A prosumer's wallet: its did:key signs its orders."""

    key: Ed25519PrivateKey
    holder: str

    @classmethod
    def new(cls) -> Wallet:
        key = Ed25519PrivateKey.generate()
        return cls(key, did_key_for(KeyAlgorithm.ED25519, key.public_key().public_bytes_raw()))

    def order(self, **fields: Any) -> tuple[bytes, str]:
        body = json.dumps({**fields, "holder": self.holder}, separators=(",", ":")).encode()
        return body, base64.urlsafe_b64encode(self.key.sign(body)).decode().rstrip("=")


class World:
    """The network around the platform: the registry (directory + ledger), the
    regulator, and the platform's plan and keys."""

    def __init__(self, make_database: Any, tmp_path: Path) -> None:
        self.make_database = make_database
        self.plan: Plan = network_plan(8620, tmp_path / "sbx")
        self.plan.data_dir.mkdir(parents=True)
        self.plan_path = self.plan.write()
        self.platform_member = self.plan.member("p2p")
        self.discom = self.plan.member("discom-mh")
        registry = create_registry_app(RegistrySettings(
            database_url=make_database("registry:migrations"), migrate_on_start=False,
            log_level="WARNING"))  # fmt: skip
        txt: dict[str, list[str]] = {}
        self.directory = Directory(registry.state.engine, {"txt": TxtRecordProof(txt)})
        registry.state.directory = self.directory
        self.writers = LedgerWriters(frozenset({self.platform_member.host}),
                                     frozenset({self.discom.host}))  # fmt: skip
        install_ledger(registry, registry.state.engine, self.directory, self.writers)
        self.registry_app = registry
        self.registry = TestClient(registry)
        authorise_registry(registry, self.registry)  # the platform's ledger reads: a token
        platform_custody = EncryptedFileCustody(
            self.plan.key_dir("p2p"), PASSPHRASE.encode()
        )  # the custody ParticipantContext opens
        _onboard(self.registry, txt, self.platform_member.host, platform_custody)
        discom_custody = EncryptedFileCustody(tmp_path / "discom-keys", PASSPHRASE.encode())
        _onboard(self.registry, txt, self.discom.host, discom_custody)
        signer = CallbackSigner(f"{self.discom.host}#{BECKN_KEY}",
                                lambda m: discom_custody.sign(BECKN_KEY, m))  # fmt: skip
        self.meters = LedgerClient(self.registry, signer)
        policy = create_policy_app(
            PolicySettings(database_url=make_database("policy_packs:migrations"),
                           migrate_on_start=False, log_level="WARNING"),
            catalogue=_catalogue(), local=_engine(),
        )  # fmt: skip
        self.policy_app = policy
        self.regulator = TestClient(policy)
        token = TestIssuer()
        token.install(policy, "regulator.test")
        self.regulator.headers.update(token.headers(
            "regulator.test", ["policy:evaluate"], subject=self.platform_member.host))  # fmt: skip
        self.ledger_engines: list[Any] = []
        self.fresh_ledger()

    def fresh_ledger(self) -> None:
        """An empty ledger (same directory, same writers): a new world's money."""
        engine = create_db_engine(self.make_database(LEDGER_MIGRATIONS))
        self.ledger_engines.append(engine)
        self.registry_app.state.ledger = Ledger(engine, self.directory, self.writers)

    def platform(self, database_url: str) -> PlatformProcess:
        return PlatformProcess(self, database_url)

    def ledger_trades(self) -> list[dict[str, Any]]:
        page = self.registry.get("/ledger/trades", params={"limit": 500})
        assert page.status_code == 200, page.text
        assert page.json()["next_cursor"] is None
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    def record_meters(self, readings: dict[tuple[str, int], tuple[str, str]]) -> None:
        """The discom records (meter, block) -> (export, import) kWh in the ledger."""
        records = [{"meter": meter, "block_start": block_start(Block(DAY, n)).isoformat(),
                    "export_kwh": export, "import_kwh": imported}
                   for (meter, n), (export, imported) in readings.items()]  # fmt: skip
        written = self.meters.record_meter_blocks(records)
        assert written.status_code in (200, 201), written.text

    def close(self) -> None:
        self.registry.close()
        self.regulator.close()
        self.registry_app.state.engine.dispose()
        self.policy_app.state.engine.dispose()
        for engine in self.ledger_engines:
            engine.dispose()


class PlatformProcess:
    """One run of the platform's process over ``database_url``: what ``p2p.create``
    builds, but the Beckn side (not used by onboarding, orders or clearing)."""

    def __init__(self, world: World, database_url: str) -> None:
        settings = ParticipantSettings(
            sandbox_plan=world.plan_path, sandbox_name="p2p", database_url=database_url,
            key_passphrase=SecretStr(PASSPHRASE), log_level="WARNING",
        )  # fmt: skip
        context = ParticipantContext(settings)
        self.app: FastAPI = create_credentials_app(issuer_settings(context))
        records = platform_records(self.app)
        no_beckn: Any = None  # delivery (Beckn) is the sandbox's end-to-end run's
        regulator, registry = world.regulator, world.registry
        self.platform = Platform(context, no_beckn, Inbox(), registry, regulator, records)
        self.world = world

    @property
    def service(self) -> Any:
        return self.app.state.credentials

    def admit(self, prosumer: Prosumer) -> None:
        """What a verified onboarding keeps (the permission id as the issuer names it)."""
        self.platform.prosumers.admit(prosumer, f"urn:uuid:permission-{prosumer.customer}")

    def close(self) -> None:
        self.app.state.engine.dispose()


def prosumer(world: World, wallet: Wallet, customer: str, *, der_kw: float = 0.0) -> Prosumer:
    return Prosumer(
        holder=wallet.holder, customer=customer,
        meter=f"did:web:{world.discom.host}:assets:meter:{customer}", discom=world.discom,
        category="domestic", sanctioned_load_kw=5.0, der_capacity_kw=der_kw,
        metering_scheme="net_billing" if der_kw else "none",
    )  # fmt: skip


def nets(statements: dict[str, Any]) -> dict[str, Decimal]:
    return {party: s.net_inr for party, s in statements.items()}


def worlds(make_database: Any, tmp_path: Path) -> Iterator[World]:
    world = World(make_database, tmp_path)
    try:
        yield world
    finally:
        world.close()
