"""A discom's regulatory filing desk: the energy audit behind its ARR filing, and the
filing itself, signed and sent to the commission's inbox.

``POST /back-office/filings`` ``{billingRegister, supersedes?}``: the discom's staff hand
over the CIS's feeder-wise billing and collection register (CSV) for the period its
systems hold (the head-end window). The desk

1. reads the register through ``adapters.billing`` (billed kWh, billed and collected INR
   per feeder);
2. loads the SCADA historian's export of the feeders' integrated totals for the period
   into a working store and reads each feeder's input through the feeder-energy port
   (``protocol.outages.feeder_energy.ScadaFeederEnergy``: register roll-over and gaps
   estimated), with the register as the port's metered side;
3. writes the ArrFiling v0.5 for the next financial year whose ARR deadline has not
   passed (line items from the energy account, annualised), with the energy account
   beside it, and signs the submission with the discom's directory key (Beckn
   ``Signature``);
4. posts it to the regulator's ``/filings`` and verifies the commission's signed receipt
   against the regulator's directory key, bound to this request's signature.

The answer carries what was sent and what came back, so the operator sees the
regulator's decision (acknowledged, or the rules to correct) at once. A correction is
the same call with ``supersedes`` naming the filing the regulator sent back.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from adapters.billing import FeederBilling, read_register
from adapters.synthetic import IST
from kernel.backoffice import backoffice
from kernel.database import to_db
from kernel.migrations import upgrade
from protocol.filings.client import Receipt, file
from protocol.outages.feeder_energy import ScadaFeederEnergy
from protocol.outages.ports import Metered
from protocol.outages.store import OutageStore, TotalRow
from protocol.signing import CustodySigner
from registry.directory.client import HttpKeyLookup
from sandbox.legacy import (
    SCADA_KWH_PER_COUNT,
    SCADA_MODULUS,
    feeder_networks,
    hes_window,
    scada_totals,
)
from sandbox.participants.common import ParticipantContext, add_lifespan
from sandbox.plan import BECKN_KEY
from sandbox.seed import DiscomSeed
from schemas.arrfiling import CONTEXT, ArrFiling

# The commission each state's discom files with, and the state's name in the filing.
COMMISSIONS = {"IN-MH": ("MERC", "Maharashtra"), "IN-KA": ("KERC", "Karnataka")}
# Sandbox cost parameters (INR/kWh): the ARR's lines are the energy account annualised
# at these rates, so every rupee in the filing follows from metered energy.
POWER_PURCHASE_INR_PER_KWH = {"IN-MH": 5.35, "IN-KA": 4.85}
COST_INR_PER_BILLED_KWH = {
    "o-and-m-expenses": 0.95,
    "depreciation": 0.35,
    "interest-on-loans": 0.30,
    "return-on-equity": 0.40,
}
NON_TARIFF_INCOME_SHARE = 0.12  # of the revenue at existing tariff
RENEWABLE_PURCHASE_PCT = {"IN-MH": 34.2, "IN-KA": 31.5}
ARR_DAYS_BEFORE_YEAR = 122  # the MYT regulations' 30 November for the year from 1 April
LOSS_REDUCTION_PLAN = (
    "RDSS loss reduction action plan: feeder-wise energy accounting, smart prepaid "
    "metering of the loss-making feeders, and vigilance drives (board-approved)"
)


class FilingOrder(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    billing_register: str = Field(alias="billingRegister", min_length=1, max_length=5_000_000)
    supersedes: Annotated[str, Field(min_length=1, max_length=64)] | None = None


def year_to_file(today: date) -> date:
    """The first 1 April whose ARR is still due (the deadline is 122 days before it)."""
    start = date(today.year if today.month < 4 else today.year + 1, 4, 1)
    while today > start - timedelta(days=ARR_DAYS_BEFORE_YEAR):
        start = date(start.year + 1, 4, 1)
    return start


class CisMetered:
    """The feeder-energy port's metered side from the CIS billing register."""

    def __init__(self, billing: list[FeederBilling]) -> None:
        self.by_feeder = {b.feeder: b for b in billing}

    def metered(self, feeder: str, start: datetime, end: datetime) -> Metered:
        found = self.by_feeder.get(feeder)
        return Metered(found.billed_kwh, 0.0, found.bills) if found else Metered(0.0, 0.0, 0)


