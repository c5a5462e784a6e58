"""Tariff Intelligence: a tariff published as a machine-readable pack, and a bill
computed from a consumer's interval data under it.

Each discom publishes its retail tariff as IES_Policy packs (one per consumer
category: telescopic slabs, time-of-day surcharges and rebates, fixed charges, duty)
on its Beckn BPP. The bank (an energy-advice app, a BAP) ``discover``s tariffs
through the gateway, ``confirm``s each discom's catalogue and takes the packs inline
from ``on_status`` (DEG data-exchange uc3). Consumers of the discoms' head-end meters
hand the app their own 15-minute load curve (which each reads from the discom's
consumer view); the bank computes the bill under the pack it received, the discom
computes the bill from its own head-end data under the pack it published, and the
two must agree to the paisa, line by line: that is the counterparty verification.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from adapters.synthetic import IST, Consumer
from sandbox.legacy import hes_window
from sandbox.participants.discom_tariff import RESOURCE_PREFIX, consumer_connection
from sandbox.plan import Member
from sandbox.seed import HES_METERS, DiscomSeed, discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bank_received, bank_send, bar_identity

NAME = "Tariff Intelligence"
BILLS = 3  # bills per discom: each takes a week of the consumer's 15-minute blocks
DISCOVER = {
    "intent": {
        "filters": {
            "type": "jsonpath",
            "expression": "$.catalogs[*].resources[?(@.descriptor.name =~ /Tariff/)]",
        }
    }
}


def _exchange(world: World, case: UseCase, discom: Member, catalog: dict[str, Any]) -> str | None:
    """confirm -> on_confirm, status -> on_status with the packs inline; the
    transaction, or None if a step failed."""
    resources = [r["id"] for r in catalog["resources"] if r["id"].startswith(RESOURCE_PREFIX)]
    offer = catalog["offers"][0]["id"]
    contract: dict[str, Any] = {
        "descriptor": {"name": "Retail tariff policy subscription"},
        "status": {"code": "DRAFT"},
        "commitments": [
            {
                "id": f"commitment-{r}",
                "status": {"descriptor": {"code": "DRAFT"}},
                "resources": [
                    {"id": r, "quantity": {"unitText": "policy", "unitCode": "EA", "value": "1"}}
                ],
                "offer": {"id": offer, "resourceIds": [r]},
            }
            for r in resources
        ],
    }
    to_bpp = {"bppId": discom.host, "bppUri": discom.beckn_url}
    transaction: str | None = None
    for action in ("confirm", "status"):
        extra = {"transactionId": transaction} if transaction else {}
        sent = bank_send(
            world, action, discom.beckn_url, discom.host, {"contract": contract}, **to_bpp, **extra
        )
        transaction = sent["transactionId"]
        if not case.check(
            f"{discom.discom_code}: {action} acknowledged", sent["acknowledged"], str(sent["error"])
        ):
            return None
        answers = bank_received(world, sent["transactionId"], f"on_{action}", 1)
        if not case.check(
            f"{discom.discom_code}: on_{action} arrived", len(answers) == 1, f"{len(answers)}"
        ):
            return None
        world.record(f"beckn:on_{action}", answers[0]["document"])
        contract = answers[0]["document"]["message"]["contract"]
        if action == "status":
            packs = [
                (p.get("performanceAttributes") or {}).get("dataPayload")
                for p in contract.get("performance") or []
            ]
            for pack in packs:
                world.record("tariff:IES_Policy", pack)
            case.check(
                f"{discom.discom_code}: every tariff delivered inline",
                len(packs) == len(resources) and all(isinstance(p, dict) for p in packs),
                f"{len(packs)} IES_Policy packs for {len(resources)} resources",
            )
            case.counts["tariff packs received"] = case.counts.get(
                "tariff packs received", 0
            ) + len(packs)
            # The status request carries the contract as on_confirm left it.
        contract = {k: v for k, v in contract.items() if k not in ("performance", "settlements")}
    return transaction


def _load_curve(world: World, discom: Member, number: str) -> list[dict[str, Any]]:
    """The consumer's own 15-minute import over the head-end window (their view)."""
    first, last = hes_window(datetime.now(IST).date())
    blocks: list[dict[str, Any]] = []
    day = first
    while day <= last:
        got = world.http.get(
            f"{discom.url}/back-office/consumers/{number}/load-curve",
            params={"day": day.isoformat()},
        )
        if got.status_code == 200:
            blocks += [
                {"start": b["start"], "import_kwh": b["import_kwh"]} for b in got.json()["blocks"]
            ]
        day += timedelta(days=1)
    return blocks


