"""The registry's domain shapes: identities, addresses, legacy identifiers, relations.

Addressing lives in attributes, never in the identifier, and the network topology
is a set of relations with validity periods, so history questions ("which meters
were on feeder F on date D") are answered from data, not from identifiers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from registry.checkdigit import verhoeff_valid
from registry.errors import InvalidAttributes
from registry.identifiers import EntityType

# ISO 3166-2:IN subdivision codes (states and union territories).
INDIAN_STATES: frozenset[str] = frozenset(
    "IN-" + code
    for code in [
        "AN",
        "AP",
        "AR",
        "AS",
        "BR",
        "CH",
        "CT",
        "DH",
        "DL",
        "GA",
        "GJ",
        "HP",
        "HR",
        "JH",
        "JK",
        "KA",
        "KL",
        "LA",
        "LD",
        "MH",
        "ML",
        "MN",
        "MP",
        "MZ",
        "NL",
        "OR",
        "PB",
        "PY",
        "RJ",
        "SK",
        "TG",
        "TN",
        "TR",
        "UP",
        "UT",
        "WB",
    ]
)

_PHONE = re.compile(r"(?<!\d)(?:\+?91[\s-]?)?[6-9]\d{9}(?!\d)")
# Every mobile number (ten digits) and Aadhaar number (4-4-4) contains this.
_CANDIDATE = re.compile(r"\d{4}[\s-]?\d{4}[\s-]?\d{2}")
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{4}[\s-]?\d{4}[\s-]?\d{4}(?!\d)")


def personal_datum_in(text: str) -> str | None:
    """What personal datum ``text`` seems to carry (a mobile or an Aadhaar number), if any.

    DPDP Act 2023 s.8(7)/data minimisation: identity records and URLs must not
    carry them; a free-text field that does is refused rather than stored.
    """
    if not _CANDIDATE.search(text):  # fast path: too few digits in a row for either
        return None
    if _PHONE.search(text):
        return "an Indian mobile number"
    for match in _TWELVE_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if digits[0] not in "01" and verhoeff_valid(digits):
            return "an Aadhaar-like number"
    return None


def _no_personal_data(value: str) -> str:
    found = personal_datum_in(value)
    if found:
        raise ValueError(f"looks like {found}; personal data is kept apart from identities")
    return value


CODE_PATTERN = r"^[A-Za-z0-9_.\-/&() ]+$"
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=CODE_PATTERN),
    AfterValidator(_no_personal_data),
]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_no_personal_data),
]


def utc(value: datetime) -> datetime:
    """Validity instants are UTC; a naive value is refused, not guessed."""
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a time zone (e.g. 2026-04-01T00:00:00+05:30)")
    return value.astimezone(UTC)


_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """On the wire a time is ISO 8601 text; anything else (an epoch number, "1e-46") is
    refused, not guessed at, as pydantic's lax parsing would."""
    if isinstance(value, date | datetime):
        return value
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError("a time is ISO 8601 text, e.g. 2026-04-01T00:00:00+05:30 or 2026-04-01")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(utc)]
# A query parameter's instant: may omit the zone (the API reads it as IST).
QueryInstant = Annotated[datetime, BeforeValidator(_iso_text)]
IsoDate = Annotated[date, BeforeValidator(_iso_text)]


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # India's extent with a margin: a point outside is a data error, not an address.
    lat: StrictFloat = Field(ge=6.0, le=38.0)
    lon: StrictFloat = Field(ge=68.0, le=98.0)


