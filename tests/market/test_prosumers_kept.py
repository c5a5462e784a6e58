"""Onboarded prosumers are kept: the platform writes each before its onboarding answers,
a restarted platform process loads them, and the prosumer trades without onboarding
again; onboarding the same holder again updates it.

The verifier's verdict on the presentation is built by hand (as in ``test_p2p_der``:
the verification itself is the real verifier's, played end to end by the sandbox);
from there on it is the platform's own onboarding (:meth:`Platform.admit`): its
credentials service issues the trading permission, its database keeps the prosumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from credentials.verify import PresentationVerdict, Verdict
from kernel.database import session_scope
from protocol.market.store import MarketStore, ProsumerRow
from sandbox.participants.p2p import NotOnboarded, Onboard, OrderIn
from tests.market.platform_world import DAY, PLATFORM_DB, Wallet, World, prosumer, worlds

CHECKS = ("format", "jsonld", "schema", "proof", "issuer", "validity", "status")


@pytest.fixture
def world(make_database, tmp_path: Path) -> Iterator[World]:
    yield from worlds(make_database, tmp_path)


def passport(world: World, wallet: Wallet, customer: str) -> PresentationVerdict:
    """The verifier's verdict on a presentation of the holder's ElectricityCredential."""
    subject = {
        "id": wallet.holder,
        "customerProfile": {
            "customerNumber": customer,
            "consumptionProfiles": [{
                "meterId": f"did:web:{world.discom.host}:assets:meter:{customer}",
                "tariffCategoryCode": "DOMESTIC", "sanctionedLoad": {"value": 5, "unit": "kW"},
            }],
        },
    }  # fmt: skip
    credential = {"id": f"urn:uuid:passport-{customer}", "credentialSubject": subject,
                  "type": ["VerifiableCredential", "ElectricityCredential"],
                  "issuer": {"id": world.discom.did}}  # fmt: skip
    verdict = Verdict(credential=credential, credential_type="ElectricityCredential",
                      issuer=world.discom.did)  # fmt: skip
    for name in CHECKS:
        verdict.add(name, True, f"{name} ok")
    shown = PresentationVerdict(holder=wallet.holder, credentials=[verdict])
    shown.add("proof", True, "the holder signed the platform's challenge")
    return shown


def onboard(der_kw: float) -> Onboard:
    return Onboard.model_validate({"presentation": {}, "derCapacityKw": der_kw,
                                   "meteringScheme": "net_billing"})  # fmt: skip


def order(wallet: Wallet, order_id: str) -> tuple[OrderIn, bytes, str]:
    body, signature = wallet.order(id=order_id, side="SELL", day=DAY.isoformat(), block=45,
                                   quantityKwh="0.5", priceInrPerKwh="5.00")  # fmt: skip
    return OrderIn.model_validate_json(body), body, signature


def rows(url_engine: Any) -> list[ProsumerRow]:
    with session_scope(url_engine) as session:
        return list(session.exec(select(ProsumerRow)))


def test_an_onboarded_prosumer_trades_after_a_restart_without_onboarding_again(world: World):
    url = world.make_database(*PLATFORM_DB)
    wallet, stranger = Wallet.new(), Wallet.new()
    first = world.platform(url)
    answer = first.platform.admit(passport(world, wallet, "CON-7"), onboard(3.0), first.service)
    assert (answer["prosumer"], answer["type"]) == ("CON-7", "P2PTradingPermissionCredential")
    first.close()

    again = world.platform(url)  # a new process on the same database
    taken = again.platform.order(*order(wallet, "o1"))
    assert (taken["id"], taken["block"]) == ("o1", f"{DAY.isoformat()}#45")
    known = again.platform.prosumers.holder(wallet.holder)
    assert known is not None
    assert (known.customer, known.der_capacity_kw, known.metering_scheme, known.category) == (
        "CON-7", 3.0, "net_billing", "domestic")  # fmt: skip
    assert known.discom == world.discom
    assert again.platform.prosumers.customer("CON-7") == known
    with pytest.raises(NotOnboarded):  # and still nobody else
        again.platform.order(*order(stranger, "o2"))
    kept = rows(again.app.state.engine)
    assert [(r.holder, r.version, r.permission) for r in kept] == [
        (wallet.holder, 1, answer["id"])]  # fmt: skip
    again.close()


def test_onboarding_the_same_holder_again_updates_it(world: World):
    url = world.make_database(*PLATFORM_DB)
    wallet = Wallet.new()
    first = world.platform(url)
    first.platform.admit(passport(world, wallet, "CON-7"), onboard(3.0), first.service)
    renewed = first.platform.admit(passport(world, wallet, "CON-7"), onboard(2.0), first.service)
    kept = rows(first.app.state.engine)
    assert [(r.holder, r.version, r.der_capacity_kw, r.permission) for r in kept] == [
        (wallet.holder, 2, 2.0, renewed["id"])]  # fmt: skip
    first.close()
    again = world.platform(url)
    known = again.platform.prosumers.holder(wallet.holder)
    assert known is not None
    assert known.der_capacity_kw == 2.0
    again.close()


def test_an_onboarding_that_cannot_be_kept_does_not_answer_success(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    url = world.make_database(*PLATFORM_DB)
    wallet = Wallet.new()
    first = world.platform(url)

    def down(self: MarketStore, row: ProsumerRow) -> ProsumerRow:
        raise OSError("the platform's database is gone")

    monkeypatch.setattr(MarketStore, "keep_prosumer", down)
    with pytest.raises(OSError, match="database is gone"):
        first.platform.admit(passport(world, wallet, "CON-7"), onboard(3.0), first.service)
    assert first.platform.prosumers.holder(wallet.holder) is None
    with pytest.raises(NotOnboarded):
        first.platform.order(*order(wallet, "o1"))
    monkeypatch.undo()
    assert world.platform(url).platform.prosumers.holder(wallet.holder) is None


def test_a_prosumer_of_a_discom_not_in_the_plan_is_not_loaded(world: World):
    url = world.make_database(*PLATFORM_DB)
    first = world.platform(url)
    store = first.platform.records.store
    gone = prosumer(world, Wallet.new(), "CON-9")
    first.platform.prosumers.admit(gone, "urn:uuid:p")
    with session_scope(store.engine) as session:  # another plan named another discom
        row = session.get(ProsumerRow, gone.holder)
        assert row is not None
        row.discom = "discom-xx.sandbox.ies.local"
        session.add(row)
    assert world.platform(url).platform.prosumers.holder(gone.holder) is None
