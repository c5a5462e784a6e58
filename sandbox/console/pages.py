"""The console's pages: each route gathers its data from the participants' APIs, then
renders it (Jinja2) or, for ``Accept: application/json`` or ``?format=json``, answers
the same data as JSON: every page has its JSON twin.

Actions are plain HTML forms (POST, then 303 back to the page), so the console works
without JavaScript; ``static/console.js`` only draws the charts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from consent.models import DataType, FrequencyUnit, Granularity
from kernel.access import Principal, Unauthenticated
from sandbox.console import der_pages, p2p_pages
from sandbox.console.i18n import language
from sandbox.console.personas import Persona
from sandbox.console.sources import Json, Upstream
from sandbox.console.view import (
    TEMPLATES,
    Console,
    _discom,
    _error_page,
    _held,
    _ist,
    _lang,
    _safe_next,
    acted,
    render,
    wants_json,
)

# What other modules (app, sign-in, tests) take from here, some of it from view.
__all__ = [
    "TEMPLATES",
    "Console",
    "_safe_next",
    "acted",
    "narrowing",
    "reasons_from_form",
    "render",
    "router",
    "wants_json",
]

ACTIONS = ("reject", "pause", "resume", "revoke")
ACCESS_KINDS = {"data_accessed": "Accessed", "data_access_refused": "Refused"}
SHARE_WITH = "bank"  # the third-party app a consumer shows credentials to


router = APIRouter()


# ---------------------------------------------------------------------- home, switches


@router.get("/", summary="Home: who you can act as")
def home(request: Request) -> Response:
    console: Console = request.app.state.console
    groups: dict[str, list[Json]] = {}
    for p in console.personas.values():
        groups.setdefault(p.kind, []).append({"key": p.key, "title": p.title, "url": _home(p)})
    return render(request, "home.html", {"personas": groups})


def _home(p: Persona) -> str:
    if p.kind == "consumer":
        return f"/consumer/{p.key}/consents"
    if p.kind == "discom":
        return f"/discom/{p.key}"
    if p.kind == "regulator":
        return "/regulator/filings"
    if p.kind == "p2p":
        return "/p2p"
    if p.kind == "installer":
        return "/installer"
    return "/network"


@router.get("/persona", summary="The sandbox's persona switch: go to a persona's home")
def switch_persona(
    request: Request, key: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    console: Console = request.app.state.console
    if not key:
        return RedirectResponse("/", status_code=303)  # nobody chosen yet
    found = console.personas.get(key)
    if found is None:
        raise HTTPException(404, f"no persona {key!r}")
    return RedirectResponse(_home(found), status_code=303)


@router.get("/language", summary="Switch the consumer pages' language")
def switch_language(
    lang: Annotated[str, Query(pattern=r"^[a-z]{2}$")],
    next: Annotated[str, Query(max_length=300)] = "/",
) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie("lang", language(lang), samesite="lax", max_age=365 * 86400)
    return response


# ---------------------------------------------------------------------- consumer


def _consumer(request: Request, key: str) -> tuple[Console, Persona, str | None]:
    console: Console = request.app.state.console
    persona = console.persona(key, "consumer")
    return console, persona, console.consumer_id(persona)


def _not_onboarded(request: Request, persona: Persona, template: str) -> Response:
    return render(request, template, {"consumer_id": None, "onboarded": False}, persona=persona)


@router.get("/consumer/{key}", summary="A consumer's home")
def consumer_home(key: str) -> Response:
    return RedirectResponse(f"/consumer/{key}/consents", status_code=303)


@router.get("/consumer/{key}/consents", summary="My consents: pending first, then decided")
def consumer_consents(request: Request, key: str) -> Response:
    console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        return _not_onboarded(request, persona, "consumer_consents.html")
    try:
        consents = console.net.consents(consumer_id)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    pending = [c for c in consents if c["status"] == "PENDING"]
    decided = [c for c in consents if c["status"] != "PENDING"]
    data = {"consumer_id": consumer_id, "onboarded": True, "pending": pending, "decided": decided}
    return render(request, "consumer_consents.html", data, persona=persona)


def _consent_page(
    request: Request, persona: Persona, consumer_id: str, consent_id: str, error: Json | None
) -> Response:
    console: Console = request.app.state.console
    try:
        consent = console.net.consent(consumer_id, consent_id)
        history = [e for e in console.net.audit(consumer_id) if e["consent_id"] == consent_id]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    lang = _lang(request)
    notice = consent["notices"].get(lang) or consent["notices"].get("en") or ""
    data = {"consumer_id": consumer_id, "consent": consent, "history": history, "error": error}
    view = {
        "notice": notice,
        "data_types": [t.value for t in DataType],
        "granularities": [g.value for g in Granularity],
        "units": [u.value for u in FrequencyUnit],
        "actions": [a for a in ACTIONS if a in consent["allowed_actions"]],
    }
    status = int(error["status"]) if error else 200
    return render(request, "consumer_consent.html", data, persona=persona, view=view, status=status)


@router.get("/consumer/{key}/consents/{consent_id}", summary="One consent: notice, decide")
def consumer_consent(request: Request, key: str, consent_id: str) -> Response:
    _console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        raise HTTPException(404, "the consumer is not onboarded yet")
    return _consent_page(request, persona, consumer_id, consent_id, None)


def narrowing(
    requested: Json,
    data_types: list[str],
    granularity: str | None,
    frequency_value: int | None,
    frequency_unit: str | None,
    date_from: str | None,
    date_to: str | None,
    data_life_days: int | None,
) -> Json:
    """The fields the consumer changed from what was asked (the consent manager refuses
    anything wider): an untouched form approves exactly the request."""
    change: Json = {}
    if data_types and sorted(data_types) != sorted(requested["data_types"]):
        change["data_types"] = data_types
    if granularity and granularity != requested["granularity"]:
        change["granularity"] = granularity
    asked_frequency = requested["frequency"]
    frequency = {
        "value": frequency_value or asked_frequency["value"],
        "unit": frequency_unit or asked_frequency["unit"],
    }
    if frequency != asked_frequency:
        change["frequency"] = frequency
    asked_range = requested["date_range"]
    dates = {"from": date_from or asked_range["from"], "to": date_to or asked_range["to"]}
    if dates != asked_range:
        change["date_range"] = dates
    if data_life_days and data_life_days != requested["data_life_days"]:
        change["data_life_days"] = data_life_days
    return change


@router.post("/consumer/{key}/consents/{consent_id}/approve", summary="Approve, maybe narrower")
def approve_consent(
    request: Request,
    key: str,
    consent_id: str,
    data_types: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form default
    granularity: Annotated[str | None, Form(max_length=16)] = None,
    frequency_value: Annotated[int | None, Form(ge=1, le=1000)] = None,
    frequency_unit: Annotated[str | None, Form(max_length=8)] = None,
    date_from: Annotated[str | None, Form(max_length=10)] = None,
    date_to: Annotated[str | None, Form(max_length=10)] = None,
    data_life_days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        raise HTTPException(404, "the consumer is not onboarded yet")
    try:
        consent = console.net.consent(consumer_id, consent_id)
        change = narrowing(
            consent["requested_scope"],
            data_types,
            granularity,
            frequency_value,
            frequency_unit,
            date_from,
            date_to,
            data_life_days,
        )
        done = console.net.consent_action(consumer_id, consent_id, "approve", change or None)
    except Upstream as exc:
        error = {"participant": exc.who, "status": exc.status, "detail": exc.detail}
        return _consent_page(request, persona, consumer_id, consent_id, error)
    return acted(request, done, f"/consumer/{key}/consents/{consent_id}", "approve")


@router.post(
    "/consumer/{key}/consents/{consent_id}/{action}", summary="Reject, pause, resume, revoke"
)
def act_on_consent(request: Request, key: str, consent_id: str, action: str) -> Response:
    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        raise HTTPException(404, "the consumer is not onboarded yet")
    try:
        done = console.net.consent_action(consumer_id, consent_id, action)
    except Upstream as exc:
        error = {"participant": exc.who, "status": exc.status, "detail": exc.detail}
        return _consent_page(request, persona, consumer_id, consent_id, error)
    return acted(request, done, f"/consumer/{key}/consents/{consent_id}", action)


@router.get("/consumer/{key}/access", summary="Who accessed my data, and who was refused")
def consumer_access(request: Request, key: str) -> Response:
    console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        return _not_onboarded(request, persona, "consumer_access.html")
    try:
        events = [e for e in console.net.audit(consumer_id) if e["kind"] in ACCESS_KINDS]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    events.reverse()  # newest first
    data = {"consumer_id": consumer_id, "onboarded": True, "accesses": events}
    return render(
        request, "consumer_access.html", data, persona=persona, view={"kinds": ACCESS_KINDS}
    )


@router.get("/consumer/{key}/credentials", summary="My credentials")
def consumer_credentials(request: Request, key: str) -> Response:
    console, persona, consumer_id = _consumer(request, key)
    wallet = console.wallets.wallet(persona.key)
    data = {
        "consumer_id": consumer_id,
        "onboarded": consumer_id is not None,
        "holder": wallet.did,
        "credentials": _held(console, persona),
        "shared": request.app.state.shared.get(persona.key),
    }
    return render(request, "consumer_credentials.html", data, persona=persona)


@router.post("/consumer/{key}/credentials/collect", summary="Collect a credential from my discom")
def collect_credential(
    request: Request, key: str, kind: Annotated[str, Form(pattern=r"^(passport|digest)$")]
) -> Response:
    console, persona, _ = _consumer(request, key)
    wallet = console.wallets.wallet(persona.key)
    path = "/back-office/passports" if kind == "passport" else "/back-office/digests"
    try:
        issued = console.net.office_post(  # the discom's back office, for this consumer
            persona.member,
            path,
            {"consumerNumber": persona.number, "holder": wallet.did},
            for_consumer=persona.number,
        )
        delivery = issued["delivery"]
        credential = console.net.get_url(
            persona.member,
            delivery["uri"],
            headers={"Authorization": f"Bearer {delivery['token']}"},
        )
    except Upstream as exc:
        return _error_page(request, exc, persona)
    console.wallets.keep(persona.key, persona.member, issued, credential)
    return acted(
        request,
        {"id": issued["id"], "type": issued["type"]},
        f"/consumer/{key}/credentials",
        "collect",
    )


@router.get("/consumer/{key}/credentials/{index}/download", summary="Download one credential")
def download_credential(request: Request, key: str, index: int) -> Response:
    console, persona, _ = _consumer(request, key)
    held = console.wallets.held(persona.key)
    if not 0 <= index < len(held):
        raise HTTPException(404, "no such credential")
    item = held[index]
    credential = item["credential"]
    name = f"{item['type']}-{index + 1}"
    if isinstance(credential, str):
        return Response(
            credential,
            media_type="application/vc+jwt",
            headers={"Content-Disposition": f'attachment; filename="{name}.jwt"'},
        )
    return JSONResponse(
        credential,
        media_type="application/vc+ld+json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@router.post("/consumer/{key}/credentials/share", summary="Show credentials to the bank")
def share_credentials(
    request: Request,
    key: str,
    index: Annotated[list[int], Form()] = [],  # noqa: B006
) -> Response:
    """A presentation of the chosen credentials, bound to the bank's one-time challenge
    and domain, signed by the wallet's holder key; the bank's own verifier decides."""
    console, persona, _ = _consumer(request, key)
    held = console.wallets.held(persona.key)
    chosen = [held[i]["credential"] for i in index if 0 <= i < len(held)]
    if not chosen:
        raise HTTPException(422, "choose at least one credential")
    wallet = console.wallets.wallet(persona.key)
    verifier = console.plan.member(SHARE_WITH)
    try:
        challenge = console.net.post(
            SHARE_WITH, "/presentations/challenges", {"domain": verifier.host}
        )
        presentation = wallet.present(chosen, challenge["challenge"], verifier.host)
        verdict = console.net.post(
            SHARE_WITH,
            "/presentations/verify",
            {"presentation": presentation, "domain": verifier.host},
        )
    except Upstream as exc:
        return _error_page(request, exc, persona)
    shown = {
        "verifier": verifier.host,
        "verified": bool(verdict.get("verified")),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "verdict": verdict,
        "credentials": len(chosen),
    }
    request.app.state.shared[persona.key] = shown
    return acted(request, shown, f"/consumer/{key}/credentials", "share")


@router.get("/consumer/{key}/usage", summary="My load curve: import and solar export")
def consumer_usage(
    request: Request, key: str, day: Annotated[date | None, Query()] = None
) -> Response:
    console, persona, consumer_id = _consumer(request, key)
    try:
        curve = console.net.office_get(  # personal data: for this consumer only
            persona.member,
            f"/back-office/consumers/{persona.number}/load-curve",
            for_consumer=persona.number,
            day=day.isoformat() if day else None,
        )
    except Upstream as exc:
        return _error_page(request, exc, persona)
    blocks = curve["blocks"]
    totals = {
        "import_kwh": round(sum(b["import_kwh"] for b in blocks), 2),
        "export_kwh": round(sum(b["export_kwh"] for b in blocks), 2),
    }
    data = {"consumer_id": consumer_id, "curve": curve, "totals": totals}
    return render(request, "consumer_usage.html", data, persona=persona)


# ---------------------------------------------------------------------- discom operator


def _step(name: str, ok: bool, detail: str) -> Json:
    return {"step": name, "ok": ok, "detail": detail}


@router.get("/discom/{name}", summary="A discom's onboarding progress in the network")
def discom_home(request: Request, name: str) -> Response:
    console, persona = _discom(request, name)
    member = console.plan.member(name)
    net = console.net
    steps: list[Json] = []
    try:
        namespace = net.namespace(member.host)
        steps.append(
            _step(
                "namespace claimed and domain proven",
                namespace.get("status") == "verified",
                f"{member.host}: {namespace.get('status', '')}",
            )
        )
    except Upstream as exc:
        steps.append(_step("namespace claimed and domain proven", False, exc.detail))
    try:
        record = net.subscriber_record(member.host)
        details = record.get("details", {})
        steps.append(
            _step(
                "subscriber record published",
                details.get("status") == "SUBSCRIBED",
                f"{details.get('type')} {details.get('subscriber_url')}",
            )
        )
        memberships = record.get("network_memberships") or []
        steps.append(
            _step(
                "referenced into its networks",
                set(member.networks) <= set(memberships),
                ", ".join(memberships) or "none",
            )
        )
    except Upstream as exc:
        steps.append(_step("subscriber record published", False, exc.detail))
    try:
        roles = [r for r in net.roles() if r["record_name"] == member.name]
        trusted = roles[0]["details"]["domains"] if roles else []
        steps.append(
            _step(
                "trusted as an issuer",
                bool(roles) and bool(member.issues),
                ", ".join(trusted) or "no role record",
            )
        )
    except Upstream as exc:
        steps.append(_step("trusted as an issuer", False, exc.detail))
    try:
        did = net.get_url(name, f"{member.url}/.well-known/did.json", headers={"Host": member.host})
        methods = did.get("assertionMethod") or [] if isinstance(did, dict) else []
        steps.append(
            _step(
                "did:web resolves",
                isinstance(did, dict) and did.get("id") == member.did,
                f"{member.did}: {len(methods)} assertion keys",
            )
        )
    except Upstream as exc:
        steps.append(_step("did:web resolves", False, exc.detail))
    try:
        page = net.identities(member.discom_code or "", "consumer", None, limit=1)
        steps.append(
            _step(
                "consumers onboarded from the CIS",
                bool(page["items"]),
                "at least one consumer in the registry" if page["items"] else "none",
            )
        )
    except Upstream as exc:
        steps.append(_step("consumers onboarded from the CIS", False, exc.detail))
    data = {
        "discom": {
            "name": member.name,
            "title": member.title,
            "host": member.host,
            "did": member.did,
            "state": member.state,
            "code": member.discom_code,
        },
        "steps": steps,
        "done_steps": sum(1 for s in steps if s["ok"]),
    }
    return render(request, "discom_home.html", data, persona=persona)


@router.get("/discom/{name}/identities", summary="Identities and their legacy mappings")
def discom_identities(
    request: Request,
    name: str,
    type: Annotated[str, Query(pattern=r"^[a-z_]{2,20}$")] = "consumer",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    console, persona = _discom(request, name)
    try:
        page = console.net.identities(persona.discom_code or "", type, cursor)
        rows = [{**i, "legacy": console.net.legacy_ids(i["id"])} for i in page["items"]]
    except Upstream as exc:
        return _error_page(request, exc, persona)
    data = {"type": type, "identities": rows, "next_cursor": page.get("next_cursor")}
    return render(
        request,
        "discom_identities.html",
        data,
        persona=persona,
        view={
            "types": ["consumer", "connection", "meter", "dt", "feeder", "substation"],
            "name": name,
        },
    )


def _discom_consumers(console: Console, persona: Persona) -> list[tuple[Persona, str]]:
    out = []
    for p in console.personas.values():
        if p.kind == "consumer" and p.member == persona.member:
            found = console.consumer_id(p)
            if found is not None:
                out.append((p, found))
    return out


@router.get("/discom/{name}/credentials", summary="Credentials issued to its consumers, status")
def discom_credentials(request: Request, name: str) -> Response:
    """The credentials the sandbox's consumers collected from this discom, each with the
    issuer's own status (active, suspended, revoked); the operator can change it."""
    console, persona = _discom(request, name)
    rows: list[Json] = []
    for p in console.personas.values():
        if p.kind == "consumer" and p.member == name:
            for item in _held(console, p):
                rows.append(
                    {
                        "consumer": p.number,
                        "persona": p.key,
                        "id": item["id"],
                        "type": item["type"],
                        "collected_at": item["collected_at"],
                        "status": item["issuer_status"].get("status"),
                        "reason": item["issuer_status"].get("reason"),
                    }
                )
    return render(
        request,
        "discom_credentials.html",
        {"credentials": rows},
        persona=persona,
        view={"name": name},
    )


