"""DER onboarding's pages: the installer's application form, the consumer's approval
of it, the discom's queue with its automatic verdicts (every rule, with its clause),
and the consumer's DER.

The installer prepares an application at its own desk (``/app/der-applications`` on
its process, ``sandbox.participants.der_requests``): the DER, the scheme, the kit, its
licence from the state nodal agency and the test laboratory's certificates, but nothing
of the consumer's. It waits there AWAITING_CONSUMER_APPROVAL, with a notice of what
approving shares (the consumer's ElectricityCredential), with whom (their discom) and
why. The consumer, signed in to their own session, reads it on their DER page and
approves or declines: approving, their wallet (which the console keeps for the
sandbox's personas, and uses for its own persona only) signs one presentation of their
passport with the installer's credentials for the discom's challenge; the installer's
desk checks it is theirs and its BAP sends it to the discom's BPP as a Beckn
``confirm``; the page waits for the ``on_confirm`` (the decision, within seconds) and
the wallet collects the DERCredential. Declining sends nothing. The installer's pages
never touch a consumer's wallet.

The queue and the consumer's page read the discom's ``/der-onboarding/applications``.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import Response

from adapters.synthetic import IST
from kernel.access import Forbidden, Principal
from sandbox.console.personas import Persona
from sandbox.console.sources import Json, Upstream
from sandbox.console.view import (
    Console,
    _discom,
    _error_page,
    _held,
    acted,
    render,
)
from sandbox.participants.der_requests.errors import RequestNotFound
from sandbox.plan import Member
from sandbox.usecases.der_onboarding import CONTEXT, INVERTER_STANDARDS, MODULE_STANDARDS

router: APIRouter = APIRouter()

INSTALLER = "installer"
AGENCY = "nodal-agency"
LAB = "certifier"
SCHEMES = ("net_metering", "net_billing", "gross_metering")
ANSWER_WAIT = 20.0  # seconds for the discom's on_confirm
QUEUE_PAGES = 20  # how far back the consumer's and installer's lists look (x 100)
DESK = "/app/der-applications"  # the installer's desk of application requests
RequestId = Annotated[str, Path(pattern=r"^DERREQ-[0-9A-F]{20,40}$")]


def _installer(request: Request) -> tuple[Console, Persona]:
    """The installer's pages answer the installer only (sign-in's path rule does not
    know this persona's paths, so the page checks the signed-in principal itself)."""
    console: Console = request.app.state.console
    persona = console.persona(INSTALLER, "installer")
    who = getattr(request.state, "principal", None)
    if not isinstance(who, Principal) or who.subject != persona.key:
        raise Forbidden("these pages belong to the installer")
    return console, persona


def _issue(console: Console, issuer: Member, kind: str, subject: Json) -> Json:
    until = datetime.now(UTC) + timedelta(days=365 * 3)
    draft = {"type": kind, "issuer": issuer.did, "credentialSubject": subject,
             "validUntil": until.isoformat()}  # fmt: skip
    return console.net.issue(issuer.name, draft)


def _keep(console: Console, persona: str, issuer: str, kind: str, issued: Json) -> Any:
    credential = issued["verifiableCredential"]
    fmt = "vc+jwt" if isinstance(credential, str) else "ldp_vc"
    console.wallets.keep(persona, issuer, {"id": issued["id"], "type": kind, "format": fmt},
                         credential)  # fmt: skip
    return credential


def _active(console: Console, persona: Persona, kind: str) -> Any | None:
    """The newest credential of ``kind`` the persona's wallet holds that its issuer
    still says is active."""
    for item in reversed(_held(console, persona)):
        if item["type"] == kind and item["issuer_status"].get("status") == "active":
            return item["credential"]
    return None


def licence(console: Console, installer: Persona) -> Any:
    """The installer's licence from the state nodal agency, kept in its wallet; asked
    for once (for every state of the network's discoms)."""
    held = _active(console, installer, "InstallerLicenceCredential")
    if held is not None:
        return held
    agency = console.plan.member(AGENCY)
    me = console.plan.member(INSTALLER)
    states = sorted({m.state for m in console.plan.discoms() if m.state})
    issued = _issue(console, agency, "InstallerLicenceCredential", {
        "id": me.did,
        "installerLicence": {
            "licenceNumber": "SNA-RTS-CONSOLE-0001", "holderName": me.title,
            "licenceClass": "Grid-connected rooftop PV and storage, up to 1 MW",
            "assetTypes": ["SOLAR_PV", "INVERTER", "BESS"], "states": states,
            "issuingAuthority": agency.title,
        },
    })  # fmt: skip
    return _keep(console, installer.key, AGENCY, "InstallerLicenceCredential", issued)


