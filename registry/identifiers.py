"""Persistent, opaque, typed identifiers for everything the power sector names.

Form: ``MTR-4821-0937-5526-1043``: a type prefix, then 15 random digits and a
Verhoeff check digit in groups of four. The digits are random (never a sequence,
never derived from location, owner or any personal datum), so an identifier
survives a move, a feeder reconfiguration or a change of supplier, and reveals
nothing. The check digit is computed over the type's two-digit code followed by
the 15 digits, and the type codes differ from each other in a single digit, so
relabelling an identifier with another type's prefix is caught exactly like a
mistyped digit.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from dataclasses import dataclass
from enum import StrEnum

from registry.checkdigit import verhoeff_digit, verhoeff_valid
from registry.errors import InvalidIdentifier, UnknownEntityType


class EntityType(StrEnum):
    """What an identifier names."""

    CONSUMER = "consumer"
    CONNECTION = "connection"
    METER = "meter"
    DISTRIBUTION_TRANSFORMER = "distribution_transformer"
    FEEDER = "feeder"
    SUBSTATION = "substation"
    DER = "der"
    EV_CHARGER = "ev_charger"

    @property
    def prefix(self) -> str:
        return _PREFIX[self]

    @property
    def code(self) -> str:
        return _CODE[self]


_PREFIX: dict[EntityType, str] = {
    EntityType.CONSUMER: "CON",
    EntityType.CONNECTION: "CNX",
    EntityType.METER: "MTR",
    EntityType.DISTRIBUTION_TRANSFORMER: "DTR",
    EntityType.FEEDER: "FDR",
    EntityType.SUBSTATION: "SUB",
    EntityType.DER: "DER",
    EntityType.EV_CHARGER: "EVC",
}
# All codes share the first digit, so any two differ in exactly one digit (see module doc).
_CODE: dict[EntityType, str] = {t: f"1{i}" for i, t in enumerate(EntityType)}
_BY_PREFIX: dict[str, EntityType] = {p: t for t, p in _PREFIX.items()}

PAYLOAD_DIGITS = 15
_SEPARATORS = re.compile(r"[\s\-_.]")
_SHAPE = re.compile(r"^([A-Z]{3})([0-9]{16})$")


@dataclass(frozen=True, slots=True)
class IesId:
    """A parsed identifier; ``str()`` gives its canonical form."""

    type: EntityType
    digits: str  # the 15 payload digits followed by the check digit

    def __str__(self) -> str:
        d = self.digits
        return f"{self.type.prefix}-{d[0:4]}-{d[4:8]}-{d[8:12]}-{d[12:16]}"

    @property
    def compact(self) -> str:
        return f"{self.type.prefix}{self.digits}"


class _RandomPayloads(threading.local):
    """Uniform random 15-digit payloads from the OS's CSPRNG, drawn in blocks.

    A bulk import issues a million identifiers; one urandom call per identifier was
    a third of its time. 50 random bits cover 10**15 (rejection keeps it uniform).
    """

    def __init__(self) -> None:
        self.pending: list[int] = []

    def take(self) -> int:
        if not self.pending:
            block = os.urandom(8 * 1024)
            self.pending = [
                v for (raw,) in struct.iter_unpack("<Q", block) if (v := raw & _MASK) < _LIMIT
            ]
        return self.pending.pop()


_LIMIT = 10**PAYLOAD_DIGITS
_MASK = (1 << 50) - 1
_payloads = _RandomPayloads()


def new_id(entity_type: EntityType) -> IesId:
    """A fresh random identifier of ``entity_type`` (uniqueness is the store's job)."""
    payload = f"{_payloads.take():0{PAYLOAD_DIGITS}d}"
    return IesId(entity_type, payload + verhoeff_digit(entity_type.code + payload))


def from_payload(entity_type: EntityType, payload: str) -> IesId:
    """The identifier with the given 15 payload digits (for tests and vectors)."""
    if len(payload) != PAYLOAD_DIGITS or not payload.isdigit() or not payload.isascii():
        raise InvalidIdentifier(f"the payload must be {PAYLOAD_DIGITS} digits")
    return IesId(entity_type, payload + verhoeff_digit(entity_type.code + payload))


def parse_id(text: str, expected: EntityType | None = None) -> IesId:
    """Parse any spelling (case, spaces, dashes) into an :class:`IesId`, or refuse it.

    Refuses with :class:`InvalidIdentifier` (shape or check digit) or
    :class:`UnknownEntityType` (a well-formed identifier with an unknown prefix).
    """
    if not isinstance(text, str) or len(text) > 64:
        raise InvalidIdentifier("an identifier is a short string such as MTR-4821-0937-5526-1043")
    compact = _SEPARATORS.sub("", text).upper()
    match = _SHAPE.match(compact)
    if match is None:
        raise InvalidIdentifier(
            f"{text!r} is not an identifier: expected three letters and 16 digits, "
            "such as MTR-4821-0937-5526-1043"
        )
    prefix, digits = match.groups()
    entity_type = _BY_PREFIX.get(prefix)
    if entity_type is None:
        known = ", ".join(sorted(_BY_PREFIX))
        raise UnknownEntityType(f"unknown identifier type {prefix!r}; known: {known}")
    if not verhoeff_valid(entity_type.code + digits):
        raise InvalidIdentifier(f"{text!r} fails its check digit: a digit was mistyped")
    if expected is not None and entity_type is not expected:
        raise InvalidIdentifier(f"{text!r} names a {entity_type.value}, not a {expected.value}")
    return IesId(entity_type, digits)


def entity_type_of(value: str) -> EntityType:
    """The entity type named by ``value`` (as written in APIs and files)."""
    try:
        return EntityType(value)
    except ValueError:
        known = ", ".join(t.value for t in EntityType)
        raise UnknownEntityType(f"unknown entity type {value!r}; known: {known}") from None
