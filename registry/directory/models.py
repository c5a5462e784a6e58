"""The directory's domain shapes: namespaces, registries, typed records, signing keys.

A DeDi-style directory: an organisation claims a *namespace* for a domain it
proves it controls, creates *registries* in it, and publishes *records* into them.
Each registry has one record type and every record is validated against it;
every write keeps the previous version, so a lookup can ask "as of".

Record types: the Beckn subscriber record (the key every signed message is checked
against), a network's membership reference entry, a participant's role and
authorisation scope, and the registries an IES credential issuer keeps in its
namespace (revocation, key, schema, context).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from registry.directory.didweb import InvalidKey, decode_public_key, did_of, host_of
from registry.directory.errors import RecordInvalid
from registry.models import INDIAN_STATES, Code, Instant

# The registry name ONIX's DeDi plugin asks for: lookup/{subscriber}/subscribers.beckn.one/{key}.
SUBSCRIBER_REGISTRY = "subscribers.beckn.one"

IES_NETWORKS = (
    "indiaenergystack.in/test-ies-data-sharing-network",
    "indiaenergystack.in/ies-p2p-trading-network",
    "indiaenergystack.in/ies-der-integration-network",
)

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
    r"(?::[0-9]{1,5})?$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


def domain_name(value: str) -> str:
    value = value.lower()
    if not _DOMAIN.match(value):
        raise ValueError("a namespace is a domain name, optionally with a port (host:port)")
    return value


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
    return value


def _state(value: str) -> str:
    if value not in INDIAN_STATES:
        raise ValueError(f"{value!r} is not an ISO 3166-2:IN state code (e.g. IN-MH)")
    return value


Domain = Annotated[str, AfterValidator(domain_name)]
Name = Annotated[str, AfterValidator(check_name)]
StateCode = Annotated[str, AfterValidator(_state)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def now_utc() -> datetime:
    return datetime.now(UTC)


class RecordType(StrEnum):
    SUBSCRIBER = "subscriber"
    NETWORK_MEMBERSHIP = "network_membership"
    PARTICIPANT_ROLE = "participant_role"
    REVOCATION = "revocation"
    KEY = "key"
    SCHEMA = "schema"
    CONTEXT = "context"


# ------------------------------------------------------------------ identifiers


def within(namespace: str, subscriber_id: str) -> bool:
    """A namespace owns its proven domain and the subdomains under it."""
    try:
        host = host_of(subscriber_id)
    except ValueError:
        return False
    return host == namespace or host.endswith("." + namespace)


# ------------------------------------------------------------------ record details


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def index(self) -> dict[str, Any]:
        """Columns and tags the store indexes this record by."""
        return {}


SubscriberType = Literal["BAP", "BPP", "BG"]
SubscriberStatus = Literal["SUBSCRIBED", "UNSUBSCRIBED", "REVOKED"]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=500)]


class SubscriberDetails(_Details):
    """A Beckn subscriber record: one signing key of one participant endpoint.

    ONIX reads ``url``/``encr_public_key``/``domain``; the IES documentation says
    ``subscriber_url``/``encryption_public_key``: both are accepted and both served.
    """

    subscriber_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    key_id: Name
    url: HttpUrl
    type: SubscriberType
    domains: list[Text] = Field(min_length=1, max_length=32)
    signing_public_key: str
    encr_public_key: str | None = None
    valid_from: Instant
    valid_until: Instant
    status: SubscriberStatus = "SUBSCRIBED"
    states: list[StateCode] = Field(default_factory=list, max_length=40)
    countries: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]] = Field(
        default_factory=lambda: ["IND"]
    )

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # pragma: no cover - pydantic reports the type error
        data = dict(data)
        for ies, onix in (("subscriber_url", "url"), ("encryption_public_key", "encr_public_key")):
            if ies in data:
                value = data.pop(ies)
                if onix in data and data[onix] != value:
                    raise ValueError(f"{ies} and {onix} disagree")
                data[onix] = value
        if "domain" in data:
            domain = data.pop("domain")
            domains = data.setdefault("domains", [domain])
            if domain not in domains:
                raise ValueError("domain is not one of domains")
        # Serving both names means a record read back can be written again unchanged.
        for served in ("network_memberships", "did"):
            data.pop(served, None)
        return data

    @model_validator(mode="after")
    def _keys_and_window(self) -> SubscriberDetails:
        try:
            decode_public_key(self.signing_public_key)
            if self.encr_public_key is not None:
                decode_public_key(self.encr_public_key, agreement=True)
        except InvalidKey as exc:
            raise ValueError(f"signing_public_key/encr_public_key: {exc}") from exc
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        try:
            did_of(self.subscriber_id)
        except ValueError as exc:
            raise ValueError(f"subscriber_id: {exc}") from exc
        return self

    @property
    def signing_key(self) -> bytes:
        return decode_public_key(self.signing_public_key)

    def index(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "key_id": self.key_id,
            "did": did_of(self.subscriber_id),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "tags": [("role", self.type)]
            + [("domain", d) for d in self.domains]
            + [("state", s) for s in self.states]
            + [("status", self.status)],
        }

    def wire(self) -> dict[str, Any]:
        """The served form: ONIX's names and the IES documentation's, side by side."""
        body = self.model_dump(mode="json")
        body["domain"] = self.domains[0]
        body["subscriber_url"] = self.url
        body["encryption_public_key"] = self.encr_public_key
        body["ukId"] = self.key_id
        body["did"] = did_of(self.subscriber_id)
        return body


class MembershipDetails(_Details):
    """A network's reference entry: "this participant is in our network"."""

    subscriber_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    record: Annotated[str, StringConstraints(pattern=r"^[^/\s]+/[^/\s]+/[^/\s]+$")] | None = None
    roles: list[SubscriberType] = Field(default_factory=list, max_length=3)
    valid_from: Instant
    valid_until: Instant | None = None

    @model_validator(mode="after")
    def _window(self) -> MembershipDetails:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    def index(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "tags": [("member", self.subscriber_id)],
        }