def billed(seed: DiscomSeed) -> list[Consumer]:
    """Of the consumers whose meters the head-end exports, one of each category first,
    then the first others, up to ``BILLS`` (every category the HES holds is billed)."""
    held = seed.network().consumers[:HES_METERS]
    chosen: list[Consumer] = []
    for consumer in held:
        if consumer.category not in {c.category for c in chosen}:
            chosen.append(consumer)
    chosen += [c for c in held if c not in chosen][: max(0, BILLS - len(chosen))]
    return chosen[: max(BILLS, len({c.category for c in held}))]


def _bills(world: World, case: UseCase, discom: Member, transaction: str) -> tuple[int, int]:
    """(bills compared, bills agreeing to the paisa) over the discom's head-end meters."""
    assert discom.discom_code is not None
    seed = discom_seed(discom.discom_code)
    first, last = hes_window(datetime.now(IST).date())
    registry = httpx.Client(base_url=world.plan.directory.url, timeout=10)
    compared = agreed = 0
    for consumer in billed(seed):
        with case.timed("load curves"):
            blocks = _load_curve(world, discom, consumer.number)
        connection = consumer_connection(
            registry, seed.mapping.consumer.legacy_scheme, seed.code, consumer.number
        )
        attributes = connection["attributes"]
        with case.timed("bank bill"):
            ours = world.http.post(
                f"{world.url('bank')}/app/tariffs/bill",
                json={
                    "transactionId": transaction,
                    "bppId": discom.host,
                    "category": attributes["category"],
                    "sanctionedLoadKw": attributes["sanctioned_load_kw"],
                    "period": {"from": first.isoformat(), "to": last.isoformat()},
                    "intervals": blocks,
                },
            )
        with case.timed("discom bill"):
            theirs = world.http.post(
                f"{discom.url}/back-office/tariff-bills", json={"consumerNumber": consumer.number}
            )
        compared += 1
        if ours.status_code != 200 or theirs.status_code != 200:
            case.check(
                f"{seed.code} {consumer.number}: both bills computed",
                False,
                f"bank {ours.status_code} {ours.text[:200]}; "
                f"discom {theirs.status_code} {theirs.text[:200]}",
            )
            continue
        bank_bill, discom_bill = ours.json()["bill"], theirs.json()["bill"]
        world.record(
            "tariff:bill", {"consumer": "withheld", "bank": bank_bill, "discom": discom_bill}
        )
        if bank_bill == discom_bill and len(blocks) == bank_bill["blocks"] > 0:
            agreed += 1
        else:
            case.check(
                f"{seed.code}: a bill agrees to the paisa",
                False,
                f"bank {bank_bill['total']} vs discom {discom_bill['total']}",
            )
        case.counts["bill lines"] = case.counts.get("bill lines", 0) + len(bank_bill["lines"])
        case.counts["intervals billed"] = case.counts.get("intervals billed", 0) + int(
            bank_bill["blocks"]
        )
    registry.close()
    return compared, agreed


