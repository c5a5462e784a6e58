"""The trade ledger and export/import records, through their HTTP API on a real database,
with writers onboarded in the real directory and signing with their subscriber keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from registry.app import RegistrySettings, create_app
from registry.directory.client import CallbackSigner, DirectoryWriter
from registry.directory.proof import TXT_PREFIX, TxtRecordProof
from registry.directory.service import Directory
from registry.directory.signing import HEADER, sign_write
from registry.ledger.api import install_ledger
from registry.ledger.client import LedgerClient
from registry.ledger.service import LedgerWriters
from tests.registry.conftest import assert_problem
from tests.tokens import TestIssuer, authorise_registry

PLATFORM, DISCOM, BANK = "p2p.example", "discom-a.example", "bank.example"
BLOCK = "2026-11-20T11:00:00+05:30"


@dataclass
class World:
    client: TestClient
    writers: dict[str, LedgerClient]
    custody: dict[str, EncryptedFileCustody]


def _onboard(client: TestClient, txt: dict[str, list[str]], host: str, keys: Path):
    custody = EncryptedFileCustody(keys / host, b"correct horse battery staple")
    owner = custody.create("owner-1", KeyAlgorithm.ED25519)
    beckn = custody.create("k1", KeyAlgorithm.ED25519)
    encryption = custody.create("k1-enc", KeyAlgorithm.X25519)
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
        "subscriber_id": host, "key_id": "k1", "subscriber_url": f"https://{host}/beckn",
        "type": "BPP", "domains": ["ies:p2p-trading"], "signing_public_key": beckn.b64,
        "encryption_public_key": base64.b64encode(encryption.raw).decode(),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(), "states": ["IN-MH"],
    }  # fmt: skip
    put = writer.put_record(host, "subscribers.beckn.one", "k1", details)
    assert put.status_code == 200, put.text
    return custody


def _signer(host: str, custody: EncryptedFileCustody) -> CallbackSigner:
    """The participant's subscriber key (k1) signing its ledger writes."""
    return CallbackSigner(f"{host}#k1", lambda message: custody.sign("k1", message))


@pytest.fixture
def world(make_database, tmp_path: Path) -> Iterator[World]:
    url = make_database("registry:migrations")
    app = create_app(RegistrySettings(database_url=url, migrate_on_start=False,
                                      log_level="WARNING"))  # fmt: skip
    txt: dict[str, list[str]] = {}
    directory = Directory(app.state.engine, {"txt": TxtRecordProof(txt)})
    app.state.directory = directory
    install_ledger(app, app.state.engine, directory,
                   LedgerWriters(frozenset({PLATFORM}), frozenset({DISCOM})))  # fmt: skip
    with TestClient(app) as client:
        authorise_registry(app, client)  # ledger reads need a machine token (ledger:read)
        custody = {h: _onboard(client, txt, h, tmp_path) for h in (PLATFORM, DISCOM, BANK)}
        writers = {host: LedgerClient(client, _signer(host, c)) for host, c in custody.items()}
        yield World(client, writers, custody)
    app.state.engine.dispose()


def trade(n: int = 1, **overrides: str) -> dict:
    return {
        "trade_id": f"T-{n}", "block_start": BLOCK, "seller": "CON-S", "buyer": "CON-B",
        "seller_meter": f"did:web:{DISCOM}:assets:meter:SM1",
        "buyer_meter": f"did:web:{DISCOM}:assets:meter:SM2", "quantity_kwh": "0.500",
        "price_inr_per_kwh": "5.75", "jurisdiction": "IN-MH", **overrides,
    }  # fmt: skip


def meter_block(meter: str = "SM1", start: str = BLOCK, export: str = "0.4") -> dict:
    return {"meter": f"did:web:{DISCOM}:assets:meter:{meter}", "block_start": start,
            "export_kwh": export, "import_kwh": "0"}  # fmt: skip


