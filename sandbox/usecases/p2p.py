"""P2P Energy Transaction: prosumers trade energy per 15-minute block on the platform.

Prosumers who are real consumers of the discoms' seeded registry (MSEDCL's rooftop
solar consumer among them) onboard to the P2P platform by presenting their
ElectricityCredential (the passport their discom issued) and get a
P2PTradingPermissionCredential. They post bids and asks for three blocks of a day the
discoms' head-end systems already hold, so delivery can be settled in the same run;
the platform clears each block with a uniform-price double auction, puts every trade
to the seller's state pack (``p2p_trade``) at the regulator's policy service, and
records the allowed ones in the registry's trade ledger. One block clears above the
Maharashtra ceiling and is refused (P2P-008). After delivery the platform sends each
discom the trade contract (Beckn ``status``, DEG wave 2); the discom reads its meters'
export/import from its HES data, records them in the ledger and answers
``on_status``; the platform settles from the ledger: delivered against contracted,
deviation charges, a statement per party that balances. Each prosumer's discom
verifies the trading permission with its own verifier.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.synthetic import IST
from sandbox.legacy import hes_window
from sandbox.machine_auth import acting_as
from sandbox.participants.p2p import ORDER_SIGNATURE
from sandbox.plan import Member
from sandbox.seed import discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import Wallet, bar_identity, pull, wallet

NAME = "P2P Energy Transaction"
# (discom, consumer index in its CIS export, declared DER kW); MSEDCL's consumer 2 has
# rooftop solar in the synthetic network, consumer 3 declares DER it does not have
# (its discom's meter shows no export: a shortfall, charged as a deviation).
SELLERS = {"S1": ("discom-mh", 2, 3.0), "S2": ("discom-mh", 3, 2.0)}
BUYERS = {"B1": ("discom-mh", 0), "B2": ("discom-mh", 1), "B3": ("discom-ka", 0)}
# (block, prosumer, side, kWh, INR/kWh): block 45 clears at 5.75 (marginal bid 6.00,
# marginal ask 5.50; B3's 5.20 does not cross), block 46 at 4.50 across both discoms,
# block 47 at 11.00, above IN-MH's ceiling of 9.00.
ORDERS = (
    (45, "S1", "SELL", "0.500", "5.00"), (45, "S2", "SELL", "0.300", "5.50"),
    (45, "B1", "BUY", "0.400", "6.50"), (45, "B2", "BUY", "0.300", "6.00"),
    (45, "B3", "BUY", "0.200", "5.20"),
    (46, "S1", "SELL", "0.600", "4.00"), (46, "B3", "BUY", "0.200", "7.00"),
    (46, "B1", "BUY", "0.500", "5.00"),
    (47, "S1", "SELL", "0.400", "10.00"), (47, "B2", "BUY", "0.400", "12.00"),
)  # fmt: skip
EXPECTED_PRICES = {45: "5.75", 46: "4.50"}
REFUSED_BLOCK, REFUSED_RULE = 47, "P2P-008"


def _passport(world: World, member: Member, index: int) -> tuple[Wallet, str, str] | None:
    """The consumer's wallet and passport: the one the passport use case issued, or
    one issued now through the discom's back office."""
    assert member.discom_code is not None
    consumer = discom_seed(member.discom_code).network().consumers[index]
    holder = wallet(world, f"{member.discom_code}-{consumer.number}")
    shared: dict[str, list[tuple[str, Any]]] = world.shared.get("passports", {})  # type: ignore[assignment]
    for number, (held_by, credential) in shared.get(member.name, []):
        if number == consumer.number and held_by.did == holder.did:
            return holder, str(credential), consumer.number
    issued = world.http.post(
        f"{member.url}/back-office/passports",
        json={"consumerNumber": consumer.number, "holder": holder.did},
    )
    if issued.status_code != 201:
        return None
    return holder, pull(world.http, issued.json()["delivery"]).text, consumer.number


def _present(world: World, platform: Member, holder: Wallet, credentials: list[str]) -> Any:
    challenge = world.http.post(f"{platform.url}/presentations/challenges",
                                json={"domain": platform.host}).json()["challenge"]  # fmt: skip
    return holder.present(credentials, challenge, platform.host)