def certificate(console: Console, kind: str, serial: str, rated_kw: float) -> Any:
    """The test laboratory's certificate for one serial of the kit (the lab tested it)."""
    lab = console.plan.member(LAB)
    issued = _issue(console, lab, "AssetCertificationCredential", {
        "id": f"urn:ies:equipment:{serial}",
        "assetCertification": {
            "assetType": kind, "make": "SandboxSolar", "serialNumber": serial,
            "model": "SS-5K" if kind == "INVERTER" else "SS-540M",
            "ratedPower": {"value": rated_kw, "unit": "kW"},
            "standards": INVERTER_STANDARDS if kind == "INVERTER" else MODULE_STANDARDS,
            "certificateNumber": f"TL-{serial}", "testLaboratory": lab.title,
            "testedAt": datetime.now(UTC).isoformat(), "result": "pass",
        },
    })  # fmt: skip
    return issued["verifiableCredential"]


def electricity_credential(console: Console, consumer: Persona) -> Any:
    """The consumer's ElectricityCredential from their wallet, collected from their
    discom first if the wallet holds no active one."""
    held = _active(console, consumer, "ElectricityCredential")
    if held is not None:
        return held
    wallet = console.wallets.wallet(consumer.key)
    issued = console.net.office_post(  # the consumer's own, collected for their wallet
        consumer.member, "/back-office/passports",
        {"consumerNumber": consumer.number, "holder": wallet.did}, for_consumer=consumer.number,
    )  # fmt: skip
    delivery = issued["delivery"]
    credential = console.net.get_url(
        consumer.member, delivery["uri"], headers={"Authorization": f"Bearer {delivery['token']}"}
    )
    console.wallets.keep(consumer.key, consumer.member, issued, credential)
    return credential


def application(
    presentation: Json | None,
    consumer: Persona,
    capacity_kw: float,
    scheme: str,
    equipment: list[tuple[str, str]],
    commissioning: date,
    resubmission_of: str | None,
) -> Json:
    """The DERConnectionApplication, as the use case's installer sends it (without the
    presentation while it awaits the consumer)."""
    body: Json = {
        "@context": CONTEXT,
        "@type": "DERConnectionApplication",
        "der": {"type": "solar_pv", "capacityKw": capacity_kw},
        "scheme": scheme,
        "equipment": [{"assetType": k, "serialNumber": s} for k, s in equipment],
        "meter": {"serialNumber": f"BM-{consumer.number}", "manufacturer": "SBXMTR",
                  "model": "Bidirectional 3-phase", "phase": 3},
        "commissioningDate": commissioning.isoformat(),
    }  # fmt: skip
    if presentation is not None:
        body["presentation"] = presentation
    if resubmission_of:
        body["resubmissionOf"] = resubmission_of
    return body


def _consumers(console: Console) -> list[Persona]:
    return [p for p in console.personas.values() if p.kind == "consumer"]


