"""MeterDataRequest v0.6, the IES payload a data user sends to ask for meter data, as
pydantic models.

Our own declaration of the shapes in the IES MeterDataRequest v0.6 specification (a
request, an authorisation, or a provider's capabilities); the JSON Schema in
``schemas/json/MeterDataRequest/v0.6/schema.json`` is generated from these models and
``tests/schemas`` proves it accepts and refuses what the official schema does. Like
the official schema, objects tolerate extra members (``@context``, ``@type``); the
root is exactly one of the three documents (``oneOf``, as the official root says).

``consumerConsent`` is a list of consent references (consent ids, receipt hashes);
``maxRecordsShared`` is the page size of a paginated answer (docs/protocol.md).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, RootModel, model_validator

from schemas.meterdata import Duration, TelemetryMode, _Shape

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _uri(value: str) -> str:
    # The official schema says ``format: uri`` (a DID or an https URL in the examples);
    # what we emit must at least have a scheme.
    if not _URI.match(value):
        raise ValueError("a URI with a scheme (did:…, https:…)")
    return value


Uri = Annotated[str, AfterValidator(_uri), Field(json_schema_extra={"format": "uri"})]


def _one_of(schema: dict[str, Any]) -> None:
    # pydantic writes a union as ``anyOf``; the official schema's alternatives are
    # ``oneOf`` (a document matching two of them is refused), so ours are too.
    if "anyOf" in schema:
        schema["oneOf"] = schema.pop("anyOf")


class ScopeType(StrEnum):
    RESOURCE_ONLY = "ResourceOnly"
    RESOURCE_AND_CHILDREN = "ResourceAndChildren"
    CHILDREN_ONLY = "ChildrenOnly"


class RequestedProfile(StrEnum):
    """A profile class a request or capability names (MeterData profile shapes)."""

    CUSTOMER = "CustomerProfile"
    INTERVAL = "IntervalProfile"
    DAILY = "DailyProfile"
    MONTHLY = "MonthlyProfile"
    BILL_DETAILS = "BillDetails"
    INSTANTANEOUS = "InstantaneousProfile"
    EVENT = "EventProfile"
    ALARM = "AlarmProfile"


class ValueCapability(_Shape):
    """One register (OBIS code or IES short label) and the mode it is asked or offered in."""

    value: str
    mode: TelemetryMode | None = None
    multiplier: float | None = None
    accuracy: float | None = None


class ProfileCapability(_Shape):
    profile_type: RequestedProfile
    readings: list[ValueCapability] | None = None


class MeterDataCapabilities(_Shape):
    """What a provider can serve, or what a request asks for."""

    profiles: list[ProfileCapability]
    supported_scopes: list[ScopeType] | None = None
    max_history_duration: Duration | None = None


class MeterDataAuthorisation(_Shape):
    """A grantor's attestation that the grantee may access these capabilities."""

    grantor: Uri
    grantee: Uri
    purpose: str
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    capabilities: MeterDataCapabilities

    @model_validator(mode="after")
    def _window(self) -> MeterDataAuthorisation:
        if self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")
        return self


class MeterDataRequestObject(_Shape):
    """The request: whose data, which window, which profiles and registers, page size."""

    model_config = ConfigDict(title="MeterDataRequest")

    consumers: list[Uri] | None = None
    resources: list[Uri] | None = None
    scope: ScopeType | None = None
    from_: AwareDatetime = Field(alias="from")
    duration: Duration
    consumer_consent: list[str] | None = None
    authorisation: Annotated[
        MeterDataAuthorisation | Uri | None, Field(json_schema_extra=_one_of)
    ] = None
    capabilities_requested: MeterDataCapabilities
    max_records_shared: Annotated[int, Field(ge=1)] | None = None


class MeterDataRequestPayload(
    RootModel[MeterDataRequestObject | MeterDataAuthorisation | MeterDataCapabilities]
):
    """A MeterDataRequest document: a request, an authorisation or capabilities."""

    model_config = ConfigDict(title="MeterDataRequest Payload", json_schema_extra=_one_of)


def dump(request: MeterDataRequestObject) -> dict[str, Any]:
    """The JSON value of a request, as it goes on the wire (camelCase, no nulls)."""
    value: dict[str, Any] = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value
