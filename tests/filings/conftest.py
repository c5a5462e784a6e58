"""The filings inbox under test: real shipped packs, real signatures, a real database.

Three directory identities sign with their own Ed25519 keys: two licensees (one per
state) and a stranger the commission does not regulate; the commission signs its
receipts with a fourth. ``submission()`` builds a valid filing the way a discom does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient
from sqlmodel import Session

from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from policy_packs.decision import decide
from protocol.filings.app import FilingSettings, create_app
from protocol.filings.client import signed_headers
from protocol.filings.models import PackDecision, RuleCited
from protocol.signing import parse_signature
from registry.directory.keys import Membership, Refusal, RefusalReason, SigningKey
from tests.tokens import own_back_office

NOW = datetime.now(UTC)
MH, KA, STRANGER, COMMISSION = (
    "discom-mh.example",
    "discom-ka.example",
    "stranger.example",
    "regulator.example",
)
LICENSEES = {MH: "IN-MH", KA: "IN-KA"}
KEYS = {name: ed25519.Ed25519PrivateKey.generate() for name in (MH, KA, STRANGER, COMMISSION)}


@dataclass(frozen=True)
class KeySigner:
    subscriber_id: str
    key_id: str = "k1"

    def sign(self, message: bytes) -> bytes:
        return KEYS[self.subscriber_id].sign(message)


class Directory:
    """The KeyLookup port: every identity above, one key each; ``revoked`` are refused."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        if subscriber_id not in KEYS or key_id != "k1":
            return Refusal(RefusalReason.UNKNOWN, f"no key {subscriber_id}|{key_id}")
        if subscriber_id in self.revoked:
            return Refusal(RefusalReason.REVOKED, f"{subscriber_id} is revoked")
        return SigningKey(
            subscriber_id, key_id, KEYS[subscriber_id].public_key().public_bytes_raw(),
            NOW - timedelta(days=1), NOW + timedelta(days=365), "SUBSCRIBED", "BAP",
            f"http://{subscriber_id}/beckn", f"did:web:{subscriber_id}",
            memberships=(Membership("a/b", NOW - timedelta(days=1), None),),
        )  # fmt: skip


class ShippedPacks:
    """The inbox's policy port over the shipped, signed packs (no decision log)."""

    def __init__(self) -> None:
        self.catalogue = load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))
        self.engine = EmbeddedEngine()
        self.calls = 0

    def decide(
        self, session: Session, jurisdiction: str, document: Mapping[str, Any], as_of: date,
        reference: str,
    ) -> PackDecision:  # fmt: skip
        self.calls += 1
        decision = decide(self.catalogue, self.engine, jurisdiction=jurisdiction,
                          domain="filing", document=document, as_of=as_of)  # fmt: skip
        return PackDecision(
            allow=decision.allow,
            violations=[RuleCited(code=v.code, message=v.message, clause=v.clause)
                        for v in decision.violations],
            pack_id=decision.pack.id, pack_version=decision.pack.version,
            pack_digest=decision.pack.digest,
        )  # fmt: skip


_PACKS: ShippedPacks | None = None


def shipped_packs() -> ShippedPacks:
    global _PACKS
    if _PACKS is None:
        _PACKS = ShippedPacks()
    return _PACKS


def year_label(today: date) -> str:
    """The next year whose ARR is still due on ``today`` (122 days before 1 April)."""
    start = date(today.year if today.month < 4 else today.year + 1, 4, 1)
    while today > start - timedelta(days=122):
        start = date(start.year + 1, 4, 1)
    return f"FY {start.year}-{(start.year + 1) % 100:02d}"


def submission(
    ref: str = "arr-1",
    *,
    feeders: list[dict[str, Any]] | None = None,
    supersedes: str | None = None,
    licensee: str = "MSEDCL",
) -> dict[str, Any]:
    feeders = feeders or [
        {"feeder": "F1", "inputKwh": 1000.0, "billedKwh": 900.0, "billedInr": 7000.0,
         "collectedInr": 6650.0},
        {"feeder": "F2", "inputKwh": 800.0, "billedKwh": 680.0, "billedInr": 5000.0,
         "collectedInr": 4500.0},
    ]  # fmt: skip
    items = [
        {"lineItemId": "power-purchase-cost", "category": "VARIABLE",
         "subCategory": "POWER_PURCHASE", "head": "Power Purchase Cost", "amount": 9.6e6},
        {"lineItemId": "net-arr", "category": "ARR", "subCategory": "NET_ARR",
         "head": "ARR", "amount": 1.2e7, "formula": "power-purchase-cost"},
        {"lineItemId": "revenue-at-existing-tariff", "category": "INCOME",
         "subCategory": "REVENUE_CREDIT", "head": "Revenue", "amount": -1.1e7},
        {"lineItemId": "revenue-gap", "category": "SUB_TOTAL", "subCategory": "TOTAL",
         "head": "Gap", "amount": 1e6, "formula": "net-arr + revenue-at-existing-tariff"},
    ]  # fmt: skip
    body: dict[str, Any] = {
        "arrFiling": {
            "objectType": "ARR_FILING", "id": ref, "filingId": f"MERC/ARR/{licensee}",
            "licensee": licensee, "regulatoryCommission": "MERC", "currency": "INR",
            "unitScale": "ABSOLUTE", "filingType": "REVISED" if supersedes else "ANNUAL",
            "fiscalYears": [{"fiscalYear": year_label(NOW.date()), "amountBasis": "PROPOSED",
                             "lineItems": items}],
        },
        "energyAccount": {"periodStart": "2026-11-01", "periodEnd": "2026-11-07",
                          "feeders": feeders, "salesForecastMu": 80.5,
                          "renewablePurchasePct": 34.2},
        "lossReductionPlan": "RDSS action plan",
    }  # fmt: skip
    if supersedes:
        body["supersedes"] = supersedes
    return body


@dataclass
class Filer:
    client: TestClient
    directory: Directory
    policy: ShippedPacks

    def post(self, body: dict[str, Any] | bytes, sender: str = MH, **headers: str) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signed = signed_headers(raw, KeySigner(sender))
        signed.update(headers)
        response = self.client.post("/filings", content=raw, headers=signed)
        response.request_signature = parse_signature(signed["Authorization"]).signature
        return response


@pytest.fixture
def inbox_app(make_database: Callable[..., str]) -> Any:
    url = make_database("protocol.filings:migrations")
    directory = Directory()
    app = create_app(
        FilingSettings(database_url=url, log_level="WARNING"),
        keys=directory, signer=KeySigner(COMMISSION), licensees=LICENSEES,
        policy=shipped_packs(),
    )  # fmt: skip
    app.state.directory = directory
    return app


@pytest.fixture
def filer(inbox_app: Any) -> Any:
    with TestClient(inbox_app) as client:
        own_back_office(inbox_app, client, "regulator.test")  # reads as the commission
        yield Filer(client, inbox_app.state.directory, shipped_packs())
