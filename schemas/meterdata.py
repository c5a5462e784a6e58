"""MeterData v0.6, the IES payload for meter readings, as pydantic models.

Our own declaration of the shapes in the IES MeterData v0.6 specification; the JSON
Schema in ``schemas/json/MeterData/v0.6/schema.json`` is generated from these models
(``python -m schemas.generate``) and ``tests/schemas`` proves it accepts and rejects
what the official schema does. Like the official schema, objects tolerate extra
members (the IES examples carry ``@context``, ``@type`` and vendor fields); what we
emit uses only the declared ones.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel
from pydantic.alias_generators import to_camel

# ISO 8601 duration (P1M, PT15M, P1D ...); the official schema says ``format: duration``.
Duration = Annotated[
    str,
    Field(
        pattern=r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
        json_schema_extra={"format": "duration"},
    ),
]


class _Shape(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        use_enum_values=True,
    )


class IdentifierScheme(StrEnum):
    METER_SERIAL = "METER_SERIAL"
    METER_BADGE = "METER_BADGE"
    MRID = "MRID"
    OBIS = "OBIS"
    SHORT_CODE = "SHORT_CODE"
    CONSUMER_NUMBER = "CONSUMER_NUMBER"
    SERVICE_DELIVERY_POINT = "SERVICE_DELIVERY_POINT"
    DID = "DID"
    ORG = "ORG"
    OTHER = "OTHER"


class Phase(StrEnum):
    NONE = "NONE"
    R = "R"
    Y = "Y"
    B = "B"
    ABC = "ABC"


class UnitOfMeasure(StrEnum):
    KWH = "kWh"
    KVAH = "kVAh"
    KVARH = "kvarh"
    KW = "kW"
    KVAR = "kvar"
    KVA = "kVA"
    V = "V"
    A = "A"
    HZ = "Hz"
    PF = "PF"
    NONE = "NONE"
    INR = "INR"
    USD = "USD"


class TelemetryMode(StrEnum):
    READING = "READING"
    USAGE = "USAGE"


class AccumulationBehaviour(StrEnum):
    CUMULATIVE = "CUMULATIVE"
    DELTA = "DELTA"
    INSTANTANEOUS = "INSTANTANEOUS"
    SUMMATION = "SUMMATION"
    INDICATING = "INDICATING"


class ValidationStatus(StrEnum):
    VALID = "VALID"
    ESTIMATED = "ESTIMATED"
    MANUAL = "MANUAL"
    SUSPECT = "SUSPECT"
    REJECTED = "REJECTED"


class ReadingSource(StrEnum):
    METER = "METER"
    HES = "HES"
    ESTIMATED = "ESTIMATED"
    MANUAL = "MANUAL"
    IMPORT = "IMPORT"
    MDM_COMPUTED = "MDM_COMPUTED"
    CIS_COMPUTED = "CIS_COMPUTED"


class MeterCategory(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    D4 = "D4"


class ServiceKind(StrEnum):
    ELECTRICITY = "ELECTRICITY"
    GAS = "GAS"
    WATER = "WATER"
    HEAT = "HEAT"


class MeterType(StrEnum):
    AMR = "AMR"
    AMI = "AMI"
    ELECTROMECHANICAL = "Electromechanical"
    FORWARD = "Forward"
    REVERSE = "Reverse"
    BIDIRECTIONAL = "Bidirectional"
    PREPAID = "Prepaid"
    NET_METER = "NetMeter"
    OTHER = "Other"


FlowDirection = Literal["IMPORT", "EXPORT", "NONE"]
TouZone = Annotated[int, Field(ge=0, le=8)]
Zone = Annotated[int, Field(ge=1, le=8)]


class Identifier(_Shape):
    """A ``{scheme, value}`` reference to a customer, meter, service point or OBIS code."""

    scheme: IdentifierScheme
    value: str
    namespace: str | None = None


IdentifierList = Annotated[list[Identifier], Field(min_length=1)]


class TimePeriod(_Shape):
    start: AwareDatetime
    duration: Duration


class IntervalPeriod(_Shape):
    start: AwareDatetime
    duration: Duration


class Reading(_Shape):
    """One self-contained reading with its quality metadata."""

    reading_type: str
    value: float
    opening_value: float | None = None
    closing_value: float | None = None
    integration_period: Duration | None = None
    time_period: TimePeriod | None = None
    occurred_at: AwareDatetime | None = None
    validation_status: ValidationStatus | None = None
    source: ReadingSource | None = None
    change_method: str | None = None
    fail_code: str | None = None


class Override(_Shape):
    """Sparse metadata for one cell of a compact interval row (here: its quality flag)."""

    descriptor_index: Annotated[int, Field(ge=0)]
    occurred_at: AwareDatetime | None = None
    zone: Zone | None = None
    validation_status: ValidationStatus | None = None
    source: ReadingSource | None = None
    change_method: str | None = None
    fail_code: str | None = None


class Interval(_Shape):
    """One row of a time series; ``payloads[k]`` is the value of compact sequence item k."""

    id: Annotated[int, Field(ge=0)]
    interval_period: IntervalPeriod | None = None
    payloads: Annotated[list[float | str | bool], Field(min_length=1)] | None = None
    readings: list[Reading] | None = None
    overrides: list[Override] | None = None


class TouBucket(_Shape):
    zone: Zone
    readings: list[Reading]


class SequenceItem(_Shape):
    reading_type: str
    attribute: Literal[
        "value", "occurredAt", "openingValue", "closingValue", "validationStatus"
    ] = "value"


class CompactSequence(_Shape):
    name: str
    sequence_items: list[SequenceItem]


class PayloadDescriptor(_Shape):
    """One quantity declared once; compact rows' payloads line up with it."""

    reading_type: str
    obis: str | None = None
    name: str | None = None
    unit: UnitOfMeasure | None = None
    flow_direction: FlowDirection | None = None
    category: str | None = None
    reported_mode: TelemetryMode | None = None
    tou_zone: TouZone | None = None
    multiplier: float = 1
    accuracy: float | None = None