def test_a_platform_records_a_trade_once_and_a_retry_changes_nothing(world: World):
    first = world.writers[PLATFORM].record_trade(trade())
    assert first.status_code == 201, first.text
    assert first.json()["platform"] == PLATFORM
    again = world.writers[PLATFORM].record_trade(trade(quantity_kwh="0.5"))  # same amount
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    conflict = world.writers[PLATFORM].record_trade(trade(price_inr_per_kwh="6.00"))
    assert_problem(conflict, 409, "ledger-trade-conflict")
    got = world.client.get(f"/ledger/trades/{first.json()['id']}").json()
    assert got["price_inr_per_kwh"] == "5.75"
    assert world.client.get("/ledger/trades", params={"party": "CON-B"}).json()["items"] == [got]


def test_only_platforms_record_trades_and_only_discoms_their_own_meters(world: World):
    assert_problem(world.writers[DISCOM].record_trade(trade()), 403, "ledger-writer-not-allowed")
    assert_problem(world.writers[BANK].record_trade(trade()), 403, "ledger-writer-not-allowed")
    refused = world.writers[PLATFORM].record_meter_blocks([meter_block()])
    assert_problem(refused, 403, "ledger-writer-not-allowed")
    foreign = {**meter_block(), "meter": "did:web:discom-b.example:assets:meter:SM9"}
    assert_problem(world.writers[DISCOM].record_meter_blocks([foreign]), 403,
                   "ledger-writer-not-allowed")  # fmt: skip
    assert world.client.get("/ledger/trades").json()["items"] == []
    assert world.client.get("/ledger/meter-blocks").json()["items"] == []