def _order(world: World, platform: Member, signer: Wallet, order: dict[str, Any]) -> Any:
    """The prosumer's app posts an order signed with the wallet's own key."""
    body = json.dumps(order, separators=(",", ":")).encode()
    signature = base64.urlsafe_b64encode(signer.sign(body)).decode().rstrip("=")
    return world.http.post(f"{platform.url}/platform/orders", content=body,
                           headers={"content-type": "application/json",
                                    ORDER_SIGNATURE: signature})  # fmt: skip


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    http = world.http
    platform = world.plan.member("p2p")
    discoms = {m.name: m for m in world.plan.discoms()}
    bar_identity(case, world, [platform, *discoms.values()])
    day = hes_window(datetime.now(IST).date())[1]

    # Onboarding: the passport shown, the permission issued.
    holders: dict[str, Wallet] = {}
    permissions: dict[str, tuple[Member, str]] = {}
    people = {**{k: (d, i, der) for k, (d, i, der) in SELLERS.items()},
              **{k: (d, i, 0.0) for k, (d, i) in BUYERS.items()}}  # fmt: skip
    with case.timed("onboarding"):
        for name, (discom_name, index, der) in people.items():
            discom = discoms[discom_name]
            found = _passport(world, discom, index)
            if not case.check(f"{name}: holds its discom's passport", found is not None):
                continue
            assert found is not None
            holder, passport, _number = found
            onboarded = http.post(f"{platform.url}/platform/prosumers", json={
                "presentation": _present(world, platform, holder, [passport]),
                "derCapacityKw": der, "meteringScheme": "net_billing"})  # fmt: skip
            if not case.check(f"{name}: onboarded with a trading permission",
                              onboarded.status_code == 201, onboarded.text[:300]):  # fmt: skip
                continue
            collected = pull(http, onboarded.json()["delivery"]).text
            world.record("P2PTradingPermissionCredential", collected)
            holders[name] = holder
            permissions[name] = (discom, collected)
        # Attack: a presentation without the required credential is refused.
        stranger = wallet(world, "p2p-stranger")
        bare = http.post(f"{platform.url}/platform/prosumers", json={
            "presentation": _present(world, platform, stranger, []),
            "derCapacityKw": 1.0, "meteringScheme": "none"})  # fmt: skip
        case.check("a presentation without an ElectricityCredential is refused",
                   bare.status_code == 403 and "ElectricityCredential" in bare.text,
                   bare.text[:200])  # fmt: skip

    # Orders per block, each signed by the prosumer's wallet.
    with case.timed("orders"):
        taken = 0
        for n, (block, name, side, kwh, price) in enumerate(ORDERS):
            if name not in holders:
                continue
            posted = _order(world, platform, holders[name], {
                "id": f"o{n}-{name}", "holder": holders[name].did, "side": side,
                "day": day.isoformat(), "block": block, "quantityKwh": kwh,
                "priceInrPerKwh": price})  # fmt: skip
            taken += posted.status_code == 201
        case.check("the book took every order", taken == len(ORDERS), f"{taken}/{len(ORDERS)}")
        intruder = _order(world, platform, stranger, {
            "id": "o-x", "holder": stranger.did, "side": "SELL", "day": day.isoformat(),
            "block": 45, "quantityKwh": "1", "priceInrPerKwh": "3.00"})  # fmt: skip
        case.check("an order from someone without a permission is refused",
                   intruder.status_code == 403, intruder.text[:200])  # fmt: skip
        victim = holders.get("S1", stranger).did
        forged = _order(world, platform, stranger, {
            "id": "o-forged", "holder": victim, "side": "SELL", "day": day.isoformat(),
            "block": 45, "quantityKwh": "5", "priceInrPerKwh": "3.00"})  # fmt: skip
        case.check("an order in a prosumer's name signed by another key is refused",
                   forged.status_code == 401, forged.text[:200])  # fmt: skip

    # Clearing, the state's pack on every trade, the ledger.
    with case.timed("clearing + policy + ledger"):
        cleared = http.post(f"{platform.url}/platform/clearing", json={"day": day.isoformat()})
    if not case.check("the platform cleared the day", cleared.status_code == 200,
                      cleared.text[:300]):  # fmt: skip
        case.seconds = time.perf_counter() - started
        return case
    clearing = cleared.json()
    world.record("P2PClearing", clearing)
    by_block = {int(b["block"].rsplit("#", 1)[1]): b for b in clearing["blocks"]}
    for block, price in EXPECTED_PRICES.items():
        got = by_block.get(block, {})
        allowed = all(t["decision"]["allow"] for t in got.get("trades", []))
        case.check(f"block {block} clears at INR {price}/kWh, allowed by the pack",
                   got.get("price_inr_per_kwh") == price and allowed and bool(got.get("trades")),
                   f"{got.get('price_inr_per_kwh')} for {got.get('quantity_kwh')} kWh")  # fmt: skip
    refused = by_block.get(REFUSED_BLOCK, {}).get("trades", [])
    codes = {v["code"] for t in refused for v in t["decision"]["violations"]}
    case.check(f"block {REFUSED_BLOCK}'s trade is refused by the state pack ({REFUSED_RULE})",
               bool(refused) and REFUSED_RULE in codes and all("ledger" not in t for t in refused),
               f"{sorted(codes)}; pack {refused[0]['decision']['pack']['id']}@"
               f"{refused[0]['decision']['pack']['version']}" if refused else "none")  # fmt: skip
    reader = acting_as(world.plan, platform.name, world.passphrase, world.plan.directory.host)
    ledger = http.get(
        f"{world.plan.directory.url}/ledger/trades",
        params={"platform": platform.host, "limit": 1000},
        auth=reader,  # ledger reads need a machine token (ledger:read)
    ).json()["items"]
    case.check("the registry's ledger holds exactly the allowed trades",
               len(ledger) == clearing["recorded"] and clearing["recorded"] > 0,
               f"{len(ledger)} in the ledger, {clearing['recorded']} recorded")  # fmt: skip

    # Delivery: the discoms' meter data into the ledger (Beckn); settlement.
    with case.timed("delivery (Beckn) + settlement"):
        settled = http.post(f"{platform.url}/platform/settlement", json={"day": day.isoformat()})
    if not case.check("the platform settled the day", settled.status_code == 200,
                      settled.text[:300]):  # fmt: skip
        case.seconds = time.perf_counter() - started
        return case
    settlement = settled.json()
    for item in settlement["messages"]:
        world.record(f"beckn:{item['action']}", item["document"])
    statuses = [m for m in settlement["messages"] if m["action"] == "status"]
    answers = [m for m in settlement["messages"] if m["action"] == "on_status"]
    case.check("every discom acknowledged the trade contract and answered on_status",
               not settlement["problems"] and len(answers) == len(statuses) == 2,
               "; ".join(settlement["problems"]) or f"{len(answers)} on_status")  # fmt: skip
    blocks = http.get(f"{world.plan.directory.url}/ledger/meter-blocks",
                      params={"limit": 1000}, auth=reader).json()["items"]  # fmt: skip
    traded = {(t["seller_meter"], t["block_start"]) for t in ledger}
    traded |= {(t["buyer_meter"], t["block_start"]) for t in ledger}
    recorded = {(b["meter"], datetime.fromisoformat(b["block_start"])) for b in blocks}
    missing = [m for m, at in traded if (m, datetime.fromisoformat(at)) not in recorded]
    case.check("the discoms recorded export/import for every traded meter and block",
               not missing, f"{len(blocks)} meter blocks; missing {missing[:2]}")  # fmt: skip
    exported = sum(Decimal(b["export_kwh"]) for b in blocks)
    case.point("adapter ran", bool(blocks) and not missing,
               f"HES block load decoded + VEE by adapters.hes: {len(blocks)} export/import "
               f"blocks, {exported} kWh exported")  # fmt: skip
    statements = settlement["statements"]
    for statement in statements:
        world.record("P2PSettlementStatement", statement)
    balance = sum((Decimal(s["netInr"]) for s in statements), Decimal(0))
    shortfalls = [line for s in statements for line in s["lines"]
                  if Decimal(line["shortfallKwh"]) > 0]  # fmt: skip
    case.check(
        "the statements balance (buyers' payments = sellers' receipts; deviation "
        "charges = what the discoms receive)",
        balance == 0 and bool(statements),
        f"net {balance} over {len(statements)} statements",
    )
    case.check("delivered against contracted: shortfalls charged as deviations",
               all(Decimal(line["deviationInr"]) < 0 for line in shortfalls),
               f"{len(shortfalls)} shortfall lines")  # fmt: skip
    case.point("credential issued or exchange completed",
               len(permissions) == len(people) and len(answers) == 2 and balance == 0,
               f"{len(permissions)} trading permissions; {len(ledger)} trades recorded; "
               f"{len(answers)} on_status; {len(statements)} statements")  # fmt: skip

    # The counterparty: each prosumer's discom verifies the permission on its own.
    verified = 0
    with case.timed("discoms verify permissions"):
        for name, (discom, credential) in permissions.items():
            verdict = http.post(f"{discom.url}/credentials/verify",
                                json={"verifiableCredential": credential}).json()  # fmt: skip
            if verdict.get("verified"):
                verified += 1
            else:
                case.check(f"{discom.name} verifies {name}'s permission", False, str(verdict)[:300])
    case.point("counterparty verified",
               verified == len(permissions) and bool(permissions) and not settlement["problems"],
               f"the discoms verified {verified} of {len(permissions)} permissions; the platform "
               "verified every on_status (signature, binding to its status)")  # fmt: skip
    case.counts.update({
        "prosumers onboarded": len(permissions), "orders": len(ORDERS),
        "trades recorded": len(ledger), "trades refused by policy": int(clearing["refused"]),
        "meter blocks recorded": len(blocks), "statements": len(statements),
    })  # fmt: skip
    case.seconds = time.perf_counter() - started
    return case