class Address(BaseModel):
    """Where an entity is, as attributes: it may change while the identifier stays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: str | None = None
    discom: Code | None = None
    circle: Label | None = None
    division: Label | None = None
    subdivision: Label | None = None
    pincode: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")] | None = None
    geo: GeoPoint | None = None

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in INDIAN_STATES:
            raise ValueError(f"{value!r} is not an ISO 3166-2:IN code such as IN-MH")
        return code


class ConnectionCategory(StrEnum):
    DOMESTIC = "domestic"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    AGRICULTURAL = "agricultural"
    PUBLIC_LIGHTING = "public_lighting"
    PUBLIC_WATER_WORKS = "public_water_works"
    EV_CHARGING = "ev_charging"
    OTHER = "other"


class _Attributes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsumerAttributes(_Attributes):
    kind: Literal["individual", "organisation"] | None = None


class ConnectionAttributes(_Attributes):
    category: ConnectionCategory | None = None
    sanctioned_load_kw: float | None = Field(default=None, gt=0, le=100_000)
    supply_voltage_kv: float | None = Field(default=None, gt=0, le=400)
    phase: Literal[1, 3] | None = None


class MeterAttributes(_Attributes):
    manufacturer: Code | None = None
    model: Label | None = None
    phase: Literal[1, 3] | None = None
    kind: Literal["smart", "static", "bidirectional", "net"] | None = None


class DistributionTransformerAttributes(_Attributes):
    capacity_kva: float | None = Field(default=None, gt=0, le=10_000)
    hosting_capacity_kw: float | None = Field(default=None, ge=0, le=10_000)


class FeederAttributes(_Attributes):
    voltage_kv: float | None = Field(default=None, gt=0, le=66)
    kind: Literal["urban", "rural", "agricultural", "industrial", "mixed"] | None = None


class SubstationAttributes(_Attributes):
    primary_kv: float | None = Field(default=None, gt=0, le=765)
    secondary_kv: float | None = Field(default=None, gt=0, le=220)


class DerAttributes(_Attributes):
    kind: Literal["rooftop_solar", "bess", "wind", "small_hydro", "biomass", "other"] | None = None
    capacity_kw: float | None = Field(default=None, gt=0, le=100_000)
    storage_kwh: float | None = Field(default=None, gt=0, le=1_000_000)
    commissioned_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class EvChargerAttributes(_Attributes):
    power_kw: float | None = Field(default=None, gt=0, le=1_000)
    connector: (
        Literal["ccs2", "chademo", "type2", "bharat_ac001", "bharat_dc001", "gb_t"] | None
    ) = None
    public: bool | None = None


ATTRIBUTE_MODELS: dict[EntityType, type[_Attributes]] = {
    EntityType.CONSUMER: ConsumerAttributes,
    EntityType.CONNECTION: ConnectionAttributes,
    EntityType.METER: MeterAttributes,
    EntityType.DISTRIBUTION_TRANSFORMER: DistributionTransformerAttributes,
    EntityType.FEEDER: FeederAttributes,
    EntityType.SUBSTATION: SubstationAttributes,
    EntityType.DER: DerAttributes,
    EntityType.EV_CHARGER: EvChargerAttributes,
}


def validate_attributes(entity_type: EntityType, raw: dict[str, Any]) -> dict[str, Any]:
    """The attributes of ``entity_type`` as stored (unset fields dropped), or refuse them."""
    try:
        key = (entity_type, tuple(sorted(raw.items())))
        hash(key)
    except TypeError:  # unhashable values (a list): validate without the cache
        return _validate_attributes(entity_type, raw)
    return dict(_validate_attributes_cached(key))


@lru_cache(maxsize=4096)
def _validate_attributes_cached(
    key: tuple[EntityType, tuple[tuple[str, Any], ...]],
) -> tuple[tuple[str, Any], ...]:
    """Bulk imports repeat the same few attribute sets a million times: validate each once."""
    return tuple(_validate_attributes(key[0], dict(key[1])).items())


def _validate_attributes(entity_type: EntityType, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        model = ATTRIBUTE_MODELS[entity_type].model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidAttributes(
            f"{len(errors)} attribute(s) do not fit a {entity_type.value}", errors=errors
        ) from None
    return model.model_dump(mode="json", exclude_none=True)


class LegacyScheme(StrEnum):
    """The legacy identifier families a discom's systems use.

    A closed list on purpose: there is no scheme for Aadhaar, phone or name.
    """

    DISCOM_CONSUMER_NUMBER = "discom_consumer_number"
    METER_SERIAL = "meter_serial"
    SAP_ISU_INSTALLATION = "sap_isu_installation"
    SAP_ISU_CONTRACT = "sap_isu_contract"
    SCADA_TAG = "scada_tag"
    GIS_ASSET = "gis_asset"


class LegacyRef(BaseModel):
    """A legacy identifier: a value within a scheme and a scope (the discom, or the
    meter's manufacturer for a serial number)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: LegacyScheme
    scope: Code
    value: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        AfterValidator(_no_personal_data),
    ]

    @cached_property
    def key(self) -> str:
        """One string per legacy identifier: the unique key the store indexes.

        Scope and value compare case-insensitively, as the source systems do.
        """
        return f"{self.scheme.value}|{self.scope.upper()}|{self.value.upper()}"

    @classmethod
    def parse(cls, text: str) -> LegacyRef:
        """``scheme:scope:value`` (the value may itself contain colons)."""
        parts = text.split(":", 2)
        if len(parts) != 3:
            raise ValueError("a legacy reference is scheme:scope:value")
        return cls(scheme=LegacyScheme(parts[0]), scope=parts[1], value=parts[2])

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.scope}:{self.value}"


class LegacyMapping(BaseModel):
    legacy: LegacyRef
    ies_id: str
    valid_from: datetime
    valid_to: datetime | None = None


class Status(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Identity(BaseModel):
    """An identity as the API shows it: no personal data, ever."""

    id: str
    type: EntityType
    status: Status
    address: Address
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Relation(BaseModel):
    """``child`` sits under ``parent`` from ``valid_from`` until ``valid_to`` (open if None)."""

    child: str
    child_type: EntityType
    parent: str
    parent_type: EntityType
    valid_from: datetime
    valid_to: datetime | None = None


class PersonalRecord(BaseModel):
    """A consumer's personal attributes, stored apart from the identity graph."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{6,18}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None


class ParentRef(BaseModel):
    """A parent named by its IES identifier or by one of its legacy identifiers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    legacy: LegacyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ParentRef:
        if (self.id is None) == (self.legacy is None):
            raise ValueError("name the parent by exactly one of id or legacy")
        return self


class IdentityDraft(BaseModel):
    """What a caller supplies to create (or, in an import, to sync) an identity."""

    model_config = ConfigDict(extra="forbid")

    type: EntityType
    id: str | None = None
    address: Address = Address()
    attributes: dict[str, Any] = Field(default_factory=dict)
    legacy_ids: list[LegacyRef] = Field(default_factory=list, max_length=16)
    parents: dict[EntityType, ParentRef] = Field(default_factory=dict)
    personal: PersonalRecord | None = None
    valid_from: Instant | None = None

    @model_validator(mode="after")
    def _personal_only_for_consumers(self) -> IdentityDraft:
        if self.personal is not None and self.type is not EntityType.CONSUMER:
            raise ValueError("personal data is kept only for consumers")
        return self


def now_utc() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "ATTRIBUTE_MODELS",
    "INDIAN_STATES",
    "Address",
    "ConnectionCategory",
    "GeoPoint",
    "Identity",
    "IdentityDraft",
    "Instant",
    "LegacyMapping",
    "LegacyRef",
    "LegacyScheme",
    "ParentRef",
    "PersonalRecord",
    "Relation",
    "Status",
    "now_utc",
    "validate_attributes",
]