@router.post("/discom/{name}/credentials/status", summary="Revoke, suspend or reinstate")
def discom_credential_status(
    request: Request,
    name: str,
    credential_id: Annotated[str, Form(max_length=300)],
    status: Annotated[str, Form(pattern=r"^(revoked|suspended|active)$")],
    reason: Annotated[str, Form(max_length=200)] = "operator decision",
) -> Response:
    console, persona = _discom(request, name)
    try:
        done = console.net.set_status(name, credential_id, status, reason)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return acted(request, done, f"/discom/{name}/credentials", status)


@router.get("/discom/{name}/data-requests", summary="Data requests served and refused")
def discom_data_requests(request: Request, name: str) -> Response:
    """Every fetch the discom's consent gate counted at the consent manager, served or
    refused with the reason, for the consumers the sandbox seeds."""
    console, persona = _discom(request, name)
    host = console.plan.member(name).host
    rows: list[Json] = []
    try:
        for p, consumer_id in _discom_consumers(console, persona):
            for event in console.net.audit(consumer_id):
                if event["kind"] in ACCESS_KINDS and event["actor"] == host:
                    rows.append({**event, "consumer": p.number})
    except Upstream as exc:
        return _error_page(request, exc, persona)
    rows.sort(key=lambda e: e["at"], reverse=True)
    served = sum(1 for r in rows if r["kind"] == "data_accessed")
    data = {"requests": rows, "served": served, "refused": len(rows) - served}
    return render(
        request,
        "discom_requests.html",
        data,
        persona=persona,
        view={"kinds": ACCESS_KINDS, "name": name},
    )