class ParticipantType(StrEnum):
    DISCOM = "discom"
    P2P_PLATFORM = "p2p_platform"
    REGULATOR = "regulator"
    CONSENT_MANAGER = "consent_manager"
    THIRD_PARTY_APP = "third_party_app"
    CERTIFIER = "certifier"
    # A front end for people (the console): a directory identity that may get machine
    # tokens for narrow scopes (registry.directory.tokens), but no Beckn network member.
    CONSOLE = "console"


class ParticipantRoleDetails(_Details):
    """What a participant may do, where, in which domains: its authorisation scope."""

    subscriber_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    participant_type: ParticipantType
    states: list[StateCode] = Field(default_factory=list, max_length=40)
    domains: list[Text] = Field(default_factory=list, max_length=32)
    actions: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,40}$")]] = Field(
        default_factory=list, max_length=64
    )
    # The discom codes (the registry's ``address.discom``) a discom answers for: its
    # access tokens carry them (roles ``discom:<code>``) and the registry lets it write
    # those discoms' records only. Only the operator writes this record.
    discoms: list[Code] = Field(default_factory=list, max_length=8)
    valid_from: Instant
    valid_until: Instant | None = None

    @model_validator(mode="after")
    def _discoms_for_discoms(self) -> ParticipantRoleDetails:
        if self.discoms and self.participant_type is not ParticipantType.DISCOM:
            raise ValueError("discoms: only a discom's role names the discoms it answers for")
        return self

    def index(self) -> dict[str, Any]:
        return {
            "subscriber_id": self.subscriber_id,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "tags": [("participant_type", self.participant_type.value)]
            + [("state", s) for s in self.states]
            + [("domain", d) for d in self.domains]
            + [("discom", c.upper()) for c in self.discoms],
        }


class RevocationDetails(_Details):
    """A revoked credential, named by its hash: present means revoked."""

    revoked_at: Instant | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class KeyDetails(_Details):
    """An issuer's public key as a JWK (the P-256 JsonWebKey2020 issuers use)."""

    public_key_jwk: dict[str, Any]
    purpose: Literal["assertionMethod", "authentication", "keyAgreement"] = "assertionMethod"
    valid_from: Instant | None = None
    valid_until: Instant | None = None

    @model_validator(mode="after")
    def _jwk(self) -> KeyDetails:
        jwk = self.public_key_jwk
        if jwk.get("kty") not in {"EC", "OKP"} or not isinstance(jwk.get("x"), str):
            raise ValueError("public_key_jwk: an EC or OKP public JWK with x (and y for EC)")
        if "d" in jwk:
            raise ValueError("public_key_jwk carries a private key ('d'); never publish it")
        return self


