"""The regulator's filings inbox, pure: what a discom submits, the filing's life, and
the input the state's policy pack decides on.

A submission is an ArrFiling v0.5 (the IES schema) with the energy account behind it:
per feeder, the energy that entered it and what the CIS billed and collected. ArrFiling
has line items of money only, so the account travels beside it; the regulator computes
the AT&C loss from the account itself (``protocol.filings.losses``) instead of taking
the discom's word for it.

A filing's life (``advance``)::

    (new) ──decision──▶ ACKNOWLEDGED | CORRECTIONS_REQUESTED
    ACKNOWLEDGED ──the regulator requests a correction──▶ CORRECTIONS_REQUESTED
    ACKNOWLEDGED | CORRECTIONS_REQUESTED ──a corrected filing names it──▶ SUPERSEDED

A pack's refusal is not the only way to CORRECTIONS_REQUESTED: the commission's staff
may read an acknowledged filing and ask for a correction themselves, with reasons of
their own (``CorrectionRequest``); the discom answers both the same way, by filing a
version that ``supersedes`` it.

SUPERSEDED is final: a correction must name the newest version of its docket (the
chain of versions that began with the first filing), so history is a line, never a
tree, and every version is kept.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from protocol.filings.losses import FeederAccount, atc_loss, combined
from schemas.arrfiling import AmountBasis, ArrFiling, ArrFiscalYear, SubCategory, UnitScale

Amount = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Edge(BaseModel):
    """Strict at the HTTP edge (no coercion), camelCase on the wire."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class FeederLine(_Edge):
    """One feeder's energy account for the period (kWh, INR)."""

    feeder: Text
    # from the feeder's SCADA integrated totals, net of reverse flow
    input_kwh: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
    billed_kwh: Amount  # what the CIS billed the consumers below it
    billed_inr: Amount
    collected_inr: Amount

    def account(self) -> FeederAccount:
        return FeederAccount(
            self.feeder, self.input_kwh, self.billed_kwh, self.billed_inr, self.collected_inr
        )


class EnergyAccount(_Edge):
    period_start: date
    period_end: date
    feeders: list[FeederLine] = Field(min_length=1, max_length=5000)
    sales_forecast_mu: Amount  # the filed year's expected sales, million units (GWh)
    renewable_purchase_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class Submission(_Edge):
    """What a discom posts to the inbox (the body its signature covers)."""

    arr_filing: dict[str, Any]  # ArrFiling v0.5; read through :meth:`filing`
    energy_account: EnergyAccount
    loss_reduction_plan: Annotated[str, Field(max_length=500)] | None = None
    supersedes: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def filing(self) -> ArrFiling:
        return ArrFiling.read(self.arr_filing)


class Status(StrEnum):
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CORRECTIONS_REQUESTED = "CORRECTIONS_REQUESTED"
    SUPERSEDED = "SUPERSEDED"


class Event(StrEnum):
    ALLOWED = "allowed"  # the pack allowed it
    DENIED = "denied"  # the pack cited violations
    SUPERSEDED = "superseded"  # a corrected filing named it
    REQUESTED = "requested"  # the regulator asked for a correction


class NotAllowed(Exception):
    """The event cannot happen to a filing in that state."""


def advance(status: Status | None, event: Event) -> Status:
    """The filing's next state (``None``: not yet decided)."""
    if status is None and event is Event.ALLOWED:
        return Status.ACKNOWLEDGED
    if status is None and event is Event.DENIED:
        return Status.CORRECTIONS_REQUESTED
    if status is Status.ACKNOWLEDGED and event is Event.REQUESTED:
        return Status.CORRECTIONS_REQUESTED
    if status in (Status.ACKNOWLEDGED, Status.CORRECTIONS_REQUESTED) and event is Event.SUPERSEDED:
        return Status.SUPERSEDED
    raise NotAllowed(f"{event.value} cannot happen to a filing that is {status or 'new'}")


class RuleCited(BaseModel):
    code: str
    message: str
    clause: str | None = None


class PackDecision(BaseModel):
    """What the policy point answered, as the inbox keeps it."""

    allow: bool
    violations: list[RuleCited]
    pack_id: str
    pack_version: str
    pack_digest: str
    decision_id: str | None = None


class Reason(_Edge):
    """One thing the regulator wants corrected: where (a field or rule code), and why."""

    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_./:\-]+$")]
    message: Annotated[str, Field(min_length=1, max_length=500)]


Operator = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.@:+\-]+$")]


class CorrectionAsk(_Edge):
    """The body of ``POST /filings/{id}/corrections`` (what the regulator's signature covers).

    ``operator`` names the member of the commission's staff who asks (the subject of
    their signed-in session): the organisation's key signs, but accountability names a
    person, and since the name is inside the signed body it cannot be changed in
    transit or swapped for another's without the signature failing."""

    reasons: list[Reason] = Field(min_length=1, max_length=50)
    operator: Operator


