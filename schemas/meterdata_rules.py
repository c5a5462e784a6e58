"""MeterData v0.6 rules that a JSON Schema cannot state.

The IES MeterData v0.6 validator adds these checks to the schema (its
``validation/test_cases`` hold one failing document for each): compact rows need their
payload descriptor set in the same payload and must name it; every reading type must
be an IS 15959 code permitted in the profile's shape and reporting mode; cumulative
registers never go down; a usage reading equals closing minus opening.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from schemas import obis
from schemas.validation import SchemaError, pointer

_COMPACT_SHAPES = ("INTERVAL", "DAILY")
# Values on the wire are decimals rounded to the meter's resolution; a usage reading is
# consistent when it is within this of closing - opening.
USAGE_TOLERANCE = 1e-6


def _profiles(document: Any) -> list[tuple[int | None, Mapping[str, Any]]]:
    if isinstance(document, list):
        return [(i, p) for i, p in enumerate(document) if isinstance(p, Mapping)]
    return [(None, document)] if isinstance(document, Mapping) else []


def _at(index: int | None, *parts: str | int) -> str:
    return pointer(([] if index is None else [index]) + list(parts))


def check(document: Any) -> Iterator[SchemaError]:
    """Every semantic failure of a structurally valid MeterData document."""
    profiles = _profiles(document)
    sets: dict[str, Mapping[str, Any]] = {}
    for index, profile in profiles:
        if profile.get("profileType") == "DESCRIPTOR":
            for s, descriptor_set in enumerate(profile["payloadDescriptorSets"]):
                sets[descriptor_set["name"]] = descriptor_set
                yield from _descriptors(index, s, descriptor_set)
    for index, profile in profiles:
        shape = profile.get("profileType")
        if shape in _COMPACT_SHAPES and "compactSequenceRef" in profile:
            yield from _compact(index, profile, shape, sets)
        modes = _modes(sets.get(profile.get("payloadDescriptorSetRef", "")))
        for r, reading in enumerate(profile.get("readings", ())):
            yield from _reading(_at(index, "readings", r), reading, shape, modes)
        for i, interval in enumerate(profile.get("intervals", ())):
            for r, reading in enumerate(interval.get("readings", ())):
                yield from _reading(
                    _at(index, "intervals", i, "readings", r), reading, shape, modes
                )


def _descriptors(
    index: int | None, s: int, descriptor_set: Mapping[str, Any]
) -> Iterator[SchemaError]:
    for d, descriptor in enumerate(descriptor_set["payloadDescriptors"]):
        where = _at(index, "payloadDescriptorSets", s, "payloadDescriptors", d)
        code = obis.resolve(descriptor["readingType"])
        if code is None:
            yield SchemaError(
                where + "/readingType",
                "readingTypeKnown",
                f"readingType {descriptor['readingType']!r} is no IS 15959 code or short label",
            )
            continue
        inline = descriptor.get("obis")
        if inline is not None and obis.ALIASES.get(inline, inline) != code.obis:
            yield SchemaError(
                where + "/obis",
                "obisMatches",
                f"obis {inline!r} is not {code.obis!r}, the code of {descriptor['readingType']!r}",
            )
        mode = descriptor.get("reportedMode")
        if mode is not None and mode not in code.modes:
            yield SchemaError(
                where + "/reportedMode",
                "reportedMode",
                f"telemetry mode {mode!r} is not supported by {code.short_label!r} "
                f"({code.obis}); supported: {', '.join(code.modes)}",
            )


def _modes(descriptor_set: Mapping[str, Any] | None) -> dict[str, str]:
    if descriptor_set is None:
        return {}
    return {
        d["readingType"]: d["reportedMode"]
        for d in descriptor_set["payloadDescriptors"]
        if "reportedMode" in d
    }


def _compact(
    index: int | None,
    profile: Mapping[str, Any],
    shape: str,
    sets: Mapping[str, Mapping[str, Any]],
) -> Iterator[SchemaError]:
    sequence_name = profile["compactSequenceRef"]
    if not sets:
        yield SchemaError(
            _at(index, "compactSequenceRef"),
            "descriptorPresent",
            f"compact rows (compactSequenceRef {sequence_name!r}) need their "
            "PayloadDescriptorProfile, which must be present in the payload",
        )
        return
    set_name = profile.get("payloadDescriptorSetRef")
    if set_name is None:
        yield SchemaError(
            _at(index),
            "descriptorRefRequired",
            f"'payloadDescriptorSetRef' is required with compactSequenceRef {sequence_name!r}",
        )
        return
    descriptor_set = sets.get(set_name)
    if descriptor_set is None:
        yield SchemaError(
            _at(index, "payloadDescriptorSetRef"),
            "descriptorRefResolves",
            f"payloadDescriptorSetRef {set_name!r} names no descriptor set in the payload",
        )
        return
    sequence = next(
        (q for q in descriptor_set.get("compactSequences", ()) if q["name"] == sequence_name),
        None,
    )
    if sequence is None:
        yield SchemaError(
            _at(index, "compactSequenceRef"),
            "compactSequenceResolves",
            f"compactSequenceRef {sequence_name!r} is not in descriptor set {set_name!r}",
        )
        return
    modes = _modes(descriptor_set)
    items = sequence["sequenceItems"]
    monotonic: list[int] = []
    for k, item in enumerate(items):
        reading_type = item["readingType"]
        code = obis.resolve(reading_type)
        if code is None:
            yield SchemaError(
                _at(index, "compactSequenceRef"),
                "readingTypeKnown",
                f"sequence item {k} readingType {reading_type!r} is no IS 15959 code",
            )
            continue
        if shape not in code.profiles:
            yield SchemaError(
                _at(index, "compactSequenceRef"),
                "profileShape",
                f"{reading_type!r} ({code.obis}) is not permitted in {shape} profile shape; "
                f"permitted in: {', '.join(sorted(code.profiles))}",
            )
        mode = modes.get(reading_type, code.default_mode)
        if (
            code.accumulation == "CUMULATIVE"
            and mode == "READING"
            and item.get("attribute", "value") == "value"
        ):
            monotonic.append(k)
    last_id = -1
    last: dict[int, float] = {}
    for i, interval in enumerate(profile.get("intervals", ())):
        where = _at(index, "intervals", i)
        if interval["id"] <= last_id:
            yield SchemaError(
                where + "/id",
                "intervalOrder",
                f"interval id {interval['id']} does not increase (previous {last_id})",
            )
        last_id = interval["id"]
        payloads = interval.get("payloads")
        if payloads is None:
            continue
        if len(payloads) != len(items):
            yield SchemaError(
                where + "/payloads",
                "arity",
                f"{len(payloads)} values for a sequence of {len(items)} items",
            )
            continue
        for k in monotonic:
            value = payloads[k]
            if not isinstance(value, int | float) or isinstance(value, bool):
                yield SchemaError(f"{where}/payloads/{k}", "type", f"{value!r} is not a number")
                continue
            if value < 0:
                yield SchemaError(
                    f"{where}/payloads/{k}",
                    "cumulativeMonotonic",
                    f"CUMULATIVE mode value {value} is negative",
                )
            elif k in last and value < last[k]:
                yield SchemaError(
                    f"{where}/payloads/{k}",
                    "cumulativeMonotonic",
                    f"CUMULATIVE mode value {value} decreased from {last[k]}",
                )
            last[k] = value


def _reading(
    where: str, reading: Mapping[str, Any], shape: Any, modes: Mapping[str, str]
) -> Iterator[SchemaError]:
    reading_type = reading["readingType"]
    code = obis.resolve(reading_type)
    if code is None:
        return  # elaborated readings may carry discom-specific types; only known ones are checked
    opening = reading.get("openingValue")
    closing = reading.get("closingValue")
    if opening is None and closing is None:
        return
    # The mode comes from the descriptor; IES examples also write it on the reading itself.
    mode = modes.get(reading_type) or reading.get("reportedMode") or code.default_mode
    if mode == "READING":
        yield SchemaError(
            where,
            "reportedMode",
            f"openingValue/closingValue are not permitted for {reading_type!r} in READING mode",
        )
        return
    if opening is not None and closing is not None:
        expected = closing - opening
        if abs(reading["value"] - expected) > USAGE_TOLERANCE * max(1.0, abs(expected)):
            yield SchemaError(
                where + "/value",
                "usageMath",
                f"Usage math inconsistency: closing ({closing}) - opening ({opening}) = "
                f"{expected}, but value is {reading['value']}",
            )
