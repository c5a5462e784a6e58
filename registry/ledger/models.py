"""The ledger's shapes at its HTTP edge (strict, so schema-violating input is refused)
and the rules on them that are pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

BLOCK = timedelta(minutes=15)
KWH = r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,3})?$"  # kWh to the Wh, as text: no float rounding
INR = r"^(0|[1-9][0-9]{0,4})(\.[0-9]{1,2})?$"  # rupees to the paisa
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")]


def valid_block_start(value: str) -> str:
    """An RFC 3339 instant with an offset, on a 15-minute boundary."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("an RFC 3339 date-time") from exc
    if at.tzinfo is None or "T" not in value:
        raise ValueError("an RFC 3339 date-time with a UTC offset")
    if at.second or at.microsecond or at.astimezone(UTC).minute % 15:
        raise ValueError("a 15-minute block starts on :00, :15, :30 or :45")
    return value


BlockStart = Annotated[str, Field(max_length=40), AfterValidator(valid_block_start)]


def block_at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


class TradeIn(BaseModel):
    """A trade the platform executed: who sold to whom, how much, in which block, at
    what price, under which policy decision."""

    model_config = ConfigDict(strict=True, extra="forbid")

    trade_id: Name
    block_start: BlockStart
    seller: Name  # the prosumer's registry id
    buyer: Name
    seller_meter: Name  # the meter's asset DID (did:web:{discom}:assets:meter:{serial})
    buyer_meter: Name
    quantity_kwh: Annotated[str, Field(pattern=KWH)]
    price_inr_per_kwh: Annotated[str, Field(pattern=INR)]
    jurisdiction: Annotated[str, Field(pattern=r"^IN-[A-Z]{2}$")]
    policy_decision: Annotated[str | None, Field(max_length=64)] = None
    contract: Annotated[str | None, Field(max_length=255)] = None  # Beckn transaction id


class TradeOut(TradeIn):
    model_config = ConfigDict(extra="forbid")

    id: int
    platform: str
    recorded_at: datetime


class MeterBlockIn(BaseModel):
    """One meter's export and import over one block, from the discom's meter data."""

    model_config = ConfigDict(strict=True, extra="forbid")

    meter: Name  # the meter's asset DID
    block_start: BlockStart
    export_kwh: Annotated[str, Field(pattern=KWH)]
    import_kwh: Annotated[str, Field(pattern=KWH)]
    quality: Annotated[str, Field(pattern=r"^[A-Z_]{1,16}$")] = "VALID"


class MeterBlocksIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    records: Annotated[list[MeterBlockIn], Field(min_length=1, max_length=2000)]


class MeterBlockOut(MeterBlockIn):
    model_config = ConfigDict(extra="forbid")

    id: int
    discom: str
    version: int  # 1, then one more per correction
    current: bool
    recorded_at: datetime


class MeterWriteReport(BaseModel):
    created: int
    corrected: int
    unchanged: int


def same_amount(a: str, b: str) -> bool:
    return Decimal(a) == Decimal(b)


def meter_of_discom(meter: str, discom: str) -> bool:
    """A discom records only its own meters: their asset DIDs are under its did:web."""
    return meter.startswith(f"did:web:{discom}:assets:meter:")
