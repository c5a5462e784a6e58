"""The installer's desk of DER application requests, without the network: a request
waits for the consumer; only a presentation the consumer's own wallet signed (for the
discom, holding their passport) approves it, only one signed for this request at the
installer declines it; every other decision is refused and changes nothing, and each
step is in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from credentials.did import did_key_for
from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from credentials.proofs import sign_jwt
from kernel.database import create_db_engine
from sandbox.participants.der_requests import service
from sandbox.participants.der_requests.errors import (
    NotAwaitingApproval,
    NotTheConsumer,
    RequestInvalid,
    RequestNotFound,
)
from sandbox.participants.der_requests.service import Decision, Draft
from sandbox.usecases.common import Wallet

DISCOM = "discom-mh.sandbox.ies.local"
INSTALLER = "installer.sandbox.ies.local"


@pytest.fixture
def engine(make_database: Any) -> Iterator[Engine]:
    engine = create_db_engine(make_database("sandbox.participants.der_requests:migrations"))
    yield engine
    engine.dispose()


def _wallet(folder: Path, name: str) -> Wallet:
    custody = EncryptedFileCustody(folder / name, b"test passphrase")
    raw = custody.create("wallet", KeyAlgorithm.ED25519).raw
    return Wallet(did_key_for(KeyAlgorithm.ED25519, raw), custody)


def _passport(holder: Wallet, subject: str) -> str:
    """An ElectricityCredential naming ``subject`` (the desk reads whose it claims to be;
    the discom verifies its issuer)."""
    claims = {
        "type": ["VerifiableCredential", "ElectricityCredential"],
        "credentialSubject": {"id": subject, "customerProfile": {"customerNumber": "C1"}},
    }
    return sign_jwt(claims, holder)


def _draft(consumer: Wallet) -> Draft:
    body: dict[str, Any] = {
        "consumerNumber": "170000000001",
        "consumerWallet": consumer.did,
        "discom": DISCOM,
        "discomName": "MSEDCL",
        "application": {"@type": "DERConnectionApplication",
                        "der": {"type": "solar_pv", "capacityKw": 3.0}, "scheme": "net_metering"},
        "credentials": ["licence.jwt"],
    }  # fmt: skip
    draft: Draft = service.read(Draft, body)
    return draft


def _approval(wallet: Wallet, passport_of: str, domain: str = DISCOM) -> Decision:
    presentation = wallet.present([_passport(wallet, passport_of)], "discom-challenge", domain)
    return Decision(decision="approve", presentation=presentation)


def _prepared(engine: Engine, consumer: Wallet) -> str:
    with Session(engine) as s:
        row = service.prepare(s, _draft(consumer), INSTALLER, "Sandbox Rooftop Solar")
        s.commit()
        return row.id


def _state(engine: Engine, request_id: str) -> tuple[str, list[str]]:
    with Session(engine) as s:
        row = service.get(s, request_id)
        return row.state, [e.kind for e in service.trail(s, request_id)]


def test_a_request_waits_and_says_what_is_shared_with_whom_and_why(
    engine: Engine, tmp_path: Path
) -> None:
    consumer = _wallet(tmp_path, "consumer")
    request_id = _prepared(engine, consumer)
    with Session(engine) as s:
        shown = service.view(service.get(s, request_id), service.trail(s, request_id))
    assert shown["state"] == "AWAITING_CONSUMER_APPROVAL"
    assert shown["notice"]["sharedWith"] == {"id": DISCOM, "name": "MSEDCL"}
    assert "ElectricityCredential" in shown["notice"]["shares"][0]
    assert "3.0 kW" in shown["notice"]["purpose"]
    assert [(e["kind"], e["actor"]) for e in shown["trail"]] == [("prepared", INSTALLER)]
    with Session(engine) as s, pytest.raises(RequestNotFound):
        service.get(s, request_id, "another-consumer-number")


def test_the_installer_cannot_put_the_passport_in_itself(engine: Engine, tmp_path: Path) -> None:
    draft = _draft(_wallet(tmp_path, "consumer"))
    draft.application["presentation"] = {"holder": "did:key:zInstaller"}
    with Session(engine) as s, pytest.raises(RequestInvalid):
        service.prepare(s, draft, INSTALLER, "Sandbox Rooftop Solar")


@pytest.mark.parametrize(
    "case",
    [
        "another wallet",
        "another's passport",
        "for another audience",
        "tampered after signing",
        "a decline for another request",
        "a decline that shares",
    ],
)
def test_a_decision_not_the_consumers_own_is_refused_and_changes_nothing(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    consumer, other = _wallet(tmp_path, "consumer"), _wallet(tmp_path, "other")
    request_id = _prepared(engine, consumer)
    if case == "another wallet":
        decision = _approval(other, other.did)
    elif case == "another's passport":
        decision = _approval(consumer, other.did)
    elif case == "for another audience":
        decision = _approval(consumer, consumer.did, domain="p2p.sandbox.ies.local")
    elif case == "tampered after signing":
        decision = _approval(consumer, consumer.did)
        decision.presentation["verifiableCredential"] = []
    elif case == "a decline for another request":
        decline = consumer.present([], "decline:DERREQ-0", INSTALLER)
        decision = Decision(decision="decline", presentation=decline)
    else:
        shared = consumer.present([_passport(consumer, consumer.did)], f"decline:{request_id}",
                                  INSTALLER)  # fmt: skip
        decision = Decision(decision="decline", presentation=shared)
    with Session(engine) as s:
        row = service.get(s, request_id)
        with pytest.raises(NotTheConsumer):
            service.decide(s, row, decision, INSTALLER)
        s.rollback()
    assert _state(engine, request_id) == ("AWAITING_CONSUMER_APPROVAL", ["prepared"])


def test_the_consumer_approves_once_and_the_trail_names_their_wallet(
    engine: Engine, tmp_path: Path
) -> None:
    consumer = _wallet(tmp_path, "consumer")
    request_id = _prepared(engine, consumer)
    with Session(engine) as s:
        service.decide(s, service.get(s, request_id), _approval(consumer, consumer.did), INSTALLER)
        s.commit()
    assert _state(engine, request_id) == ("APPROVED", ["prepared", "approved"])
    with Session(engine) as s:
        events = service.trail(s, request_id)
        assert events[-1].actor == consumer.did
        declined = consumer.present([], f"decline:{request_id}", INSTALLER)
        refused = Decision(decision="decline", presentation=declined)
        row = service.get(s, request_id)
        with pytest.raises(NotAwaitingApproval):
            service.decide(s, row, refused, INSTALLER)
    assert _state(engine, request_id) == ("APPROVED", ["prepared", "approved"])


def test_a_declined_request_is_closed(engine: Engine, tmp_path: Path) -> None:
    consumer = _wallet(tmp_path, "consumer")
    request_id = _prepared(engine, consumer)
    declined = consumer.present([], f"decline:{request_id}", INSTALLER)
    with Session(engine) as s:
        service.decide(s, service.get(s, request_id),
                       Decision(decision="decline", presentation=declined), INSTALLER)  # fmt: skip
        s.commit()
    assert _state(engine, request_id) == ("DECLINED", ["prepared", "declined"])
    with Session(engine) as s, pytest.raises(NotAwaitingApproval):
        service.decide(s, service.get(s, request_id), _approval(consumer, consumer.did), INSTALLER)
    assert _state(engine, request_id) == ("DECLINED", ["prepared", "declined"])
