"""The P2P trading platform's process: a credential issuer (trading permissions), the
market (an order book and a uniform-price double auction per 15-minute block), and
its Beckn side in the P2P trading network, under the state's policy pack.

Platform API (the prosumers' app and the platform's operator call it):

* ``POST /platform/prosumers`` ``{presentation, derCapacityKw?, meteringScheme?}``: a
  prosumer onboards by presenting the credentials :data:`REQUIRED_TO_TRADE` names, and
  its DERCredentials if it has any, bound to the platform's challenge; the platform's
  own verifier checks them (holder proof, issuer's did:web key, the operator's trust
  registry, revocation), binds the DERs to the same consumer through the registry, and
  issues a P2PTradingPermissionCredential to the holder whose ``maxExport`` is the
  verified DERs' capacity, or the declaration when no DER is shown
  (:mod:`sandbox.participants.p2p_der` states the rule).
* ``POST /platform/orders``: a bid or an ask of an onboarded prosumer for one block.
* ``POST /platform/clearing`` ``{day}``: every block of the day cleared
  (:mod:`protocol.market.auction`) and recorded first; then each trade put to the
  seller's state pack (``p2p_trade``) at the regulator's policy decision service; the
  allowed ones recorded in the registry's trade ledger, signed with the platform's
  key; the refused ones kept with the rules that refused them. Safe to run again
  after a crash at any step: no trade reaches the ledger twice
  (:mod:`sandbox.participants.p2p_clearing`).
* ``POST /platform/settlement`` ``{day}``: after delivery, the trade contract of each
  discom's prosumers goes to the discom as a Beckn ``status`` (DEG wave 2); each
  discom records its meters' export/import in the ledger and answers ``on_status``
  with the actuals; the platform then settles from the ledger alone (its trades and
  the discoms' meter blocks, :mod:`protocol.market.settlement`): a statement per
  party and per discom.

The platform's subscriber record is a BAP: in the sandbox it is the caller of every
P2P exchange (DEG's seller platform telling the seller discom), and no buyer app of
another platform calls it. A restarted platform keeps its ledger entries and issued
permissions, its onboarded prosumers (each kept before the onboarding answers,
:mod:`p2p_prosumers`) and its open orders (each kept as signed before the 201,
:mod:`p2p_book`). What it cleared
(each block with the orders it was cleared from) and the statements it settled are
records in its database, read back as written by ``GET /platform/blocks`` and
``/platform/statements`` (:mod:`p2p_views`).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from adapters.synthetic import IST
from credentials.app import create_app
from credentials.did import parse_multibase_key
from credentials.keys import InvalidPublicKey, KeyAlgorithm
from credentials.service import CredentialService
from credentials.verify import PresentationVerdict
from kernel.access import signed
from kernel.backoffice import backoffice
from kernel.problems import Problem
from kernel.service import LazyApp
from protocol.client import new_context
from protocol.market.auction import Block, Order, OrderRefused, Side, Trade, clear_block
from protocol.market.messages import ContractTrade, revenue_flows, trade_contract
from protocol.market.settlement import Metered, Statement, settle
from protocol.market.store import OrdersAlreadyCleared
from protocol.participant import BecknParticipant
from protocol.receiving import Inbound, Unit
from registry.directory.client import CallbackSigner
from registry.ledger.client import LedgerClient
from registry.ledger.models import meter_of_discom
from sandbox.participants.common import (
    ParticipantContext,
    accept_machine_tokens,
    add_lifespan,
    beckn_participant,
    identity_router,
    issuer_settings,
    machine_client,
)
from sandbox.participants.discom_p2p import PREFIX as DISCOM_P2P
from sandbox.participants.p2p_book import OpenBook
from sandbox.participants.p2p_clearing import DOMAIN, Postings, block_answer, written_ahead
from sandbox.participants.p2p_der import export_terms, registry_problems, verified_ders
from sandbox.participants.p2p_prosumers import Prosumer, Prosumers
from sandbox.participants.p2p_views import Records, install_platform_views, platform_records
from sandbox.plan import BECKN_KEY, P2P_NETWORK, Plan

REQUIRED_TO_TRADE: tuple[str, ...] = ("ElectricityCredential",)
# Sandbox parameter: what a discom charges per kWh of shortfall against a contract.
DEVIATION_INR_PER_KWH = Decimal("4.00")
ANSWER_WAIT = 10.0


class OnboardingRefused(Problem):
    slug = "p2p-onboarding-refused"
    title = "The prosumer's credentials do not allow it to trade"
    status = 403
    beckn_code = "40300"
    description = "A required credential is missing, does not verify, or is not the holder's."


class NotOnboarded(Problem):
    slug = "p2p-not-onboarded"
    title = "The prosumer has not onboarded to the platform"
    status = 403
    beckn_code = "40300"
    description = "Only prosumers holding the platform's trading permission may post orders."


class OrderSignatureInvalid(Problem):
    slug = "p2p-order-signature-invalid"
    title = "The order is not signed by the prosumer it names"
    status = 401
    beckn_code = "40100"
    description = "An order carries the holder's did:key signature over the exact body."


class OrderNotTaken(Problem):
    slug = "p2p-order-refused"
    title = "The order book refused the order"
    status = 422
    beckn_code = "40000"
    description = "Not a block of the day, not whole Wh or paise, a duplicate, or both sides."


class Onboard(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    presentation: dict[str, Any]
    # Declared; bounded by the DERCredentials when shown (sandbox.participants.p2p_der).
    der_capacity_kw: float | None = Field(default=None, alias="derCapacityKw", ge=0, le=1000)
    metering_scheme: Literal["none", "net_billing", "net_metering", "gross_metering"] | None = (
        Field(default=None, alias="meteringScheme")
    )


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    holder: str = Field(min_length=8, max_length=300)
    side: Side
    day: date
    block: int = Field(ge=1, le=96)
    quantity_kwh: str = Field(alias="quantityKwh", pattern=r"^[0-9]{1,4}(\.[0-9]{1,3})?$")
    price_inr_per_kwh: str = Field(alias="priceInrPerKwh", pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$")


class Day(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date


def onboarding_problems(verdict: PresentationVerdict, required: Sequence[str]) -> list[str]:
    """Why the presented credentials do not let the holder onboard ([] when they do):
    the presentation must verify, and hold a verified credential of each ``required``
    type issued to the presentation's holder."""
    problems = [f"{c.name}: {c.reason}" for c in verdict.checks if not c.ok]
    for kind in required:
        held = [v for v in verdict.credentials if v.credential_type == kind]
        if not held:
            problems.append(f"no {kind} was presented")
            continue
        for found in held:
            if not found.verified:
                problems += [f"{kind}: {c.name}: {c.reason}" for c in found.failures]
            subject = (found.credential or {}).get("credentialSubject") or {}
            if subject.get("id") != verdict.holder:
                problems.append(f"{kind} was issued to {subject.get('id')}, not the holder")
    return problems