def _refusals(world: World, case: UseCase, discom: Member, transaction: str) -> None:
    """What each side must refuse: a tariff the discom does not publish (NACK, no
    on_confirm), and a bill from a block outside the period (problem details)."""
    forged = {
        "contract": {
            "commitments": [
                {
                    "id": "commitment-forged",
                    "status": {"descriptor": {"code": "DRAFT"}},
                    "resources": [
                        {"id": f"{RESOURCE_PREFIX}nowhere-lt-0", "quantity": {"value": "1"}}
                    ],
                    "offer": {
                        "id": "offer-tariff-policy-inline",
                        "resourceIds": [f"{RESOURCE_PREFIX}nowhere-lt-0"],
                    },
                }
            ]
        }
    }
    sent = bank_send(
        world,
        "confirm",
        discom.beckn_url,
        discom.host,
        forged,
        bppId=discom.host,
        bppUri=discom.beckn_url,
    )
    case.check(
        f"{discom.discom_code}: a confirm for a tariff it does not publish is refused",
        not sent["acknowledged"],
        str(sent["error"])[:200],
    )
    first, last = hes_window(datetime.now(IST).date())
    late = datetime(last.year, last.month, last.day, tzinfo=IST) + timedelta(days=1)
    refused = world.http.post(
        f"{world.url('bank')}/app/tariffs/bill",
        json={
            "transactionId": transaction,
            "bppId": discom.host,
            "category": "domestic",
            "sanctionedLoadKw": 3,
            "period": {"from": first.isoformat(), "to": last.isoformat()},
            "intervals": [{"start": late.isoformat(), "import_kwh": 1.0}],
        },
    )
    case.check(
        "the bank refuses a block outside the billing period",
        refused.status_code == 422 and "outside the period" in refused.text,
        f"{refused.status_code} {refused.text[:200]}",
    )


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    discoms = world.plan.discoms()
    bank, gateway = world.plan.member("bank"), world.plan.member("gateway")
    bar_identity(case, world, [*discoms, bank, gateway])

    with case.timed("discover"):
        sent = bank_send(world, "discover", gateway.url, gateway.host, DISCOVER)
        answers = (
            bank_received(world, sent["transactionId"], "on_discover", len(discoms))
            if case.check(
                "discover acknowledged by the gateway", sent["acknowledged"], str(sent["error"])
            )
            else []
        )
    catalogs: dict[str, dict[str, Any]] = {}
    for answer in answers:
        world.record("beckn:on_discover", answer["document"])
        for catalog in answer["document"]["message"].get("catalogs") or []:
            if any(r["id"].startswith(RESOURCE_PREFIX) for r in catalog.get("resources") or []):
                catalogs[answer["sender"]] = catalog
    case.check(
        "every discom's tariff catalogue arrived through the gateway",
        set(catalogs) == {d.host for d in discoms},
        f"{len(catalogs)} tariff catalogues",
    )
    compared = agreed = exchanged = 0
    for discom in discoms:
        catalog = catalogs.get(discom.host)
        if catalog is None:
            continue
        with case.timed("confirm/status"):
            transaction = _exchange(world, case, discom, catalog)
        if transaction is None:
            continue
        exchanged += 1
        if discom is discoms[0]:
            _refusals(world, case, discom, transaction)
        done, same = _bills(world, case, discom, transaction)
        compared += done
        agreed += same
    expected = sum(len(billed(discom_seed(d.discom_code or ""))) for d in discoms)
    case.point(
        "adapter ran",
        compared == expected and case.counts.get("intervals billed", 0) > 0,
        f"{case.counts.get('intervals billed', 0)} 15-minute blocks from the head-end "
        "export (adapters.hes) billed",
    )
    case.point(
        "credential issued or exchange completed",
        exchanged == len(discoms),
        f"{exchanged} discover/confirm/status exchanges, "
        f"{case.counts.get('tariff packs received', 0)} IES_Policy packs inline",
    )
    case.point(
        "counterparty verified",
        compared == expected and agreed == compared,
        f"{agreed} of {compared} bills: bank (received pack) = discom (own pack), "
        "line by line, to the paisa",
    )
    case.counts.update(
        {"bills compared": compared, "bills agreeing": agreed, "discoms": len(discoms)}
    )
    case.seconds = time.perf_counter() - started
    return case
