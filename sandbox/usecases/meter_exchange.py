"""Smart Meter Data Exchange: a third-party app gets a consumer's consented meter data.

The bank (a Beckn BAP) asks the consent manager for the consumer's consent (signed with
its directory key); the consumer approves less than was asked (one data type fewer, a
shorter window); the bank discovers the discom's offer through the gateway, then
``select``/``init``/``confirm``s it with a MeterDataRequest v0.6 whose
``consumerConsent`` names the consent, and pulls the result with ``status`` page by
page (IES BAP-pull). The discom's BPP releases the slice its consent gate cut for the
caller the Beckn receiver authenticated; the bank's own service verifies every page
(signature, binding to its status, order, count) and the payload against its request.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from adapters.synthetic import IST
from sandbox.consumer_signin import SignInFailed, consumer_session
from sandbox.legacy import hes_window
from sandbox.participants.meter_data import OFFER, collection_of
from sandbox.plan import DATA_NETWORK, METER_DATA, Member
from sandbox.seed import discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bank_received, bank_send, bar_identity

NAME = "Smart Meter Data Exchange"
DISCOM = "discom-mh"
PAGE = 2  # maxRecordsShared: profiles per on_status page (descriptor + interval, then bill)
CONTEXT = "https://india-energy-stack.github.io/ies-accelerator/schemas/MeterDataRequest/v0.6/context.jsonld"


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    http = world.http
    discom = world.plan.member(DISCOM)
    bank, gateway, manager = (world.plan.member(n) for n in ("bank", "gateway", "consent"))
    bar_identity(case, world, [discom, bank, gateway, manager])
    assert discom.discom_code is not None
    assert discom.state is not None
    seed = discom_seed(discom.discom_code)
    consumer = seed.network().consumers[0]
    registry = world.plan.directory.url

    # The consumer's registry id (the CIS import made it; consents name it).
    found = http.get(
        f"{registry}/resolve",
        params={
            "scheme": seed.mapping.consumer.legacy_scheme,
            "scope": seed.code,
            "value": consumer.number,
            "type": "consumer",
        },
    )
    if not case.check("the registry resolves the consumer", found.status_code == 200, found.text):
        case.seconds = time.perf_counter() - started
        return case
    consumer_id = found.json()["ies_id"]

    first, last = hes_window(datetime.now(IST).date())
    asked_from, asked_to = first, last
    # The HES window and the day after it: the billing reset at the window's end (that
    # day's midnight) closes the period whose bill the bank also asks for.
    granted_from, granted_to = first, last + timedelta(days=1)
    asked_to = granted_to
    held_days = (last - first).days + 1
    with case.timed("consent"):
        asked = http.post(
            f"{bank.url}/app/consent/requests",
            json={
                "request_id": f"bank-{consumer.number}-{time.time_ns()}",
                "data_provider": discom.host,
                "jurisdiction": discom.state,
                "consumer_id": consumer_id,
                "purpose": "energy_advice",
                "scope": {
                    "meters": [consumer.meter_serial],
                    "data_types": ["interval_consumption", "net_export", "billing"],
                    "date_range": {"from": asked_from.isoformat(), "to": asked_to.isoformat()},
                    "granularity": "hourly",
                    "fetch_type": "periodic",
                    "frequency": {"value": 4, "unit": "day"},
                    "data_life_days": 30,
                    "expires_at": (datetime.now(IST) + timedelta(days=60)).isoformat(),
                },
                "languages": ["en", "hi", "mr"],
            },
        )
        if not case.check(
            "the consent manager takes the bank's signed request",
            asked.status_code == 201,
            asked.text[:300],
        ):
            case.seconds = time.perf_counter() - started
            return case
        consent_id = asked.json()["id"]
        # The consumer signs in at the consent manager (a one-time code to their phone,
        # the sandbox's inbox) and decides with that session: no other way in.
        try:
            session = consumer_session(manager.url, world.plan.data_dir / "inbox", consumer_id)
        except SignInFailed as exc:
            case.check("the consumer signs in at the consent manager", False, str(exc))
            case.seconds = time.perf_counter() - started
            return case
        approved = http.post(
            f"{manager.url}/consumers/{consumer_id}/consents/{consent_id}/approve",
            headers=session,
            json={
                "data_types": ["interval_consumption", "billing"],
                "granularity": "daily",
                "frequency": {"value": 2, "unit": "day"},
            },
        )
    active = approved.status_code == 200 and approved.json().get("status") == "ACTIVE"
    case.check(
        "the consumer approves, narrowed (no export, daily, 2 a day)", active, approved.text[:300]
    )
    if not active:
        case.seconds = time.perf_counter() - started
        return case

    with case.timed("discover"):
        found_offer = _discover(world, case, gateway, discom)
    days = (granted_to - granted_from).days + 1
    request = {
        "@context": CONTEXT,
        "@type": "MeterDataRequest",
        "resources": [f"{discom.did}:assets:meter:{consumer.meter_serial}"],
        "from": datetime(
            granted_from.year, granted_from.month, granted_from.day, tzinfo=IST
        ).isoformat(),
        "duration": f"P{days}D",
        "consumerConsent": [consent_id],
        "capabilitiesRequested": {
            "profiles": [
                {
                    "profileType": "IntervalProfile",
                    "readings": [{"value": "kWh imp block", "mode": "USAGE"}],
                },
                {"profileType": "MonthlyProfile"},
            ]
        },
        "maxRecordsShared": PAGE,
    }
    contract: dict[str, Any] = {
        "commitments": [
            {
                "id": "meter-data-1",
                "status": {"descriptor": {"code": "DRAFT"}},
                "resources": [{"id": "meter-data", "quantity": {"value": "1"}}],
                "offer": {"id": OFFER, "resourceIds": ["meter-data"]},
                "commitmentAttributes": request,
            }
        ],
    }
    world.record("MeterDataRequest", request)
    transaction = found_offer.get("transactionId")
    to_bpp = {"bppId": discom.host, "bppUri": discom.beckn_url}
    confirmed: dict[str, Any] | None = None
    with case.timed("select/init/confirm"):
        for action in ("select", "init", "confirm"):
            sent = bank_send(
                world,
                action,
                discom.beckn_url,
                discom.host,
                {"contract": contract},
                transactionId=transaction,
                **to_bpp,
            )
            transaction = sent["transactionId"]
            if not case.check(f"{action} acknowledged", sent["acknowledged"], str(sent["error"])):
                break
            answers = bank_received(world, transaction, f"on_{action}", 1)
            if not case.check(f"on_{action} arrived", len(answers) == 1, f"{len(answers)}"):
                break
            world.record(f"beckn:on_{action}", answers[0]["document"])
            answered = answers[0]["document"]["message"]["contract"]
            code = (answered.get("status") or {}).get("code")
            if action == "confirm":
                case.check(
                    "the discom's consent gate released the consented slice",
                    code == "ACTIVE",
                    str(answered.get("status")),
                )
                if code == "ACTIVE":
                    confirmed = answered
    pulled: dict[str, Any] = {}
    if confirmed is not None and transaction is not None:
        with case.timed("status pages"):
            response = http.post(
                f"{bank.url}/app/meter-data/pull",
                json={
                    "url": discom.beckn_url,
                    "bppId": discom.host,
                    "networkId": DATA_NETWORK,
                    "domain": METER_DATA,
                    "transactionId": transaction,
                    "collectionId": collection_of(transaction),
                    "contract": confirmed,
                },
            )
        case.check("the bank's pull answered", response.status_code == 200, response.text[:300])
        if response.status_code == 200:
            pulled = response.json()
            for item in pulled["messages"]:
                world.record(f"beckn:{item['action']}", item["document"])
            world.record("MeterData", pulled["records"])
    records: list[dict[str, Any]] = pulled.get("records", [])
    pages = int(pulled.get("pages", 0))
    exact = _exactly_consented(records, consumer.meter_serial, held_days, days)
    case.check(
        "the MeterData is exactly the narrowed consent",
        exact == "",
        exact or f"{consumer.meter_serial}: import, {days} days daily, its bill",
    )
    case.point(
        "adapter ran",
        bool(records) and exact == "",
        "HES buffers decoded + VEE by adapters.hes, sliced by the consent gate",
    )
    case.point(
        "credential issued or exchange completed",
        confirmed is not None and pages > 1 and bool(records),
        f"confirm ACTIVE; {pages} on_status pages, {len(records)} MeterData profiles",
    )
    case.point(
        "counterparty verified",
        bool(pulled.get("verified")),
        "; ".join(pulled.get("problems", []))[:300]
        or "the bank verified every page's signature, binding, order and the payload",
    )
    case.counts.update(
        {
            "on_status pages": pages,
            "MeterData profiles": len(records),
            "BPPs answering discover": int(found_offer.get("answers", 0)),
        }
    )
    case.seconds = time.perf_counter() - started
    return case


def _discover(world: World, case: UseCase, gateway: Member, discom: Member) -> dict[str, Any]:
    sent = bank_send(
        world,
        "discover",
        gateway.url,
        gateway.host,  # the BG serves at its root
        {"intent": {"textSearch": "consented meter data"}},
    )
    if not case.check(
        "discover acknowledged by the gateway", sent["acknowledged"], str(sent["error"])
    ):
        return {}
    discoms = len(world.plan.discoms())
    answers = bank_received(world, sent["transactionId"], "on_discover", discoms)
    for answer in answers:
        world.record("beckn:on_discover", answer["document"])
    offered = [
        a
        for a in answers
        if a["sender"] == discom.host
        and any(
            o.get("id") == OFFER
            for c in a["document"]["message"]["catalogs"]
            for o in c.get("offers") or []
        )
    ]
    case.check(
        "on_discover from every discom through the gateway, the offer found",
        len(answers) == discoms and len(offered) == 1,
        f"{len(answers)} catalogs",
    )
    return {"answers": len(answers)}


def _exactly_consented(records: list[dict[str, Any]], meter: str, held: int, days: int) -> str:
    """'' when the profiles are the consented meter's daily import over the days and
    the billing period inside them, nothing else."""
    intervals = [r for r in records if r.get("profileType") == "INTERVAL"]
    if len(intervals) != 1:
        return f"{len(intervals)} interval profiles"
    meters = {ref.get("value") for r in records for ref in r.get("meterRefs") or []}
    if meters - {meter}:
        return f"meters {sorted(meters)}"
    rows = intervals[0].get("intervals") or []
    if not held <= len(rows) <= days:
        return f"{len(rows)} daily rows: the HES holds {held} of the {days} days asked"
    bills = [r for r in records if r.get("profileType") == "MONTHLY"]
    if len(bills) != 1 or len(records) != 3:
        return f"{len(bills)} billing profiles in {len(records)} profiles"
    directions = {
        d.get("flowDirection")
        for r in records
        for s in r.get("payloadDescriptorSets") or []
        for d in s["payloadDescriptors"]
    }
    if directions != {"IMPORT"}:
        return f"flow directions {sorted(str(d) for d in directions)}"
    return ""