ORDER_SIGNATURE = "Prosumer-Signature"  # base64url Ed25519 over the body, by the holder


def holder_signed(holder: str, body: bytes, signature: str | None) -> bool:
    """``signature`` is the holder's did:key (Ed25519) signature of ``body``."""
    if not signature or not holder.startswith("did:key:"):
        return False
    try:
        algorithm, raw = parse_multibase_key(holder.removeprefix("did:key:"))
        if algorithm is not KeyAlgorithm.ED25519:
            return False
        padded = signature + "=" * (-len(signature) % 4)
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.urlsafe_b64decode(padded), body)
    except (InvalidPublicKey, InvalidSignature, ValueError):
        return False
    return True


def _electricity(verdict: PresentationVerdict) -> tuple[str, dict[str, Any]]:
    found = next(v for v in verdict.credentials if v.credential_type == "ElectricityCredential")
    return str(found.issuer), (found.credential or {})["credentialSubject"]


class Inbox:
    """The callbacks the platform's Beckn receiver accepted, per transaction."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, list[Inbound]] = {}

    def __call__(self, message: Inbound, _unit: Unit) -> None:
        with self.lock:
            self.items.setdefault(message.context.transaction_id, []).append(message)

    def wait(self, transaction: str, count: int, seconds: float) -> list[Inbound]:
        deadline = time.monotonic() + seconds
        while True:
            with self.lock:
                found = list(self.items.get(transaction, []))
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


class Platform:
    def __init__(
        self,
        context: ParticipantContext,
        beckn: BecknParticipant,
        inbox: Inbox,
        registry: httpx.Client,
        regulator: httpx.Client,
        records: Records,
    ) -> None:
        self.me = context.me
        self.plan: Plan = context.plan
        self.beckn = beckn
        self.inbox = inbox
        self.registry = registry
        self.regulator = regulator
        signer = CallbackSigner(f"{self.me.host}#{BECKN_KEY}",
                                lambda m: context.custody.sign(BECKN_KEY, m))  # fmt: skip
        self.ledger = LedgerClient(registry, signer)
        self.book = OpenBook(records)  # the open orders, kept; loaded again on start
        self.records = records  # what it cleared and settled, kept (p2p_views)
        self.prosumers = Prosumers(records.store, self.plan.discoms())  # kept; loaded again
        self.postings = Postings(records, self.prosumers, regulator, self.ledger)

    # -------------------------------------------------------------- onboarding

    def onboard(self, body: Onboard, service: CredentialService) -> dict[str, Any]:
        verdict = service.verify_presentation(body.presentation, self.me.host)
        return self.admit(verdict, body, service)

    def admit(
        self, verdict: PresentationVerdict, body: Onboard, service: CredentialService
    ) -> dict[str, Any]:
        """The platform's decision on a verified presentation: the trading permission
        issued and the prosumer kept (before the answer), or :class:`OnboardingRefused`
        and nothing issued or kept."""
        problems = onboarding_problems(verdict, REQUIRED_TO_TRADE)
        if problems:
            raise OnboardingRefused("; ".join(problems)[:1000], problems=problems)
        issuer, subject = _electricity(verdict)
        discom = next((m for m in self.plan.discoms() if m.did == issuer), None)
        if discom is None or discom.state is None:
            raise OnboardingRefused(f"{issuer} is not a discom of this network")
        assert verdict.holder is not None
        try:
            profile = subject["customerProfile"]
            consumption = profile["consumptionProfiles"][0]
            prosumer = Prosumer(
                holder=verdict.holder, customer=str(profile["customerNumber"]),
                meter=str(consumption["meterId"]), discom=discom,
                category=str(consumption["tariffCategoryCode"]).lower(),
                sanctioned_load_kw=float(consumption["sanctionedLoad"]["value"]),
                der_capacity_kw=0.0, metering_scheme="none",
            )  # fmt: skip
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise OnboardingRefused(f"the ElectricityCredential lacks {exc}") from exc
        if not meter_of_discom(prosumer.meter, discom.host):
            raise OnboardingRefused(f"{prosumer.meter} is not a meter of {discom.host}")
        # The DERCredentials shown: verified, and one consumer's with the passport.
        ders, problems = verified_ders(verdict, issuer, discom.state)
        problems += registry_problems(self.registry, ders, prosumer.customer)
        terms = export_terms(ders, body.der_capacity_kw, body.metering_scheme)
        problems += terms.problems
        if problems:
            raise OnboardingRefused("; ".join(problems)[:1000], problems=problems)
        prosumer = replace(prosumer, der_capacity_kw=terms.capacity_kw,
                           metering_scheme=terms.scheme, export_basis=terms.basis,
                           der_ids=tuple(d.der_id for d in terms.ders))  # fmt: skip
        now = datetime.now(IST)
        permission = {
            "id": prosumer.holder,
            "tradingPermission": {
                "customerNumber": prosumer.customer, "meterIds": [prosumer.meter],
                "platforms": [self.me.did],
                "maxExport": {"value": terms.capacity_kw, "unit": "kW"},
                "exportBasis": terms.basis,
                **({"ders": [d.permitted() for d in terms.ders]} if terms.ders else {}),
                "state": discom.state, "programme": f"{discom.state} P2P sandbox pilot",
                "policyPack": f"{discom.state.lower()}:{DOMAIN}",
            },
        }  # fmt: skip
        issued = service.issue(self.me.did, "P2PTradingPermissionCredential", permission,
                               valid_from=now, valid_until=now + timedelta(days=365))  # fmt: skip
        self.prosumers.admit(prosumer, str(issued["id"]))
        return {"prosumer": prosumer.customer, "meter": prosumer.meter, **issued}

    # -------------------------------------------------------------- orders

    def order(self, body: OrderIn, raw: bytes, signature: str | None) -> dict[str, Any]:
        """Take an order signed by the prosumer's own wallet key (its did:key) over the
        exact body: nobody else can trade in its name. It is kept before the 201; a
        re-post of the same signed order is answered as the first time, another order
        under a taken id is refused (:class:`p2p_book.OpenBook`)."""
        if not holder_signed(body.holder, raw, signature):
            raise OrderSignatureInvalid(f"the order is not signed by {body.holder}'s key")
        assert signature is not None

        def make(seq: int) -> Order:
            prosumer = self.prosumers.holder(body.holder)
            if prosumer is None:
                raise NotOnboarded(f"{body.holder} holds no trading permission of ours")
            return Order(body.id, prosumer.customer, body.side, Block(body.day, body.block),
                         Decimal(body.quantity_kwh), Decimal(body.price_inr_per_kwh),
                         seq)  # fmt: skip

        try:
            order = self.book.take(body.id, make, body.holder, raw, signature)
        except OrderRefused as exc:
            raise OrderNotTaken(str(exc)) from exc
        return {"id": order.id, "block": str(order.block), "seq": order.seq}

    # -------------------------------------------------------------- clearing

    def _policy_ref(self, pack: dict[str, Any]) -> tuple[str, str]:
        """Where the rule that decided a trade is (the regulator's OPA Data API) and its
        Rego path, as DEGContract.policy names them. The shipped packs' Rego package is
        ``ies.{state}.v{major}``."""
        state = str(pack["id"]).removeprefix("in-")
        package = f"ies.{state}.v{str(pack['version']).split('.')[0]}"
        regulator = self.plan.member("regulator").url
        url = f"{regulator}/v1/data/{package.replace('.', '/')}/{DOMAIN}/decision"
        return url, f"data.{package}.{DOMAIN}.decision"

    def clear(self, day: date) -> dict[str, Any]:
        """Clear the day's open orders (once: :class:`p2p_book.OpenBook`), recorded
        before anything is posted, then decided and posted to the ledger, resumably
        (:mod:`p2p_clearing`): the answer holds the blocks this call cleared and those
        an interrupted clearing of the day left unposted, finished now."""
        with self.postings.lock:
            books = self.book.clearing(day)
            try:
                clearings = [clear_block(b, orders) for b, orders in sorted(books.items())]
                self.book.cleared(written_ahead(day, clearings, self.prosumers), books)
            except OrdersAlreadyCleared as exc:  # recorded already (it failed after): finish
                self.book.put_back(books, exc)
                clearings = []
            except BaseException as exc:
                self.book.put_back(books, exc)
                raise
            rows = self.postings.finish(day)
            finished = {r.id for r in rows}
            for clearing in clearings:  # nothing to post (no trade): posted when recorded
                row = self.records.store.block(str(clearing.block))
                if row is not None and row.id not in finished:
                    rows.append(row)
        blocks = [block_answer(r) for r in sorted(rows, key=lambda r: r.number)]
        trades = [t for b in blocks for t in b["trades"]]
        recorded = sum(1 for t in trades if t.get("ledger", {}).get("status") in (200, 201))
        refused = sum(1 for t in trades if not t["decision"]["allow"])
        return {"day": day.isoformat(), "blocks": blocks, "recorded": recorded,
                "refused": refused}  # fmt: skip

    def _trade_policy(self, trade_id: str) -> tuple[str, str]:
        """The rule that decided a recorded trade, from the block that records it."""
        row = self.records.store.block(trade_id.split(":", 1)[0])
        for entry in row.trades if row is not None else []:
            if entry["trade_id"] == trade_id and "decision" in entry:
                return self._policy_ref(entry["decision"]["pack"])
        return "", ""

    # -------------------------------------------------------------- delivery, settlement

    def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": 500} | ({"cursor": cursor} if cursor else {})
            page = self.registry.get(path, params=query)
            page.raise_for_status()
            body = page.json()
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def _ledger_trades(self, day: date) -> list[dict[str, Any]]:
        start = datetime(day.year, day.month, day.day, tzinfo=IST)
        return self._pages("/ledger/trades", {
            "platform": self.me.host, "since": start.isoformat(),
            "until": (start + timedelta(days=1)).isoformat()})  # fmt: skip

    def statements(self, day: date) -> dict[str, Statement]:
        """The day's statements from the ledger as it stands (its trades and the
        discoms' meter blocks), without asking the discoms for delivery first."""
        return self._settle_from_ledger([self._contract_trade(t) for t in self._ledger_trades(day)])

    def settle(self, day: date) -> dict[str, Any]:
        self.postings.finish(day)  # an interrupted clearing's trades first: all in the ledger
        recorded = self._ledger_trades(day)
        exchanged: list[dict[str, Any]] = []
        problems: list[str] = []
        registry = self.plan.directory
        discoms = {m.host: m for m in self.plan.discoms()}
        trades = [self._contract_trade(t) for t in recorded]
        for host, discom in sorted(discoms.items()):
            theirs = [t for t in trades if host in (t.seller.discom, t.buyer.discom)]
            if not theirs:
                continue
            contract_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.me.url}/p2p/{day}/{host}")
            policy_url, policy_query = self._trade_policy(theirs[0].id)
            contract = trade_contract(
                str(contract_id), theirs,
                platform=self.me.host, platform_url=self.me.url,
                discoms={h: (str(m.discom_code), m.url) for h, m in discoms.items()
                         if any(h in (t.seller.discom, t.buyer.discom) for t in theirs)},
                ledger=(registry.host, f"{registry.url}/ledger"),
                policy_url=policy_url, policy_query=policy_query,
            )  # fmt: skip
            url = f"{discom.url}{DISCOM_P2P}"
            context = new_context("status", network_id=P2P_NETWORK, bap_id=self.me.host,
                                  bap_uri=self.me.beckn_url, bpp_id=host,
                                  bpp_uri=discom.beckn_url)  # fmt: skip
            delivery = self.beckn.exchange.send(
                url, host, {"context": context, "message": {"contract": contract}}
            )
            exchanged.append({"action": "status", "document": json.loads(delivery.prepared.body),
                              "acknowledged": delivery.acknowledged})  # fmt: skip
            if not delivery.acknowledged:
                problems.append(f"{host} refused the status: {delivery.failure or delivery.ack}")
                continue
            answers = self.inbox.wait(context["transactionId"], 1, ANSWER_WAIT)
            if not answers:
                problems.append(f"{host} sent no on_status")
                continue
            answer = answers[0]
            if answer.sender.subscriber_id != host or answer.action != "on_status":
                problems.append(f"an {answer.action} from {answer.sender.subscriber_id}")
            if answer.signature.headers[-1] != "request-signature":
                problems.append(f"{host}'s on_status is not bound to our status")
            exchanged.append({"action": answer.action, "document": answer.document,
                              "sender": answer.sender.subscriber_id})  # fmt: skip
        statements = self._settle_from_ledger(trades)
        out = [_statement_json(s) for s in statements.values()]
        self.records.settled(day, out)
        return {
            "day": day.isoformat(), "trades": len(trades), "messages": exchanged,
            "problems": problems, "statements": out,
            "balance_inr": str(sum((s.net_inr for s in statements.values()), Decimal(0))),
        }  # fmt: skip

    def _contract_trade(self, row: dict[str, Any]) -> ContractTrade:
        seller = self.prosumers.customer(row["seller"])
        buyer = self.prosumers.customer(row["buyer"])
        return ContractTrade(
            row["trade_id"], row["trade_id"].rsplit(":", 2)[-2],
            datetime.fromisoformat(row["block_start"]), seller.party(), buyer.party(),
            Decimal(row["quantity_kwh"]), Decimal(row["price_inr_per_kwh"]),
        )  # fmt: skip

    def _settle_from_ledger(self, trades: list[ContractTrade]) -> dict[str, Statement]:
        """Statements from what the ledger holds: the trades as recorded and the
        discoms' meter blocks (their current versions)."""
        if not trades:
            return {}
        first = min(t.block_start for t in trades)
        last = max(t.block_start for t in trades) + timedelta(minutes=15)
        blocks = {t.block_start: _block_of(t.block_start) for t in trades}
        metered: dict[tuple[str, Block], Metered] = {}
        meters = {p.meter: p.id for t in trades for p in (t.seller, t.buyer)}
        for meter, party in meters.items():
            for row in self._pages(
                "/ledger/meter-blocks",
                {"meter": meter, "since": first.isoformat(), "until": last.isoformat()},
            ):
                at = datetime.fromisoformat(row["block_start"])
                if at in blocks:
                    metered[party, blocks[at]] = Metered(Decimal(row["export_kwh"]),
                                                         Decimal(row["import_kwh"]))  # fmt: skip
        auction_trades = [
            Trade(blocks[t.block_start], f"bid:{t.id}", t.ask_id, t.buyer.id, t.seller.id,
                  t.quantity_kwh, t.price_inr_per_kwh)
            for t in trades
        ]  # fmt: skip
        discom_of = {p.id: p.discom for t in trades for p in (t.seller, t.buyer)}
        rates = dict.fromkeys(set(discom_of.values()), DEVIATION_INR_PER_KWH)
        return settle(auction_trades, metered, discom_of, rates)