# ---------------------------------------------------------------------- regulator


@router.get("/regulator/packs", summary="Policy packs in force")
def policy_packs(request: Request) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("regulator")
    try:
        packs = console.net.packs()
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return render(request, "policy_packs.html", {"packs": packs}, persona=persona)


@router.get("/regulator/packs/{pack_id}/{version}", summary="One pack: its rules' intent")
def policy_pack(request: Request, pack_id: str, version: str) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("regulator")
    try:
        pack = console.net.pack(pack_id, version)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return render(request, "policy_pack.html", {"pack": pack}, persona=persona)


# ---------------------------------------------------------------------- network explorer


@router.get("/network", summary="Participants, roles and keys")
def network(request: Request) -> Response:
    console: Console = request.app.state.console
    try:
        subscribers = {s["details"]["subscriber_id"]: s for s in console.net.subscribers()}
        roles = {r["record_name"]: r["details"] for r in console.net.roles()}
    except Upstream as exc:
        return _error_page(request, exc, None)
    rows = []
    for m in console.plan.members:
        record = subscribers.get(m.host, {})
        details = record.get("details", {})
        rows.append(
            {
                "name": m.name,
                "title": m.title,
                "host": m.host,
                "url": m.url,
                "did": m.did,
                "beckn_role": details.get("type"),
                "status": details.get("status"),
                "participant_type": (roles.get(m.name) or {}).get("participant_type"),
                "trusted_for": (roles.get(m.name) or {}).get("domains", []),
                "signing_key": details.get("signing_public_key"),
                "networks": record.get("network_memberships", []),
            }
        )
    return render(request, "network.html", {"participants": rows})