def test_unsigned_forged_and_moved_writes_are_refused(world: World):
    body = json.dumps(trade()).encode()
    headers = {"content-type": "application/json"}
    unsigned = world.client.post("/ledger/trades", content=body, headers=headers)
    assert_problem(unsigned, 401, "ledger-signature-invalid")
    # The bank signs but claims to be the platform.
    bank = world.custody[BANK]
    forged = sign_write(CallbackSigner(f"{PLATFORM}#k1", lambda m: bank.sign("k1", m)),
                        "POST", "/ledger/trades", body, datetime.now(UTC))  # fmt: skip
    refused = world.client.post("/ledger/trades", content=body, headers={**headers, HEADER: forged})
    assert_problem(refused, 401, "ledger-signature-invalid")
    # The platform's signature over another body, or for another path.
    platform = world.custody[PLATFORM]
    signer = CallbackSigner(f"{PLATFORM}#k1", lambda m: platform.sign("k1", m))
    other = sign_write(signer, "POST", "/ledger/trades", b"{}", datetime.now(UTC))
    refused = world.client.post("/ledger/trades", content=body, headers={**headers, HEADER: other})
    assert_problem(refused, 401, "ledger-signature-invalid")
    moved = sign_write(signer, "POST", "/ledger/meter-blocks", body, datetime.now(UTC))
    refused = world.client.post("/ledger/trades", content=body, headers={**headers, HEADER: moved})
    assert_problem(refused, 401, "ledger-signature-invalid")
    stale = sign_write(signer, "POST", "/ledger/trades", body,
                       datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    refused = world.client.post("/ledger/trades", content=body, headers={**headers, HEADER: stale})
    assert_problem(refused, 401, "ledger-signature-invalid")
    assert world.client.get("/ledger/trades").json()["items"] == []


def test_bad_entries_are_refused_and_change_nothing(world: World):
    platform = world.writers[PLATFORM]
    assert platform.record_trade(trade(block_start="2026-11-20T11:05:00+05:30")).status_code == 422
    assert platform.record_trade(trade(quantity_kwh="0.0001")).status_code == 422
    assert platform.record_trade(trade(block_start="2026-11-20T11:00:00")).status_code == 422
    assert_problem(platform.record_trade(trade(buyer="CON-S")), 422, "ledger-input-invalid")
    twice = world.writers[DISCOM].record_meter_blocks([meter_block(), meter_block()])
    assert_problem(twice, 422, "ledger-input-invalid")
    assert world.client.get("/ledger/trades").json()["items"] == []
    assert world.client.get("/ledger/meter-blocks").json()["items"] == []


def test_meter_blocks_are_idempotent_and_a_correction_keeps_the_history(world: World):
    discom = world.writers[DISCOM]
    first = discom.record_meter_blocks([meter_block(), meter_block("SM2")])
    assert first.json() == {"created": 2, "corrected": 0, "unchanged": 0}
    again = discom.record_meter_blocks([meter_block(export="0.400"), meter_block("SM2")])
    assert again.json() == {"created": 0, "corrected": 0, "unchanged": 2}
    fixed = discom.record_meter_blocks([meter_block(export="0.350")])
    assert fixed.json() == {"created": 0, "corrected": 1, "unchanged": 0}
    meter = f"did:web:{DISCOM}:assets:meter:SM1"
    current = world.client.get("/ledger/meter-blocks", params={"meter": meter}).json()["items"]
    assert [(r["export_kwh"], r["version"]) for r in current] == [("0.350", 2)]
    history = world.client.get(
        "/ledger/meter-blocks", params={"meter": meter, "history": "true"}
    ).json()["items"]
    assert [(r["export_kwh"], r["version"], r["current"]) for r in history] == [
        ("0.4", 1, False),
        ("0.350", 2, True),
    ]


def test_reads_are_paged_by_cursor_bound_to_their_query(world: World):
    start = datetime.fromisoformat(BLOCK)
    records = [meter_block(start=(start + timedelta(minutes=15 * n)).isoformat())
               for n in range(7)]  # fmt: skip
    assert world.writers[DISCOM].record_meter_blocks(records).status_code == 200
    for n in range(5):
        assert world.writers[PLATFORM].record_trade(trade(n)).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "discom": DISCOM} | ({"cursor": cursor} if cursor else {})
        page = world.client.get("/ledger/meter-blocks", params=params).json()
        seen += [r["block_start"] for r in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert len(seen) == 7
    assert len(set(seen)) == 7
    page = world.client.get("/ledger/trades", params={"limit": 2}).json()
    assert len(page["items"]) == 2
    wrong = world.client.get("/ledger/trades", params={"limit": 2, "party": "CON-S",
                                                       "cursor": page["next_cursor"]})  # fmt: skip
    assert_problem(wrong, 400, "invalid-cursor")
    window = world.client.get("/ledger/meter-blocks", params={
        "since": (start + timedelta(minutes=30)).isoformat(),
        "until": (start + timedelta(minutes=60)).isoformat()}).json()["items"]  # fmt: skip
    assert len(window) == 2
    assert world.client.get("/ledger/trades", params={"since": "noon"}).status_code == 422


def test_the_same_trade_and_block_written_at_once_are_recorded_once(world: World):
    with ThreadPoolExecutor(6) as pool:
        trades = list(pool.map(lambda _: world.writers[PLATFORM].record_trade(trade(9)), range(6)))
        blocks = list(
            pool.map(lambda _: world.writers[DISCOM].record_meter_blocks([meter_block()]), range(6))
        )
    assert sorted(r.status_code for r in trades) == [200] * 5 + [201]
    assert sum(r.json()["created"] for r in blocks) == 1
    assert len(world.client.get("/ledger/trades").json()["items"]) == 1
    assert (
        len(world.client.get("/ledger/meter-blocks", params={"history": "true"}).json()["items"])
        == 1
    )


def test_ledger_reads_need_a_machine_token_with_ledger_read(world: World) -> None:
    """Issue 15: trades name prosumers' meters; only the network's participants (and
    the console) read them, each with its own token."""
    authorised = world.client.headers.pop("Authorization")
    try:
        refused = world.client.get("/ledger/trades")
        assert refused.status_code == 401
        assert refused.json()["type"] == "/problems/unauthenticated"
        issuer = TestIssuer()  # another key: its token does not verify here
        headers = issuer.headers("registry.test", ["ledger:read"])
        forged = world.client.get("/ledger/meter-blocks", headers=headers)
        assert forged.status_code == 401
    finally:
        world.client.headers["Authorization"] = authorised
    assert world.client.get("/ledger/trades").status_code == 200