class CorrectionRequest(BaseModel):
    """A regulator's request as the filing keeps it: its reasons, when, by whom, and the
    digest of the body (a resend of the same body is the same request)."""

    reasons: list[Reason]
    requested_at: str
    requested_by: str  # the organisation whose key signed (the commission)
    request_digest: str
    operator: str | None = None  # the staff member who asked (None: asked before issue 16)


class FeederFigures(BaseModel):
    feeder: str
    input_kwh: float
    billed_kwh: float
    billing_efficiency: float
    collection_efficiency: float
    atc_loss_pct: float


class FilingView(BaseModel):
    """A filing as the inbox shows it (and as the signed receipt carries it)."""

    id: str
    docket: str
    version: int
    licensee: str  # the subscriber id that signed it
    jurisdiction: str
    filing_ref: str  # the ArrFiling's own id
    filing_id: str  # the commission's reference number in the ArrFiling
    financial_year: str
    status: Status
    supersedes: str | None
    superseded_by: str | None
    received_at: str
    submission_digest: str
    atc_loss_pct: float
    feeders: list[FeederFigures]
    decision: PackDecision
    correction_request: CorrectionRequest | None = None  # the regulator's own, if any


# ------------------------------------------------------------------ the pack's input

_FY = re.compile(r"^FY (\d{4})-(\d{2})$")


class FilingUnreadable(ValueError):
    """The filing has no year the regulator can date it by."""


def year_filed(filing: ArrFiling) -> ArrFiscalYear:
    """The year the ARR is proposed for: its last PROPOSED year, else its last year."""
    proposed = [y for y in filing.fiscal_years if y.amount_basis == AmountBasis.PROPOSED]
    return (proposed or filing.fiscal_years)[-1]


def year_start(label: str) -> date:
    """``FY 2027-28`` → 1 April 2027 (India's financial year)."""
    match = _FY.match(label)
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise FilingUnreadable(f"fiscal year {label!r} is not of the form 'FY 2027-28'")
    return date(int(match[1]), 4, 1)


def feeder_figures(account: EnergyAccount) -> list[FeederFigures]:
    figures = []
    for line in account.feeders:
        loss = atc_loss(line.account())
        figures.append(
            FeederFigures(
                feeder=line.feeder,
                input_kwh=line.input_kwh,
                billed_kwh=line.billed_kwh,
                billing_efficiency=round(loss.billing_efficiency, 6),
                collection_efficiency=round(loss.collection_efficiency, 6),
                atc_loss_pct=loss.atc_loss_pct,
            )
        )
    return figures


def discom_atc_loss_pct(account: EnergyAccount) -> float:
    return atc_loss(combined("discom", [f.account() for f in account.feeders])).atc_loss_pct


def pack_input(submission: Submission, submitted_on: date) -> dict[str, Any]:
    """The ``filing`` domain's input (docs/policy.md): fields read from the ArrFiling's
    line items in crore, metrics from the energy account. A line item the filing lacks
    becomes an empty field, which the pack cites (FIL-002) rather than the inbox
    refusing the filing outright: the discom is told what to correct."""
    filing = submission.filing()
    year = year_filed(filing)
    start = year_start(year.fiscal_year)
    crore = UnitScale(filing.unit_scale).rupees / 1e7

    def amount(found: float | None, sign: float = 1.0) -> float | str:
        return "" if found is None else round(sign * found * crore, 6)

    def item(line_item_id: str, sign: float = 1.0) -> float | str:
        line = year.item(line_item_id)
        return amount(line.amount if line else None, sign)

    arr = next((i.amount for i in year.line_items if i.category == "ARR"), None)
    purchases = [
        i.amount
        for i in year.line_items
        if i.sub_category == SubCategory.POWER_PURCHASE and i.amount is not None
    ]
    account = submission.energy_account
    control = (
        f"{filing.control_period_start} to {filing.control_period_end}"
        if filing.control_period_start and filing.control_period_end
        else year.fiscal_year
    )
    fields: dict[str, Any] = {
        "licensee": filing.licensee,
        "control_period": control,
        "aggregate_revenue_requirement_inr_crore": amount(arr),
        "expected_revenue_inr_crore": item("revenue-at-existing-tariff", -1.0),
        "revenue_gap_inr_crore": item("revenue-gap"),
        "sales_forecast_mu": account.sales_forecast_mu,
        "power_purchase_cost_inr_crore": amount(sum(purchases) if purchases else None),
    }
    if submission.loss_reduction_plan:
        fields["loss_reduction_plan"] = submission.loss_reduction_plan
    return {
        "filing_type": "arr",
        "financial_year": f"{start.year}-{(start.year + 1) % 100:02d}",
        "year_start": start.isoformat(),
        "submitted_on": submitted_on.isoformat(),
        "fields": fields,
        "metrics": {
            "atc_loss_pct": discom_atc_loss_pct(account),
            "rpo_achieved_pct": account.renewable_purchase_pct,
        },
        "feeders": [
            {"feeder": f.feeder, "input_kwh": f.input_kwh, "billed_kwh": f.billed_kwh}
            for f in account.feeders
        ],
    }