@router.get("/network/transactions", summary="The message log of one transaction")
def transaction(
    request: Request, id: Annotated[str | None, Query(max_length=255)] = None
) -> Response:
    """Every participant's own log of the transaction (each side logs what it sent and
    received, with the verdict of its checks), merged in time order."""
    console: Console = request.app.state.console
    messages: list[Json] = []
    if id:
        for m in console.plan.members:
            try:
                messages += console.net.messages(m.name, id)
            except Upstream:
                continue  # no log of that transaction there (or no log at all)
        messages.sort(key=lambda x: (x["at"], x["seq"]))
    return render(request, "transaction.html", {"transaction_id": id, "messages": messages})


# ---------------------------------------------------------------------- P2P trading


@router.get("/consumer/{key}/trades", summary="My P2P trades, my meter, my settlement")
def consumer_trades(request: Request, key: str) -> Response:
    """The consumer's trades from the registry's trade ledger, each with the meter's
    export/import in that block as the discom recorded it for settlement, and the
    platform's settlement statements for them as it stored them."""
    console, persona, consumer_id = _consumer(request, key)
    if consumer_id is None:
        return _not_onboarded(request, persona, "consumer_trades.html")
    member = console.plan.member(persona.member)
    meter = f"{member.did}:assets:meter:{persona.meter}"
    try:
        trades = console.net.trades(party=consumer_id)
        delivered = {}
        if trades:
            since = min(t["block_start"] for t in trades)
            until = max(t["block_start"] for t in trades)
            until = (datetime.fromisoformat(until) + timedelta(minutes=15)).isoformat()
            for b in console.net.meter_blocks(meter, since, until):
                delivered[b["block_start"]] = b
    except Upstream as exc:
        return _error_page(request, exc, persona)
    rows = []
    for t in trades:
        side = "sell" if t["seller"] == consumer_id else "buy"
        block = delivered.get(t["block_start"]) or {}
        value = float(t["quantity_kwh"]) * float(t["price_inr_per_kwh"])
        rows.append(
            {
                **t,
                "side": side,
                "block": _ist(t["block_start"]),
                "value_inr": round(value, 2),
                "metered_export_kwh": block.get("export_kwh"),
                "metered_import_kwh": block.get("import_kwh"),
            }
        )
    try:
        statements = console.net.statements(consumer=consumer_id)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    data = {
        "consumer_id": consumer_id,
        "onboarded": True,
        "meter": meter,
        "trades": rows,
        "statements": statements,
    }
    return render(request, "consumer_trades.html", data, persona=persona)