def _block_of(start: datetime) -> Block:
    local = start.astimezone(IST)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return Block(local.date(), int((local - midnight).total_seconds() // 900) + 1)


def _statement_json(statement: Statement) -> dict[str, Any]:
    lines = [{
        "block": str(line.block), "role": line.role, "contractedKwh": str(line.contracted_kwh),
        "meteredKwh": None if line.metered_kwh is None else str(line.metered_kwh),
        "deliveredKwh": str(line.delivered_kwh), "shortfallKwh": str(line.shortfall_kwh),
        "energyInr": str(line.energy_inr), "deviationInr": str(line.deviation_inr),
    } for line in statement.lines]  # fmt: skip
    flows = [(f"energy {line.role} {line.block}", line.energy_inr) for line in statement.lines]
    flows += [(f"deviation {line.block}", line.deviation_inr)
              for line in statement.lines if line.deviation_inr]  # fmt: skip
    if statement.discom is None:
        flows = [("deviation charges received", statement.deviation_received_inr)]
    return {
        "party": statement.party, "discom": statement.discom, "lines": lines,
        "energyInr": str(statement.energy_inr), "deviationInr": str(statement.deviation_inr),
        "deviationReceivedInr": str(statement.deviation_received_inr),
        "netInr": str(statement.net_inr),
        "revenueFlow": revenue_flows(statement.party, flows),
    }  # fmt: skip


def platform_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/platform", tags=["P2P trading platform"])

    @router.post(
        "/prosumers",
        dependencies=[signed("vc-presentation")],
        status_code=201,
        summary="Onboard a prosumer (credentials shown)",
    )
    def onboard(body: Onboard, request: Request) -> dict[str, Any]:
        return platform.onboard(body, request.app.state.credentials)

    @router.post(
        "/orders",
        dependencies=[signed("holder")],
        status_code=201,
        summary="Post a bid or an ask for one block",
        description=f"Signed by the prosumer's wallet key: `{ORDER_SIGNATURE}`.",
    )
    async def order(
        body: OrderIn,
        request: Request,
        signature: Annotated[str | None, Header(alias=ORDER_SIGNATURE, max_length=200)] = None,
    ) -> dict[str, Any]:
        raw = await request.body()
        return await run_in_threadpool(platform.order, body, raw, signature)

    @router.post(
        "/clearing",
        dependencies=[backoffice()],
        summary="Clear every block of a day; policy; ledger",
    )
    def clearing(body: Day) -> dict[str, Any]:
        return platform.clear(body.day)

    @router.post(
        "/settlement",
        dependencies=[backoffice()],
        summary="Delivery from the discoms (Beckn), then settlement",
    )
    def settlement(body: Day) -> dict[str, Any]:
        return platform.settle(body.day)

    return router


def create() -> FastAPI:
    context = ParticipantContext()
    app = create_app(issuer_settings(context))
    app.title = f"{context.me.title}: {context.me.host}"
    app.include_router(identity_router(context, did=False))
    http = httpx.Client(timeout=10)
    directory = httpx.Client(base_url=context.directory_url, timeout=10)
    policy = context.plan.member("regulator")
    regulator = machine_client(context, policy.url, policy.host)  # logged decisions: a token
    inbox = Inbox()
    beckn = beckn_participant(context, app.state.engine, inbox, http, directory)
    app.include_router(beckn.router("/beckn"))
    app.include_router(beckn.log_router())
    records = platform_records(app)
    registry = machine_client(context, context.directory_url, context.plan.directory.host)
    platform = Platform(context, beckn, inbox, registry, regulator, records)  # ledger reads
    app.include_router(platform_router(platform))
    install_platform_views(app, records, platform.book)
    accept_machine_tokens(app, context)  # its issuer's doors need a machine token

    def stop() -> None:
        beckn.stop_worker()
        http.close()
        directory.close()
        registry.close()
        regulator.close()

    add_lifespan(app, lambda: beckn.start_worker(0.05), stop)
    return app


app = LazyApp(create)