class SchemaDetails(_Details):
    schema_id: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    document: dict[str, Any]


class ContextDetails(_Details):
    context_url: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    document: dict[str, Any]


DETAILS: dict[RecordType, type[_Details]] = {
    RecordType.SUBSCRIBER: SubscriberDetails,
    RecordType.NETWORK_MEMBERSHIP: MembershipDetails,
    RecordType.PARTICIPANT_ROLE: ParticipantRoleDetails,
    RecordType.REVOCATION: RevocationDetails,
    RecordType.KEY: KeyDetails,
    RecordType.SCHEMA: SchemaDetails,
    RecordType.CONTEXT: ContextDetails,
}


def validate_details(record_type: RecordType, details: dict[str, Any]) -> _Details:
    """The typed record, or :class:`RecordInvalid` listing every failure."""
    try:
        return DETAILS[record_type].model_validate(details)
    except ValidationError as exc:
        errors = [
            {
                "location": "/".join(str(p) for p in ("details", *e["loc"])),
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors(include_url=False)
        ]
        raise RecordInvalid(
            f"{len(errors)} field(s) do not match the {record_type.value} schema", errors=errors
        ) from None


# ------------------------------------------------------------------ HTTP-edge shapes


class NamespaceClaim(BaseModel):
    """Claim a namespace: the domain and the owner's Ed25519 key that will sign writes."""

    model_config = ConfigDict(strict=True, extra="forbid")

    namespace: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    owner_key_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    owner_public_key: Annotated[str, StringConstraints(min_length=40, max_length=64)]
    proof_method: Literal["well-known", "txt"] = "well-known"
    description: Annotated[str, StringConstraints(max_length=500)] = ""


class Namespace(BaseModel):
    namespace: str
    did: str
    status: Literal["pending", "verified"]
    owner_key_id: str
    owner_public_key: str
    proof_method: Literal["well-known", "txt"]
    challenge: str | None = None
    challenge_path: str | None = None
    challenge_expires_at: datetime | None = None
    description: str = ""
    created_at: datetime
    verified_at: datetime | None = None


class RegistryDraft(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    record_type: Annotated[RecordType, Field(strict=False)]
    description: Annotated[str, StringConstraints(max_length=500)] = ""


class Registry(BaseModel):
    namespace: str
    name: str
    record_type: RecordType
    description: str
    created_at: datetime
    record_count: int = 0


class RecordWrite(BaseModel):
    """The body of a record write: typed ``details`` and free ``meta``."""

    model_config = ConfigDict(strict=True, extra="forbid")

    details: dict[str, Any]
    meta: dict[str, str] = Field(default_factory=dict, max_length=32)


class RecordState(StrEnum):
    LIVE = "live"
    DELETED = "deleted"


class RecordData(BaseModel):
    """A record as DeDi serves it, under ``data``."""

    namespace: str
    registry_name: str
    record_name: str
    record_type: RecordType
    version: int
    state: RecordState
    details: dict[str, Any]
    meta: dict[str, str]
    network_memberships: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    ttl: int | None = None


class RecordEnvelope(BaseModel):
    message: str
    data: RecordData


class RegistryEnvelope(BaseModel):
    message: str
    data: dict[str, Any]


class QueryData(BaseModel):
    namespace: str
    registry_name: str
    record_type: RecordType
    records: list[RecordData]


class QueryEnvelope(BaseModel):
    message: str
    data: QueryData
    next_cursor: str | None = None


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    namespace: str
    actor: str
    action: str
    target: str
    version: int | None
    body_digest: str
    signature: str | None


class SubscriberView(BaseModel):
    """One subscriber key, with the networks it is referenced into."""

    namespace: str
    registry_name: str
    record_name: str
    details: dict[str, Any]
    network_memberships: list[str]
    updated_at: datetime