# ---------------------------------------------------------------------- filings inbox


@router.get("/regulator/filings", summary="The filings inbox, with each pack decision")
def filings_inbox(request: Request) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("regulator")
    try:
        filings = console.net.filings()
    except Upstream as exc:
        return _error_page(request, exc, persona)
    filings.sort(key=lambda f: f["received_at"], reverse=True)
    counts: dict[str, int] = {}
    for f in filings:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    return render(request, "filings.html", {"filings": filings, "counts": counts}, persona=persona)


@router.get("/regulator/filings/{filing_id}", summary="One filing: decision, docket, losses")
def filing_page(request: Request, filing_id: str) -> Response:
    console: Console = request.app.state.console
    persona = console.personas.get("regulator")
    try:
        filing = console.net.filing(filing_id)
        versions = console.net.filing_versions(filing_id)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    chart = {
        "labels": [f["feeder"] for f in filing["feeders"]],
        "values": [f["atc_loss_pct"] for f in filing["feeders"]],
    }
    return render(
        request,
        "filing.html",
        {"filing": filing, "versions": versions},
        persona=persona,
        view={"chart": chart},
    )


def reasons_from_form(codes: list[str], messages: list[str]) -> list[Json]:
    """The form's reason rows, an untouched row (both blank) left out; a half-filled
    row is sent as it is, so the inbox refuses it and the page says why."""
    rows = []
    for code, message in zip(codes, messages, strict=False):
        if code.strip() or message.strip():
            rows.append({"code": code.strip(), "message": message.strip()})
    return rows


