"""MeterDataRequest v0.6 rules that a JSON Schema cannot state.

The IES MeterDataRequest v0.6 validator (``validation/README.md`` of the official
schema) adds four checks to the structure, and its ``validation/test_cases`` hold one
failing document for three of them: every requested register resolves to an IS 15959
code or IES short label; it is permitted in the profile it is asked under (``kWh imp``
is not an ``IntervalProfile`` value); the mode asked is one the register supports
(``kWh imp block`` is USAGE only); an authorisation's ``validUntil`` is after its
``validFrom``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from schemas import obis
from schemas.validation import SchemaError, pointer

# The request's profile classes as MeterData profile shapes, as the IES validator maps
# them (a bill's registers are the monthly ones).
PROFILE_SHAPES = {
    "CustomerProfile": "CUSTOMER",
    "IntervalProfile": "INTERVAL",
    "DailyProfile": "DAILY",
    "MonthlyProfile": "MONTHLY",
    "BillDetails": "MONTHLY",
    "InstantaneousProfile": "INSTANTANEOUS",
    "EventProfile": "EVENT",
    "AlarmProfile": "ALARM",
}


def _capabilities(document: Mapping[str, Any]) -> Iterator[tuple[list[str | int], Any]]:
    if "capabilitiesRequested" in document:
        yield ["capabilitiesRequested"], document["capabilitiesRequested"]
        authorisation = document.get("authorisation")
        if isinstance(authorisation, Mapping):
            yield ["authorisation", "capabilities"], authorisation["capabilities"]
    elif "grantor" in document:
        yield ["capabilities"], document["capabilities"]
    else:
        yield [], document


def _authorisations(document: Mapping[str, Any]) -> Iterator[tuple[list[str | int], Any]]:
    if "grantor" in document:
        yield [], document
    authorisation = document.get("authorisation")
    if isinstance(authorisation, Mapping):
        yield ["authorisation"], authorisation


def check(document: Any) -> Iterator[SchemaError]:
    """Every semantic failure of a structurally valid MeterDataRequest document."""
    if not isinstance(document, Mapping):
        return
    for where, authorisation in _authorisations(document):
        valid_from = datetime.fromisoformat(authorisation["validFrom"].replace("z", "Z"))
        valid_until = datetime.fromisoformat(authorisation["validUntil"].replace("z", "Z"))
        if valid_until <= valid_from:
            yield SchemaError(
                pointer([*where, "validUntil"]),
                "validityWindow",
                f"validUntil ({authorisation['validUntil']}) is not after validFrom "
                f"({authorisation['validFrom']})",
            )
    for where, capabilities in _capabilities(document):
        for p, profile in enumerate(capabilities["profiles"]):
            requested = profile["profileType"]
            shape = PROFILE_SHAPES[requested]
            for r, reading in enumerate(profile.get("readings", ())):
                at = pointer([*where, "profiles", p, "readings", r])
                value = reading["value"]
                code = obis.resolve(value)
                if code is None:
                    yield SchemaError(
                        at + "/value",
                        "readingTypeKnown",
                        f"{value!r} is no IS 15959 code or IES short label",
                    )
                    continue
                # The IES validator does not restrict what a customer profile may carry.
                if shape != "CUSTOMER" and shape not in code.profiles:
                    yield SchemaError(
                        at + "/value",
                        "profileShape",
                        f"{value!r} ({code.obis}) is not permitted in {requested}; "
                        f"permitted in: {', '.join(sorted(code.profiles))}",
                    )
                mode = reading.get("mode")
                if mode is not None and mode not in code.modes:
                    yield SchemaError(
                        at + "/mode",
                        "modeSupported",
                        f"telemetry mode {mode!r} is not supported by {value!r} ({code.obis}); "
                        f"supported: {', '.join(code.modes)}",
                    )
