"""The shapes of DER onboarding: the application a BAP sends, the facts the registry
gives, every rule's outcome and the verdict that explains them (pure: pydantic only).

The application travels as the ``commitmentAttributes`` of a Beckn ``confirm``
(``@type`` ``DERConnectionApplication``); the verdict comes back in the
``on_confirm``'s contract as a ``DERConnectionDecision``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

APPLICATION_TYPE = "DERConnectionApplication"
DECISION_TYPE = "DERConnectionDecision"
APPLICATION_CONTEXT = "https://ies-stack.org/schemas/DERConnectionApplication/v1.0/context.jsonld"
DECISION_CONTEXT = "https://ies-stack.org/schemas/DERConnectionDecision/v1.0/context.jsonld"
OFFER = "der-connection"  # the discom's offer a DER application commits to

Serial = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{1,63}$")]
ApplicationNumber = Annotated[str, StringConstraints(pattern=r"^DERAPP-[A-Z0-9]{2,12}-[0-9]{6}$")]


class Scheme(StrEnum):
    """The metering schemes a state's regulation sets (the policy pack's names)."""

    NET_METERING = "net_metering"
    NET_BILLING = "net_billing"
    GROSS_METERING = "gross_metering"


class Outcome(StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"  # the pack refused it as asked: change, resubmit
    REJECTED = "REJECTED"  # a credential failed: no change of the request can mend it


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class DerAsked(_Wire):
    type: Literal["solar_pv", "solar_pv_with_storage", "wind", "small_hydro", "biomass"]
    capacity_kw: float = Field(alias="capacityKw", gt=0, le=100_000)
    storage_kwh: float | None = Field(default=None, alias="storageKwh", gt=0, le=1_000_000)


class EquipmentItem(_Wire):
    """One piece of certified equipment: its certificate names the same serial number."""

    asset_type: Literal["INVERTER", "SOLAR_PV", "BESS"] = Field(alias="assetType")
    serial_number: Serial = Field(alias="serialNumber")


class MeterAsked(_Wire):
    """The bidirectional meter the installer fitted (registered on approval)."""

    serial_number: Serial = Field(alias="serialNumber")
    manufacturer: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_]{0,31}$")]
    model: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    phase: Literal[1, 3]


class Application(_Wire):
    """A DER connection application: what is asked, the equipment, and one verifiable
    presentation the consumer signed for this discom (their ElectricityCredential, the
    installer's licence, the equipment certificates). Signing it with the discom's
    challenge is the consumer's consent to the installer applying on their behalf."""

    context: Literal[
        "https://ies-stack.org/schemas/DERConnectionApplication/v1.0/context.jsonld"
    ] = Field(alias="@context")
    type: Literal["DERConnectionApplication"] = Field(alias="@type")
    resubmission_of: ApplicationNumber | None = Field(default=None, alias="resubmissionOf")
    der: DerAsked
    scheme: Scheme = Field(strict=False)  # JSON has no enum or date: parsed from text
    equipment: list[EquipmentItem] = Field(min_length=1, max_length=12)
    meter: MeterAsked
    commissioning_date: date = Field(alias="commissioningDate", strict=False)
    presentation: dict[str, Any]


# ------------------------------------------------------------------ registry facts


class ConnectionFacts(BaseModel):
    """What the registry says of the consumer's connection and the DT feeding it."""

    model_config = ConfigDict(frozen=True)

    consumer_id: str
    connection_id: str
    category: str
    sanctioned_load_kw: float
    phase: Literal["single", "three"]
    transformer_id: str
    rating_kva: float
    hosting_capacity_kw: float | None
    connected_der_kw: float  # every DER already under the DT, summed


# ------------------------------------------------------------------ rules and verdicts


class RuleOutcome(BaseModel):
    """One rule as it decided this application: passed or not, why, and the clause."""

    model_config = ConfigDict(frozen=True)

    code: str
    passed: bool
    message: str
    intent: str
    clause: str
    source: str  # "protocol.der" for the credential rules, else the pack (id@version)


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    rules: tuple[RuleOutcome, ...]
    pack: str | None = None  # id@version of the pack that judged feasibility
    pack_digest: str | None = None

    @property
    def refused_by(self) -> tuple[RuleOutcome, ...]:
        return tuple(r for r in self.rules if not r.passed)

    def explanation(self) -> list[str]:
        """One line per rule, refusals first: what decided, and under which clause."""
        ordered = sorted(self.rules, key=lambda r: (r.passed, r.code))
        return [
            f"{'PASS' if r.passed else 'FAIL'} {r.code}: {r.message} [{r.clause}]" for r in ordered
        ]


class Registered(BaseModel):
    """The registry's IDs made on approval."""

    model_config = ConfigDict(frozen=True)

    der_id: str
    meter_id: str