class FilingDesk:
    def __init__(
        self,
        context: ParticipantContext,
        seed: DiscomSeed,
        http: httpx.Client,
        directory: httpx.Client,
    ) -> None:
        self.context = context
        self.seed = seed
        self.http = http
        self.keys = HttpKeyLookup(directory)
        self.signer = CustodySigner(context.custody, context.me.host, BECKN_KEY)
        self._historian: dict[tuple[date, date], OutageStore] = {}
        self._lock = threading.Lock()

    def historian(self, first: date, last: date) -> OutageStore:
        """The SCADA historian's export for the period, loaded into a working store."""
        with self._lock:
            found = self._historian.get((first, last))
            if found is not None:
                return found
            engine = create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            upgrade(engine, "protocol.outages:migrations")
            store = OutageStore(engine)
            networks = feeder_networks(
                self.seed.network(), self.seed.feeders_tags(), self.seed.dts_per_feeder
            )
            readings = scada_totals(networks, first, last, gap_feeder=self.seed.feeders_tags()[-1])
            store.add_values(
                [
                    TotalRow(
                        feeder=r.feeder,
                        direction=r.direction,
                        at=to_db(r.at),
                        counter=r.counter,
                        kwh_per_count=SCADA_KWH_PER_COUNT,
                    )
                    for r in readings
                ],
                [],
            )
            self._historian[(first, last)] = store
            return store

    def energy_account(self, register: str, today: date) -> dict[str, Any]:
        first, last = hes_window(today)
        start = datetime(first.year, first.month, first.day, tzinfo=IST)
        end = datetime(last.year, last.month, last.day, tzinfo=IST) + timedelta(days=1)
        billing = read_register(register)
        port = ScadaFeederEnergy(
            self.historian(first, last), CisMetered(billing), modulus=SCADA_MODULUS
        )
        by_feeder = {b.feeder: b for b in billing}
        lines, audit = [], []
        for feeder in self.seed.feeders_tags():
            energy = port.feeder_energy(feeder, start, end)
            quality: dict[str, int] = {}
            for interval in port.intervals(feeder, start, end):
                quality[interval.quality] = quality.get(interval.quality, 0) + 1
            billed = by_feeder.get(feeder)
            lines.append(
                {
                    "feeder": feeder,
                    "inputKwh": round(energy.input_kwh, 3),
                    "billedKwh": energy.billed_kwh,
                    "billedInr": billed.billed_inr if billed else 0.0,
                    "collectedInr": billed.collected_inr if billed else 0.0,
                }
            )
            audit.append({"feeder": feeder, "intervals": quality, "bills": energy.meters})
        return {
            "periodStart": first.isoformat(),
            "periodEnd": last.isoformat(),
            "feeders": lines,
            "audit": audit,
        }

    def arr_filing(self, account: dict[str, Any], today: date, revised: bool) -> dict[str, Any]:
        me, seed = self.context.me, self.seed
        state = me.state or ""
        commission, state_name = COMMISSIONS.get(state, ("SERC", state))
        start = year_to_file(today)
        label = f"FY {start.year}-{(start.year + 1) % 100:02d}"
        days = (
            date.fromisoformat(account["periodEnd"]) - date.fromisoformat(account["periodStart"])
        ).days + 1
        year = 365 / days
        input_kwh = sum(f["inputKwh"] for f in account["feeders"]) * year
        billed_kwh = sum(f["billedKwh"] for f in account["feeders"]) * year
        revenue = sum(f["billedInr"] for f in account["feeders"]) * year
        items: list[dict[str, Any]] = [
            {
                "lineItemId": "power-purchase-cost",
                "category": "VARIABLE",
                "subCategory": "POWER_PURCHASE",
                "head": "Power Purchase Cost",
                "amount": round(input_kwh * POWER_PURCHASE_INR_PER_KWH.get(state, 5.0), 2),
                "formReference": "Form 1.4",
                "componentOf": "net-arr",
            },
        ]
        heads = {
            "o-and-m-expenses": ("FIXED", "O_AND_M", "O&M Expenses"),
            "depreciation": ("FIXED", "DEPRECIATION", "Depreciation"),
            "interest-on-loans": ("FIXED", "INTEREST", "Interest on Loan Capital"),
            "return-on-equity": ("FIXED", "RETURN_ON_EQUITY", "Return on Equity"),
        }
        for item_id, rate in COST_INR_PER_BILLED_KWH.items():
            category, sub, head = heads[item_id]
            items.append(
                {
                    "lineItemId": item_id,
                    "category": category,
                    "subCategory": sub,
                    "head": head,
                    "amount": round(billed_kwh * rate, 2),
                    "componentOf": "net-arr",
                }
            )
        items.append(
            {
                "lineItemId": "non-tariff-income",
                "category": "INCOME",
                "subCategory": "NON_TARIFF_INCOME",
                "head": "Less: Non-Tariff Income",
                "amount": round(-revenue * NON_TARIFF_INCOME_SHARE, 2),
                "componentOf": "net-arr",
            }
        )
        components = [i["lineItemId"] for i in items]
        net = round(sum(i["amount"] for i in items), 2)
        items.append(
            {
                "lineItemId": "net-arr",
                "category": "ARR",
                "subCategory": "NET_ARR",
                "head": "Aggregate Revenue Requirement",
                "amount": net,
                "formula": " + ".join(components),
            }
        )
        items.append(
            {
                "lineItemId": "revenue-at-existing-tariff",
                "category": "INCOME",
                "subCategory": "REVENUE_CREDIT",
                "head": "Revenue at Existing Tariff",
                "amount": round(-revenue, 2),
                "componentOf": "revenue-gap",
            }
        )
        items.append(
            {
                "lineItemId": "revenue-gap",
                "category": "SUB_TOTAL",
                "subCategory": "TOTAL",
                "head": "Revenue Gap / (Surplus)",
                "amount": round(net - revenue, 2),
                "formula": "net-arr + revenue-at-existing-tariff",
            }
        )
        for n, item in enumerate(items, start=1):
            item["serialNumber"] = n
        filing = ArrFiling.model_validate(
            {
                "@context": CONTEXT,
                "objectType": "ARR_FILING",
                "id": f"arr-{seed.code.lower()}-{start.year}-{uuid.uuid4().hex[:8]}",
                "filingId": f"{commission}/ARR/{seed.code}/{label.removeprefix('FY ')}",
                "filingDate": today.isoformat(),
                "filingType": "REVISED" if revised else "ANNUAL",
                "licensee": me.title.split(" (")[0],
                "licenseeCode": seed.code,
                "stateProvince": state_name,
                "regulatoryCommission": commission,
                "currency": "INR",
                "unitScale": "ABSOLUTE",
                "status": "SUBMITTED",
                "formReference": "Form 1",
                "notes": [
                    f"Amounts are the energy account of {account['periodStart']} to "
                    f"{account['periodEnd']} ({days} days) annualised; feeder-wise input and "
                    "billed energy, billing and collection travel with the filing.",
                ],
                "fiscalYears": [
                    {
                        "fiscalYear": label,
                        "yearType": "CONTROL_PERIOD",
                        "amountBasis": "PROPOSED",
                        "lineItems": items,
                    }
                ],
            }
        )
        return filing.wire()

    def submit(self, order: FilingOrder, today: date) -> dict[str, Any]:
        account = self.energy_account(order.billing_register, today)
        audit = account.pop("audit")
        state = self.context.me.state or ""
        billed_kwh = sum(f["billedKwh"] for f in account["feeders"])
        days = (
            date.fromisoformat(account["periodEnd"]) - date.fromisoformat(account["periodStart"])
        ).days + 1
        submission: dict[str, Any] = {
            "arrFiling": self.arr_filing(account, today, revised=order.supersedes is not None),
            "energyAccount": {
                **account,
                "salesForecastMu": round(billed_kwh * 365 / days / 1e6, 6),
                "renewablePurchasePct": RENEWABLE_PURCHASE_PCT.get(state, 30.0),
            },
            "lossReductionPlan": LOSS_REDUCTION_PLAN,
        }
        if order.supersedes:
            submission["supersedes"] = order.supersedes
        regulator = self.context.plan.member("regulator")
        answer = file(self.http, regulator.url, submission, self.signer, self.keys)
        result: dict[str, Any] = {"submission": submission, "audit": audit}
        if isinstance(answer, Receipt):
            result.update(
                {
                    "statusCode": answer.status_code,
                    "receipt": answer.filing,
                    "receiptVerified": {
                        "by": answer.signed_by.params.subscriber_id,
                        "keyId": answer.signed_by.params.key_id,
                    },
                }
            )
        else:
            result.update({"statusCode": answer.status_code, "problem": answer.json()})
        return result


def install(
    app: FastAPI,
    context: ParticipantContext,
    seed: DiscomSeed,
    http: httpx.Client,
    directory: httpx.Client,
) -> None:
    """Mount the filing desk on the discom's back office."""
    desk = FilingDesk(context, seed, http, directory)
    router = APIRouter(prefix="/back-office", tags=["discom back office"])

    @router.post(
        "/filings",
        dependencies=[backoffice()],
        summary="File the ARR (energy audit, sign, send, verify receipt)",
    )
    def submit(order: FilingOrder) -> dict[str, Any]:
        return desk.submit(order, datetime.now(IST).date())

    app.include_router(router)
    app.state.filing_desk = desk

    def warm() -> None:
        # The historian's export for the period is read once, off the request path.
        window = hes_window(datetime.now(IST).date())
        threading.Thread(target=desk.historian, args=window, daemon=True).start()

    add_lifespan(app, warm, lambda: None)
