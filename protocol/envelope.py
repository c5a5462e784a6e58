"""The Beckn v2.0.0 envelope as pydantic models (pure): context, message, Ack.

Field names are Python's, the wire is the spec's camelCase (``alias_generator``).
Where the spec closes an object (``additionalProperties: false``: Contract,
Performance, Intent, Catalog, Provider and each action's message) the model forbids
extras; where it is open (Context, Descriptor, the ``*Attributes`` bags) it keeps
them, so a message read and written again loses nothing. The models validate what
the spec requires for each action; the tests check them against the OpenAPI itself.

Who may send what: requests (``discover``, ``select`` … ``support``) come from a BAP,
callbacks (``on_*``) from a BPP; a gateway (BG) forwards ``discover``.
"""

from __future__ import annotations

from datetime import datetime
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
from pydantic.alias_generators import to_camel

VERSION = "2.0.0"
REQUESTS = (
    "discover",
    "select",
    "init",
    "confirm",
    "status",
    "track",
    "update",
    "cancel",
    "rate",
    "support",
)
CALLBACKS = tuple(f"on_{action}" for action in REQUESTS)
ACTIONS = REQUESTS + CALLBACKS


def is_callback(action: str) -> bool:
    return action.startswith("on_")


def request_of(action: str) -> str:
    """``on_status`` -> ``status``; a request names itself."""
    return action[3:] if is_callback(action) else action


def sender_role(action: str) -> str:
    """The directory role that sends ``action``: BAP for requests, BPP for callbacks."""
    return "BPP" if is_callback(action) else "BAP"


def _date_time(value: str) -> str:
    # RFC 3339: a 'T' and an offset; kept as text so the body round-trips unchanged.
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValueError("an RFC 3339 date-time with a UTC offset")
    return value


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")]
Uri = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
]
DateTime = Annotated[str, AfterValidator(_date_time)]
Digest = Annotated[str, StringConstraints(pattern=r"^BLAKE-512=[A-Za-z0-9+/]+=*$")]


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", serialize_by_alias=True
    )


class _Closed(_Wire):
    model_config = ConfigDict(extra="forbid")


class RequestDigest(_Wire):
    """Binds a callback to the request that caused it (BLAKE2b-512 of its body)."""

    digest: Digest


class Context(_Wire):
    """The addressing part of every message (Beckn v2.0.0 ``Context``)."""

    domain: str | None = None
    location: dict[str, Any] | None = None
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    version: Literal["2.0.0"]
    bap_id: Identifier
    bap_uri: Uri
    bpp_id: Identifier | None = None
    bpp_uri: Uri | None = None
    transaction_id: Identifier
    message_id: Identifier
    network_id: Annotated[str, StringConstraints(min_length=3, max_length=300)] | None = None
    timestamp: DateTime
    key: str | None = None
    ttl: str | None = None
    schema_context: list[Uri] | None = None
    request_digest: RequestDigest | None = None
    try_: bool | None = Field(default=None, alias="try")

    @model_validator(mode="after")
    def _addressed(self) -> Context:
        # Everything but discover is addressed to one BPP; callbacks come from it.
        if self.action != "discover" and (self.bpp_id is None or self.bpp_uri is None):
            raise ValueError(f"{self.action} needs bppId and bppUri")
        return self

    @property
    def sender_id(self) -> str:
        sender = self.bpp_id if is_callback(self.action) else self.bap_id
        assert sender is not None
        return sender

    @property
    def sender_uri(self) -> str:
        uri = self.bpp_uri if is_callback(self.action) else self.bap_uri
        assert uri is not None
        return uri


# ------------------------------------------------------------------ message parts


class Attributes(_Wire):
    """A JSON-LD attributes bag: ``@context`` and ``@type``, anything else the type says."""

    context: str = Field(alias="@context")
    type: str = Field(alias="@type")


class Descriptor(_Wire):
    code: str | None = None
    name: str | None = None


class Resource(_Wire):
    id: str
    descriptor: Descriptor | None = None
    resource_attributes: Attributes | None = None


class Consideration(_Wire):
    id: str
    status: Descriptor
    consideration_attributes: Attributes | None = None


class Offer(_Wire):
    id: str
    descriptor: Descriptor | None = None
    resource_ids: list[str] | None = None
    considerations: list[Consideration] | None = None
    offer_attributes: Attributes | None = None


class CommitmentStatus(_Wire):
    descriptor: Descriptor | None = None


class Commitment(_Wire):
    id: str | None = None
    status: CommitmentStatus
    resources: list[Resource]
    offer: Offer
    commitment_attributes: Attributes | None = None


class Participant(_Wire):
    id: str | None = None
    descriptor: Descriptor | None = None
    participant_attributes: Attributes | None = None