def _queue(
    console: Console, discom: str, *, requester: str | None = None, consumer: str | None = None
) -> list[Json]:
    """The discom's whole queue (newest first), as far back as the pages allow; an
    applicant's (``requester``) or a consumer's own rows only when given."""
    items: list[Json] = []
    cursor: str | None = None
    for _ in range(QUEUE_PAGES):
        page = console.net.der_queue(
            discom, cursor, limit=100, requester=requester, consumer=consumer
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


def _failed(verdict: Json) -> list[Json]:
    return [r for r in verdict.get("rules", []) if not r.get("passed")]


# ---------------------------------------------------------------------- installer


@router.get("/installer", summary="The installer: apply for a customer's DER connection")
def installer_home(request: Request) -> Response:
    console, persona = _installer(request)
    me = console.plan.member(INSTALLER)
    applications: list[Json] = []
    try:
        asked: list[Json] = console.net.office_get(INSTALLER, DESK)
        for discom in console.plan.discoms():
            for item in _queue(console, discom.name, requester=me.host):
                if item["requester"] == me.host:
                    applications.append({**item, "discom": discom.name,
                                         "failed": _failed(item["verdict"])})  # fmt: skip
    except Upstream as exc:
        return _error_page(request, exc, persona)
    applications.sort(key=lambda a: a["receivedAt"], reverse=True)
    requests = [{k: v for k, v in r.items() if k != "credentials"} for r in asked]
    data = {"installer": me.host, "requests": requests, "applications": applications}
    view = {
        "consumers": _consumers(console),
        "schemes": SCHEMES,
        "today": datetime.now(IST).date().isoformat(),
    }
    return render(request, "installer.html", data, persona=persona, view=view)


@router.post("/installer/applications", summary="Prepare a DER connection application")
def installer_apply(
    request: Request,
    consumer: Annotated[str, Form(pattern=r"^[a-z0-9-]{1,40}$")],
    capacity_kw: Annotated[float, Form(gt=0, le=1000)],
    scheme: Annotated[str, Form(pattern=r"^(net_metering|net_billing|gross_metering)$")],
    inverter_kw: Annotated[float, Form(gt=0, le=1000)],
    commissioning_date: Annotated[date, Form()],
    resubmission_of: Annotated[str | None, Form(pattern=r"^DERAPP-[A-Z0-9-]{1,40}$")] = None,
) -> Response:
    """The application goes to the installer's desk, awaiting the customer's approval:
    it holds the installer's licence and the kit's certificates, nothing of the
    customer's but their number and the wallet to ask (see the module docstring)."""
    console, persona = _installer(request)
    customer = console.persona(consumer, "consumer")
    discom = console.plan.member(customer.member)
    tag = uuid.uuid4().hex[:8].upper()
    equipment = [("INVERTER", f"INV-CON-{tag}"), ("SOLAR_PV", f"PVM-CON-{tag}")]
    try:
        credentials = [
            licence(console, persona),
            certificate(console, "INVERTER", equipment[0][1], inverter_kw),
            certificate(console, "SOLAR_PV", equipment[1][1], round(inverter_kw * 1.1, 3)),
        ]
        attributes = application(None, customer, capacity_kw, scheme, equipment,
                                 commissioning_date, resubmission_of)  # fmt: skip
        asked = console.net.office_post(INSTALLER, DESK, {
            "consumerNumber": customer.number,
            "consumerWallet": console.wallets.wallet(customer.key).did,
            "discom": discom.host, "discomName": discom.title,
            "application": attributes, "credentials": credentials,
        })  # fmt: skip
    except Upstream as exc:
        return _error_page(request, exc, persona)
    shown = {k: v for k, v in asked.items() if k != "credentials"}
    return acted(request, shown, "/installer", f"{asked['id']}-awaiting-consumer-approval")


# ---------------------------------------------------------------------- discom queue


@router.get("/discom/{name}/der-applications", summary="DER applications, automatic verdicts")
def discom_der_queue(
    request: Request, name: str, cursor: Annotated[str | None, Query(max_length=512)] = None
) -> Response:
    console, persona = _discom(request, name)
    try:
        page = console.net.der_queue(name, cursor)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    rows = [{**i, "failed": _failed(i["verdict"])} for i in page["items"]]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    data = {"applications": rows, "counts": counts, "next_cursor": page.get("next_cursor")}
    return render(request, "discom_der_queue.html", data, persona=persona, view={"name": name})


@router.get(
    "/discom/{name}/der-applications/{number}",
    summary="One DER application: every revision, every rule with its clause",
)
def discom_der_application(request: Request, name: str, number: str) -> Response:
    console, persona = _discom(request, name)
    if not number.replace("-", "").isalnum() or len(number) > 60:
        raise HTTPException(404, f"no application {number!r}")
    try:
        found = console.net.der_application(name, number)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return render(
        request, "discom_der_application.html", {"application": found}, persona=persona,
        view={"name": name},
    )  # fmt: skip


# ---------------------------------------------------------------------- consumer


def _myself(request: Request, key: str) -> tuple[Console, Persona]:
    """The consumer's own session only: their wallet acts for nobody else (sign-in's
    path rule says the same; the page checks the principal itself too)."""
    console: Console = request.app.state.console
    persona = console.persona(key, "consumer")
    who = getattr(request.state, "principal", None)
    if not isinstance(who, Principal) or who.subject != persona.key:
        raise Forbidden("only the consumer decides on sharing their credential")
    return console, persona


def _asked(console: Console, persona: Persona, request_id: str) -> Json:
    """The installer's request addressed to this consumer; another's is not found."""
    try:
        found: Json = console.net.office_get(
            INSTALLER, f"{DESK}/{request_id}", for_consumer=persona.number,
            consumerNumber=persona.number,
        )  # fmt: skip
    except Upstream as exc:
        if exc.status == 404:
            raise RequestNotFound(f"no application request {request_id} for you") from None
        raise
    if found.get("consumerWallet") != console.wallets.wallet(persona.key).did:
        raise RequestNotFound(f"no application request {request_id} for you")
    return found


def _decide(console: Console, persona: Persona, request_id: str, body: Json) -> Json:
    path = f"{DESK}/{request_id}/decision?consumerNumber={quote(persona.number or '')}"
    done: Json = console.net.office_post(INSTALLER, path, body, for_consumer=persona.number)
    return done


@router.post(
    "/consumer/{key}/der/requests/{request_id}/approve",
    summary="Approve sharing my ElectricityCredential for an installer's application",
)
def consumer_approve(request: Request, key: str, request_id: RequestId) -> Response:
    """The consumer's wallet signs one presentation of their passport with the
    installer's credentials, for their discom's challenge; the installer's desk checks
    it and sends it; the page waits for the discom's decision."""
    console, persona = _myself(request, key)
    asked = _asked(console, persona, request_id)
    discom = console.plan.member(persona.member)
    if asked["discom"] != discom.host:
        raise RequestNotFound(f"{request_id} asks to share with {asked['discom']}, not your discom")
    try:
        passport = electricity_credential(console, persona)
        challenge = console.net.post(
            discom.name, "/presentations/challenges", {"domain": discom.host}
        )
        wallet = console.wallets.wallet(persona.key)
        presentation = wallet.present(
            [passport, *asked["credentials"]], challenge["challenge"], discom.host
        )
        done = _decide(console, persona, request_id,
                       {"decision": "approve", "presentation": presentation})  # fmt: skip
        if done.get("trail", [{}])[-1].get("kind") != "sent":
            raise Upstream(discom.name, 502, "the discom refused the application")
        decision = decided(console, persona, request_id, discom)
        if decision.get("derCredential"):
            collect(console, persona, discom, decision)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    shown = {k: v for k, v in decision.items() if k != "derCredential"}
    what = f"{decision.get('applicationNumber')}-{decision.get('outcome')}"
    return acted(request, shown, f"/consumer/{key}/der", what)


@router.post(
    "/consumer/{key}/der/requests/{request_id}/decline",
    summary="Decline an installer's application: nothing is shared",
)
def consumer_decline(request: Request, key: str, request_id: RequestId) -> Response:
    """A presentation of nothing, signed by the consumer's wallet for this request at
    the installer: the application is closed and never reaches the discom."""
    console, persona = _myself(request, key)
    _asked(console, persona, request_id)
    installer = console.plan.member(INSTALLER)
    wallet = console.wallets.wallet(persona.key)
    presentation = wallet.present([], f"decline:{request_id}", installer.host)
    try:
        done = _decide(console, persona, request_id,
                       {"decision": "decline", "presentation": presentation})  # fmt: skip
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return acted(request, done, f"/consumer/{key}/der", "declined")


def decided(console: Console, persona: Persona, request_id: str, discom: Member) -> Json:
    """The discom's decision, as the installer's desk shows it to the consumer."""
    deadline = time.monotonic() + ANSWER_WAIT
    while time.monotonic() < deadline:
        found = _asked(console, persona, request_id).get("decision")
        if found:
            decision: Json = found
            return decision
        time.sleep(0.1)
    raise Upstream(discom.name, 504, "no decision (on_confirm) within the wait")


def collect(console: Console, persona: Persona, discom: Member, decision: Json) -> None:
    """The consumer's wallet collects its DERCredential with the one-time token."""
    delivery = decision["derCredential"]["delivery"]
    credential = console.net.get_url(
        discom.name, delivery["uri"], headers={"Authorization": f"Bearer {delivery['token']}"}
    )
    issued = {"id": decision["derCredential"]["id"], "type": "DERCredential",
              "format": "vc+jwt" if isinstance(credential, str) else "ldp_vc"}  # fmt: skip
    console.wallets.keep(persona.key, discom.name, issued, credential)


@router.get("/consumer/{key}/der", summary="My rooftop solar: its IDs and DER credential")
def consumer_der(request: Request, key: str) -> Response:
    console: Console = request.app.state.console
    persona = console.persona(key, "consumer")
    consumer_id = console.consumer_id(persona)
    try:
        asked = [
            {k: v for k, v in r.items() if k != "credentials"}
            for r in console.net.office_get(
                INSTALLER, DESK, for_consumer=persona.number, consumerNumber=persona.number
            )
            if r["consumerWallet"] == console.wallets.wallet(persona.key).did
        ]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    awaiting = [r for r in asked if r["state"] == "AWAITING_CONSUMER_APPROVAL"]
    answered = [r for r in asked if r["state"] != "AWAITING_CONSUMER_APPROVAL"]
    if consumer_id is None:
        data: Json = {
            "consumer_id": None,
            "onboarded": False,
            "awaiting": awaiting,
            "answered": answered,
            "applications": [],
            "credentials": [],
        }
        return render(request, "consumer_der.html", data, persona=persona)
    try:
        mine = [
            a
            for a in _queue(console, persona.member, consumer=consumer_id)
            if a["consumerId"] == consumer_id
        ]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    credentials = [
        {k: v for k, v in c.items() if k != "credential"}
        for c in _held(console, persona)
        if c["type"] == "DERCredential"
    ]
    data = {
        "consumer_id": consumer_id,
        "onboarded": True,
        "awaiting": awaiting,
        "answered": answered,
        "ders": [a for a in mine if a["state"] == "APPROVED"],
        "applications": [{**a, "failed": _failed(a["verdict"])} for a in mine],
        "credentials": credentials,
    }
    return render(request, "consumer_der.html", data, persona=persona)