class PayloadDescriptorSet(_Shape):
    name: str
    payload_descriptors: list[PayloadDescriptor]
    compact_sequences: list[CompactSequence] | None = None


class Address(_Shape):
    """Postal address (Beckn core Address v2.0, schema.org PostalAddress)."""

    model_config = ConfigDict(extra="forbid")

    address_country: str | None = None
    address_locality: str | None = None
    address_region: str | None = None
    extended_address: str | None = None
    postal_code: str | None = None
    street_address: str | None = None


class GeoJSONGeometry(_Shape):
    """GeoJSON geometry (RFC 7946), ``[longitude, latitude]`` order."""

    type: Literal[
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ]
    bbox: Annotated[list[float], Field(min_length=4, max_length=4)] | None = None
    coordinates: list[object] | None = None
    geometries: list[GeoJSONGeometry] | None = None


class Customer(_Shape):
    id: Identifier
    name: str | None = None
    consumer_category: str | None = None
    sanctioned_load_kw: Annotated[float, Field(ge=0)] | None = None
    billing_cycle_day: Annotated[int, Field(ge=1, le=31)] | None = None
    payment_mode: Literal["PREPAID", "POSTPAID"] | None = None
    connection_type: Literal["Single-phase", "Three-phase"] | None = None
    contract_max_demand_kw: Annotated[float, Field(ge=0)] | None = None
    tariff_category_code: str | None = None
    sanctioned_export_load_kw: Annotated[float, Field(ge=0)] | None = None


class CustomerDetails(_Shape):
    """Personal data; left out entirely for anonymised exchange."""

    name: str | None = None


class ServiceDeliveryPoint(_Shape):
    id: Identifier
    address: Address | None = None
    geo: GeoJSONGeometry | None = None


class Meter(_Shape):
    id: Identifier
    make: str | None = None
    model: str | None = None
    meter_type: MeterType | None = None
    meter_category: MeterCategory | None = None
    service_kind: ServiceKind | None = None


class Association(_Shape):
    service_delivery_point_refs: IdentifierList
    meter_refs: IdentifierList
    parent_resources: list[Identifier] | None = None
    telemetry_provider: str | None = None
    commissioning_date: AwareDatetime | None = None
    generation_capacity_kw: Annotated[float, Field(ge=0)] | None = None
    storage_capacity_kw: Annotated[float, Field(ge=0)] | None = None