class Performance(_Closed):
    id: str | None = None
    status: Descriptor | None = None
    commitment_ids: list[str] | None = None
    performance_attributes: Attributes | None = None


class Settlement(_Wire):
    id: str | None = None
    consideration_id: str | None = None
    status: Literal["DRAFT", "COMMITTED", "COMPLETE"] | None = None
    settlement_attributes: Attributes | None = None


class Contract(_Closed):
    """The canonical transaction object of Beckn v2 (commitments, consideration,
    participants, performance, settlements)."""

    id: str | None = None
    descriptor: Descriptor | None = None
    commitments: list[Commitment] = Field(min_length=1)
    consideration: list[Consideration] | None = None
    participants: list[Participant] | None = None
    performance: list[Performance] | None = None
    settlements: list[Settlement] | None = None
    status: Descriptor | None = None
    contract_attributes: Attributes | None = None


class Intent(_Closed):
    text_search: str | None = None
    filters: dict[str, Any] | None = None
    spatial: list[dict[str, Any]] | None = None
    media_search: dict[str, Any] | None = None


class Provider(_Closed):
    id: str
    descriptor: Descriptor
    available_at: list[dict[str, Any]] | None = None
    provider_attributes: Attributes | None = None


class Catalog(_Closed):
    id: str
    descriptor: Descriptor
    provider: Provider
    bpp_id: str | None = None
    bpp_uri: str | None = None
    publish_directives: dict[str, Any] | None = None
    is_active: bool | None = None
    offers: list[Offer] | None = None
    resources: list[Resource] | None = None
    validity: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something_offered(self) -> Catalog:
        if self.offers is None and self.resources is None:
            raise ValueError("a catalog lists resources or offers")
        return self


# ------------------------------------------------------------------ messages per action


class DiscoverMessage(_Closed):
    intent: Intent
    text_search: str | None = None


class OnDiscoverMessage(_Closed):
    catalogs: list[Catalog]


class ContractMessage(_Closed):
    contract: Contract


class _IdentifiedContract(Contract):
    id: str


class ContractIdMessage(_Closed):
    """``status`` and ``cancel`` name the contract they ask about."""

    contract: _IdentifiedContract


class StatusMessage(ContractIdMessage):
    """``status``: the spec leaves its message open (no ``additionalProperties: false``);
    IES puts the pagination cursor in ``message.tags`` (BAP-pull, docs/protocol.md)."""

    tags: list[dict[str, Any]] | None = None


class OpenMessage(_Wire):
    """track/rate/support and their callbacks: checked for their one required member."""


MESSAGES: dict[str, type[BaseModel]] = {
    "discover": DiscoverMessage,
    "on_discover": OnDiscoverMessage,
    "status": StatusMessage,
    "cancel": ContractIdMessage,
}
for _action in ("select", "init", "confirm", "update", "on_select", "on_init", "on_confirm"):
    MESSAGES[_action] = ContractMessage
for _action in ("on_status", "on_update", "on_cancel"):
    MESSAGES[_action] = ContractMessage
REQUIRED_MEMBER = {
    "track": "contract",
    "on_track": "tracking",
    "rate": "ratingInputs",
    "on_rate": "ratings",
    "support": "support",
    "on_support": "support",
}


class Envelope(BaseModel):
    """A whole Beckn message: ``context`` and ``message``."""

    model_config = ConfigDict(extra="forbid")

    context: Context
    message: dict[str, Any]


def check_message(action: str, message: dict[str, Any]) -> BaseModel:
    """The typed message of ``action``, or pydantic's ValidationError."""
    model = MESSAGES.get(action)
    if model is not None:
        return model.model_validate(message)
    member = REQUIRED_MEMBER[action]
    if member not in message:
        raise ValueError(f"message.{member} is required for {action}")
    return OpenMessage.model_validate(message)


def validation_errors(exc: ValidationError | ValueError, prefix: str) -> list[dict[str, str]]:
    if isinstance(exc, ValidationError):
        return [
            {
                "path": "/".join([prefix, *(str(p) for p in error["loc"])]),
                "message": error["msg"],
            }
            for error in exc.errors(include_url=False)
        ]
    return [{"path": prefix, "message": str(exc)}]


# ------------------------------------------------------------------ Ack


class AckError(BaseModel):
    model_config = ConfigDict(extra="allow")

    errorCode: str  # noqa: N815 - the spec's name
    errorMessage: str  # noqa: N815
    step: str | None = None


class AckMessage(BaseModel):
    status: Literal["ACK", "NACK"]
    messageId: str | None = None  # noqa: N815


class Ack(BaseModel):
    """The synchronous answer: the spec's ``status``/``signature``/``error`` and ONIX's
    compact ``message: {status, messageId}``, side by side."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ACK", "NACK"]
    signature: str
    message: AckMessage | None = None
    error: AckError | None = None