@router.post(
    "/regulator/filings/{filing_id}/corrections",
    summary="Request a correction: send an acknowledged filing back with reasons",
)
def request_correction(
    request: Request,
    filing_id: str,
    code: Annotated[list[str], Form(max_length=64)] = [],  # noqa: B006 - FastAPI's form default
    message: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006
) -> Response:
    """Posted by the regulator's one-filing page (no JavaScript needed); the inbox
    checks the reasons and the filing's state, the console only signs and forwards.
    The signed ask names the member of staff signed in (their session's subject): no
    session, no correction, whatever the commission's key would sign."""
    operator = getattr(request.state, "principal", None)
    if not isinstance(operator, Principal) or operator.via != "session":
        raise Unauthenticated("a correction is asked by a signed-in member of staff")
    console: Console = request.app.state.console
    persona = console.personas.get("regulator")
    if not filing_id.isalnum() or len(filing_id) > 64:  # one path segment of the inbox's
        raise HTTPException(404, f"no filing {filing_id!r}")
    if console.commission is None:
        raise HTTPException(503, "this console holds no key of the commission")
    try:
        done = console.net.request_correction(
            filing_id, reasons_from_form(code, message), console.commission, operator.subject
        )
    except Upstream as exc:
        return _error_page(request, exc, persona)
    return acted(request, done, f"/regulator/filings/{filing_id}", "corrections-requested")


# ---------------------------------------------------------------------- outages


@router.get("/discom/{name}/outages", summary="The discom's outage notices")
def discom_outages(request: Request, name: str) -> Response:
    console, persona = _discom(request, name)
    try:
        notices = console.net.outages(name)
    except Upstream as exc:
        return _error_page(request, exc, persona)
    rows = []
    for n in notices:
        assets = n.get("affectedAssets") or []
        feeders = [a["id"]["value"] for a in assets if a.get("assetLevel") == "FEEDER"]
        rows.append(
            {
                "id": n["id"]["value"],
                "class": n.get("outageClass"),
                "status": n.get("status"),
                "category": n.get("category"),
                "cause": (n.get("cause") or {}).get("category"),
                "feeders": feeders,
                "assets": len(assets),
                "issued_at": n.get("issuedAt"),
                "updated_at": n.get("lastUpdatedAt"),
                "notice": n,
            }
        )
    return render(request, "discom_outages.html", {"outages": rows}, persona=persona)


# The pages of the P2P platform and of DER onboarding live in their own modules, on
# this router.

router.include_router(p2p_pages.router)
router.include_router(der_pages.router)
