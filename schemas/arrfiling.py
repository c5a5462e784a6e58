"""ArrFiling v0.5, the IES Aggregate Revenue Requirement filing, as pydantic models.

Our own declaration of the shapes in the IES ArrFiling v0.5 specification (a
distribution licensee's ARR filing to its commission: fiscal years, each with cost,
income, subtotal and ARR line items). ``tests/filings`` proves that what these models
emit validates against the official schema in ``../shared``. Like the official schema,
objects tolerate extra members (the IES examples carry ``@type``); what we emit uses
only the declared ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CONTEXT = (
    "https://india-energy-stack.github.io/ies-accelerator/schemas/ArrFiling/v0.5/context.jsonld"
)


class _Shape(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        use_enum_values=True,
    )


class FilingType(StrEnum):
    MYT = "MYT"  # a multi-year tariff control period
    ANNUAL = "ANNUAL"
    TRUE_UP = "TRUE_UP"
    REVISED = "REVISED"  # an amended filing with corrections


class FilingStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class UnitScale(StrEnum):
    CRORE = "CRORE"
    LAKH = "LAKH"
    ABSOLUTE = "ABSOLUTE"

    @property
    def rupees(self) -> float:
        """Rupees in one unit of this scale."""
        return {"CRORE": 1e7, "LAKH": 1e5, "ABSOLUTE": 1.0}[self.value]


class YearType(StrEnum):
    BASE_YEAR = "BASE_YEAR"
    CONTROL_PERIOD = "CONTROL_PERIOD"
    HISTORICAL = "HISTORICAL"


class AmountBasis(StrEnum):
    AUDITED = "AUDITED"
    APPROVED = "APPROVED"
    PROPOSED = "PROPOSED"
    TRUED_UP = "TRUED_UP"
    NOT_FILED = "NOT_FILED"


class Category(StrEnum):
    VARIABLE = "VARIABLE"
    FIXED = "FIXED"
    INCOME = "INCOME"
    SUB_TOTAL = "SUB_TOTAL"
    ARR = "ARR"
    ADJUSTMENT = "ADJUSTMENT"


class SubCategory(StrEnum):
    POWER_PURCHASE = "POWER_PURCHASE"
    NETWORK_COST = "NETWORK_COST"
    O_AND_M = "O_AND_M"
    DEPRECIATION = "DEPRECIATION"
    INTEREST = "INTEREST"
    RETURN_ON_EQUITY = "RETURN_ON_EQUITY"
    PROVISIONAL = "PROVISIONAL"
    OTHER = "OTHER"
    NON_TARIFF_INCOME = "NON_TARIFF_INCOME"
    REVENUE_CREDIT = "REVENUE_CREDIT"
    TOTAL = "TOTAL"
    NET_ARR = "NET_ARR"


class ArrLineItem(_Shape):
    """One cost, income, subtotal or adjustment; ``amount`` None: in the form, not filed."""

    line_item_id: str
    serial_number: int | None = None
    category: Category
    sub_category: SubCategory | None = None
    head: str
    particulars: str | None = None
    # Required but nullable in the official schema: always emitted, null when not filed
    # (the generator otherwise leaves null out of optional members' schemas).
    amount: float | None = Field(json_schema_extra={"type": ["number", "null"]})
    form_reference: str | None = None
    component_of: str | None = None
    formula: str | None = None


class ArrFiscalYear(_Shape):
    fiscal_year: str  # "FY 2025-26"
    year_type: YearType | None = None
    amount_basis: AmountBasis
    line_items: list[ArrLineItem] = Field(min_length=1)

    def item(self, line_item_id: str) -> ArrLineItem | None:
        return next((i for i in self.line_items if i.line_item_id == line_item_id), None)


class ArrFiling(_Shape):
    """A complete ARR filing by a distribution licensee (ArrFiling v0.5)."""

    context: str | None = Field(default=None, alias="@context")
    object_type: Literal["ARR_FILING"]
    id: str | None = None
    filing_id: str
    filing_date: date | None = None
    filing_type: FilingType | None = None
    licensee: str
    licensee_code: str | None = None
    state_province: str | None = None
    regulatory_commission: str
    control_period_start: str | None = None
    control_period_end: str | None = None
    currency: Literal["INR"]
    unit_scale: UnitScale
    status: FilingStatus | None = None
    form_reference: str | None = None
    notes: list[str] | None = None
    fiscal_years: list[ArrFiscalYear] = Field(min_length=1)

    @classmethod
    def read(cls, document: Mapping[str, Any]) -> ArrFiling:
        """A filing as received: strict JSON validation (no "12" taken for 12), as the
        official schema reads it."""
        return cls.model_validate_json(json.dumps(document), strict=True)

    def wire(self) -> dict[str, Any]:
        """The JSON document as IES peers expect it: absent members left out, never null
        (except a line item's ``amount``, which the schema requires and allows null)."""
        document: dict[str, Any] = self.model_dump(mode="json", exclude_none=True, by_alias=True)
        for year, model in zip(document["fiscalYears"], self.fiscal_years, strict=True):
            for item, line in zip(year["lineItems"], model.line_items, strict=True):
                item["amount"] = line.amount
        return document
