"""The bank's process (a third-party app): a credential verifier for what consumers
show it, and its Beckn BAP in the meter-data network.

Its app routes stand in for the bank's own back end (which signs with the bank's keys
in its custody): ``POST /app/beckn/send`` builds, signs and sends one Beckn request;
``GET /app/beckn/received`` lists the verified callbacks its BAP endpoint took;
``POST /app/consent/requests`` asks the consent manager for a consumer's consent
(signed with the bank's directory key); ``POST /app/meter-data/pull`` pulls a confirmed
meter-data contract page by page (``status``/``on_status``, IES BAP-pull) and verifies
what came back against the MeterDataRequest the bank sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from consent.client import sign_request
from consent.signatures import SigningIdentity
from consent.slicing import fixed_duration
from credentials.app import create_app
from kernel.backoffice import backoffice
from kernel.service import LazyApp
from protocol.client import new_context
from protocol.datasets import read_page_info
from protocol.errors import AckRefused
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from protocol.sharing import DatasetPull
from sandbox.participants.bank_tariff import tariff_router
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    add_lifespan,
    beckn_participant,
    identity_router,
    issuer_settings,
    prepend_routes,
)
from sandbox.participants.outage_inbox import OUTAGE_CHECKS, OutageInbox, inbox_router
from sandbox.plan import BECKN_KEY, Member


class Send(BaseModel):
    action: str = Field(pattern=r"^[a-z]{3,12}$")
    url: str  # where to send: the gateway for discover, the BPP's URI otherwise
    receiver: str  # the subscriber id of whoever is at ``url``
    network_id: str = Field(alias="networkId")
    domain: str | None = None
    transaction_id: str | None = Field(default=None, alias="transactionId")
    bpp_id: str | None = Field(default=None, alias="bppId")
    bpp_uri: str | None = Field(default=None, alias="bppUri")
    message: dict[str, Any]


class Pull(BaseModel):
    url: str  # the BPP's URI
    bpp_id: str = Field(alias="bppId")
    network_id: str = Field(alias="networkId")
    domain: str | None = None
    transaction_id: str = Field(alias="transactionId")
    collection_id: str = Field(alias="collectionId")
    contract: dict[str, Any]  # the confirmed contract (its id, the MeterDataRequest)


class Inbox:
    """The callbacks the BAP endpoint accepted (signature, freshness, schema passed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []

    def __call__(self, message: Inbound, unit: Unit) -> None:
        with self.lock:
            self.items.append({
                "action": message.action,
                "sender": message.sender.subscriber_id,
                "transactionId": message.context.transaction_id,
                "messageId": message.context.message_id,
                "document": message.document,
            })  # fmt: skip


def _request_of(contract: dict[str, Any]) -> dict[str, Any]:
    for commitment in contract.get("commitments") or []:
        attributes = commitment.get("commitmentAttributes")
        if isinstance(attributes, dict) and attributes.get("@type") == "MeterDataRequest":
            return attributes
    raise HTTPException(422, "the contract carries no MeterDataRequest")


def _meters_of(profile: dict[str, Any]) -> set[str]:
    return {str(ref.get("value")) for ref in profile.get("meterRefs") or []}


def _instants(profile: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every period a MeterData profile states."""
    spans: list[tuple[datetime, datetime]] = []
    periods = [profile.get("intervalPeriod"), profile.get("timePeriod")]
    periods += [row.get("intervalPeriod") for row in profile.get("intervals") or []]
    for period in periods:
        if isinstance(period, dict) and "start" in period:
            start = datetime.fromisoformat(period["start"])
            length = fixed_duration(str(period.get("duration", "PT0S"))) or timedelta(0)
            spans.append((start, start + length))
    return spans


def payload_problems(request: dict[str, Any], records: list[dict[str, Any]]) -> list[str]:
    """What in the released MeterData the bank did not ask for: another meter, or a
    period outside the request's window."""
    problems: list[str] = []
    asked = {str(r).rsplit(":", 1)[-1] for r in request.get("resources") or []}
    start = datetime.fromisoformat(request["from"])
    length = fixed_duration(request["duration"])
    if length is None:
        return [f"duration {request['duration']!r} is not a fixed length"]
    end = start + length
    for n, profile in enumerate(records):
        extra = _meters_of(profile) - asked
        if asked and extra:
            problems.append(f"record {n}: meters {sorted(extra)} were not asked for")
        for first, last in _instants(profile):
            if first < start or last > end:
                problems.append(f"record {n}: {first.isoformat()}..{last.isoformat()} is outside")
                break
    if not records:
        problems.append("no MeterData was released")
    return problems


def pull_pages(pull: DatasetPull, body: Pull, me: Member) -> dict[str, Any]:
    """Every page, in order, each an on_status the bank's receiver verified (the
    discom's signature through the directory, bound to our status by its
    requestDigest, fresh, Beckn and MeterData schemas); then the payload itself."""
    extra: dict[str, Any] = {"domain": body.domain} if body.domain else {}
    status = {
        "context": new_context(
            "status", network_id=body.network_id, bap_id=me.host, bap_uri=me.beckn_url,
            bpp_id=body.bpp_id, bpp_uri=body.url, transaction_id=body.transaction_id, **extra,
        ),
        "message": {"contract": body.contract},
    }  # fmt: skip
    exchanged: list[dict[str, Any]] = []
    problems: list[str] = []
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    total: int | None = None
    while True:
        delivery, sent = pull.request(body.url, body.bpp_id, status, body.collection_id, cursor)
        exchanged.append({"action": "status", "document": sent})
        try:
            answer = pull.answer_to(delivery)
        except (AckRefused, TimeoutError) as exc:
            problems.append(f"page {len(exchanged) // 2 + 1}: {exc}")
            break
        exchanged.append({"action": "on_status", "document": answer.document})
        if answer.sender.subscriber_id != body.bpp_id:
            problems.append(f"a page signed by {answer.sender.subscriber_id}")
        if answer.signature.headers[-1] != "request-signature":
            problems.append("a page not bound to our status (three-line signature)")
        attributes = next(
            (p.get("performanceAttributes") for p in
             answer.document["message"]["contract"].get("performance") or []), None,
        )  # fmt: skip
        if not isinstance(attributes, dict):
            problems.append("an on_status without a dataset page")
            break
        info = read_page_info(attributes)
        pages = sum(1 for e in exchanged if e["action"] == "on_status")
        if info.collection_id != body.collection_id or info.sequence != pages:
            problems.append(f"page {info.sequence} of {info.collection_id} out of order")
            break
        records += list(attributes.get("dataPayload") or [])
        total = info.total
        if info.is_last:
            break
        cursor = info.next_cursor
    if total is not None and total != len(records):
        problems.append(f"{len(records)} records arrived of the {total} announced")
    problems += payload_problems(_request_of(body.contract), records)
    return {
        "verified": not problems,
        "problems": problems,
        "pages": sum(1 for e in exchanged if e["action"] == "on_status"),
        "records": records,
        "messages": exchanged,
    }


@dataclass(frozen=True, slots=True)
class BackEnd:
    """The bank's Beckn send and per-transaction inbox as functions: what a participant
    built on the bank (the installer) calls in process, the same code its operators
    reach over ``/app/beckn/*``."""

    send: Callable[[Send], dict[str, Any]]
    received: Callable[[str], list[dict[str, Any]]]


def app_routes(
    me: Member, beckn: BecknParticipant, inbox: Inbox, pull: DatasetPull,
    identity: SigningIdentity, consent_http: httpx.Client, back_end: list[BackEnd],
) -> APIRouter:  # fmt: skip
    """The back end's routes; ``back_end`` receives its send/received as functions."""
    router = APIRouter(prefix="/app", tags=["bank back end"])

    @router.post(
        "/consent/requests",
        dependencies=[backoffice()],
        summary="Ask the consent manager for a consent",
    )
    def ask_consent(body: dict[str, Any]) -> JSONResponse:
        raw = json.dumps({**body, "data_consumer": me.host}, separators=(",", ":")).encode()
        answer = consent_http.post(
            "/consent/requests", content=raw,
            headers=sign_request(identity, raw, "ies-consent-request+jws"),
        )  # fmt: skip
        return JSONResponse(answer.json(), status_code=answer.status_code)

    @router.post(
        "/meter-data/pull",
        dependencies=[backoffice()],
        summary="Pull and verify a confirmed meter-data contract",
    )
    def pull_meter_data(body: Pull) -> dict[str, Any]:
        return pull_pages(pull, body, me)

    @router.post(
        "/beckn/send",
        dependencies=[backoffice()],
        summary="Sign and send one Beckn request as the bank",
    )
    def send(body: Send) -> dict[str, Any]:
        extra: dict[str, Any] = {"domain": body.domain} if body.domain else {}
        context = new_context(
            body.action, network_id=body.network_id, bap_id=me.host, bap_uri=me.beckn_url,
            bpp_id=body.bpp_id, bpp_uri=body.bpp_uri, transaction_id=body.transaction_id, **extra,
        )  # fmt: skip
        delivery = beckn.exchange.send(
            body.url, body.receiver, {"context": context, "message": body.message}
        )
        return {
            "acknowledged": delivery.acknowledged,
            "transactionId": context["transactionId"],
            "messageId": context["messageId"],
            "failure": delivery.failure,
            "error": delivery.ack.error_message if delivery.ack else None,
            "document": json.loads(delivery.prepared.body),
        }

    @router.get(
        "/beckn/received",
        dependencies=[backoffice()],
        summary="Callbacks received, per transaction",
    )
    def received(transaction_id: str = Query(alias="transactionId")) -> list[dict[str, Any]]:
        with inbox.lock:
            return [i for i in inbox.items if i["transactionId"] == transaction_id]

    back_end.append(BackEnd(send, received))
    return router


def create() -> FastAPI:
    context = ParticipantContext()
    me = context.me
    settings = issuer_settings(context, issuer=False)
    app = create_app(settings)  # a verifier: no issuer of its own
    app.title = f"{me.title}: {me.host}"
    prepend_routes(app, identity_router(context))
    accept_machine_tokens(app, context)  # its back end (/app) answers its own operators only
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    consent_http = httpx.Client(base_url=context.plan.member("consent").url, timeout=10)
    inbox = Inbox()
    pulls: list[DatasetPull] = []

    outages = OutageInbox()

    def handle(message: Inbound, unit: Unit) -> None:
        inbox(message, unit)
        if outages.take(message, unit):
            return  # an outage notice: unsolicited, no pull waits for it
        pulls[0].take(message, unit)

    beckn = beckn_participant(
        context, app.state.engine, handle, http, directory, checks=OUTAGE_CHECKS
    )
    pulls.append(DatasetPull(beckn.exchange, http))
    identity = SigningIdentity(me.host, BECKN_KEY, context.custody)
    app.include_router(beckn.router("/beckn"))
    app.include_router(beckn.log_router())
    back_end: list[BackEnd] = []
    app.include_router(app_routes(me, beckn, inbox, pulls[0], identity, consent_http, back_end))
    app.state.back_end = back_end[0]
    app.include_router(inbox_router(outages, "/app"))  # GET /app/outages/received
    app.include_router(
        tariff_router(  # POST /app/tariffs/bill
            lambda transaction: [i for i in list(inbox.items) if i["transactionId"] == transaction]
        )
    )

    def stop() -> None:
        beckn.stop_worker()
        http.close()
        directory.close()
        consent_http.close()

    add_lifespan(app, lambda: beckn.start_worker(0.05), stop)
    return app


app = LazyApp(create)