class MeterEvent(_Shape):
    timestamp: AwareDatetime
    event_id: Annotated[int, Field(ge=1)]
    event_name: str | None = None
    phase: Phase | None = None
    sequence: Annotated[int, Field(ge=0)] | None = None
    magnitude: float | None = None
    duration: Duration | None = None


class MeterAlarm(_Shape):
    timestamp: AwareDatetime
    alarm_id: Annotated[int, Field(ge=1)]
    alarm_name: str | None = None
    status: Literal["ACTIVE", "CLEARED"]
    severity: Literal["CRITICAL", "WARNING", "INFO"] | None = None


class _Profile(_Shape):
    """Members every profile may carry (JSON-LD ``@context``/``@type`` as IES examples do)."""

    context: str | list[object] | dict[str, object] | None = Field(default=None, alias="@context")
    type_: str | None = Field(default=None, alias="@type")


class _MeterProfile(_Profile):
    customer_refs: IdentifierList | None = None
    meter_refs: IdentifierList
    service_delivery_point_refs: IdentifierList | None = None
    payload_descriptor_set_ref: str | None = None


class PayloadDescriptorProfile(_Profile):
    profile_type: Literal["DESCRIPTOR"]
    id: str
    payload_descriptor_sets: list[PayloadDescriptorSet]


class CustomerProfile(_Profile):
    profile_type: Literal["CUSTOMER"]
    customer_refs: IdentifierList | None = None
    time_zone: str | None = None
    customer_details: CustomerDetails | None = None
    customer: Customer
    service_delivery_points: list[ServiceDeliveryPoint]
    meters: list[Meter]
    associations: list[Association]


class IntervalProfile(_MeterProfile):
    """Block load survey: PT15M / PT30M rows for one meter."""

    profile_type: Literal["INTERVAL"]
    compact_sequence_ref: str | None = None
    interval_period: IntervalPeriod
    intervals: list[Interval] | None = None
    readings: list[Reading] | None = None


class DailyProfile(_MeterProfile):
    """Daily load profile: P1D rows, the same shape as the interval profile."""

    profile_type: Literal["DAILY"]
    compact_sequence_ref: str | None = None
    interval_period: IntervalPeriod
    intervals: list[Interval] | None = None
    readings: list[Reading] | None = None


class MonthlyProfile(_MeterProfile):
    """Billing profile: register values at the billing reset."""

    profile_type: Literal["MONTHLY"]
    time_period: TimePeriod
    readings: list[Reading]
    tou_buckets: list[TouBucket] | None = None


class BillDetails(_MeterProfile):
    profile_type: Literal["BILL_DETAILS"]
    time_period: TimePeriod
    readings: list[Reading] | None = None
    tou_buckets: list[TouBucket] | None = None
    bill_number: str | None = None
    bill_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    amount_due: float
    energy_charges: float | None = None
    fixed_charges: float | None = None
    other_charges: float | None = None
    prepaid_balance: float | None = None
    payment_status: str | None = None


class InstantaneousProfile(_MeterProfile):
    profile_type: Literal["INSTANTANEOUS"]
    timestamp: AwareDatetime
    readings: list[Reading]


class EventProfile(_MeterProfile):
    """IS 15959 event log of one meter over a period."""

    profile_type: Literal["EVENT"]
    time_period: TimePeriod
    events: list[MeterEvent]


class AlarmProfile(_MeterProfile):
    profile_type: Literal["ALARM"]
    timestamp: AwareDatetime
    alarms: list[MeterAlarm]


EnergyData = Annotated[
    PayloadDescriptorProfile
    | CustomerProfile
    | IntervalProfile
    | DailyProfile
    | MonthlyProfile
    | BillDetails
    | InstantaneousProfile
    | EventProfile
    | AlarmProfile,
    Field(discriminator="profile_type"),
]


class MeterDataPayload(RootModel[EnergyData | Annotated[list[EnergyData], Field(min_length=1)]]):
    """A MeterData document: one profile, or a non-empty array of profiles."""

    model_config = ConfigDict(title="MeterData Payload")


def dump(payload: MeterDataPayload | list[EnergyData]) -> object:
    """The JSON value of a payload, as it goes on the wire (camelCase, no nulls)."""
    root = payload if isinstance(payload, MeterDataPayload) else MeterDataPayload(payload)
    return root.model_dump(mode="json", by_alias=True, exclude_none=True)
