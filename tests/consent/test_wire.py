"""The gate's fast path (plain dicts, one orjson pass) still speaks MeterData v0.6:
the bytes validate against the official schema, read at test time, and say exactly
what the standard library's encoder would have said."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from consent import slicing
from consent.models import DataType, Granularity
from schemas.meterdata import (
    CompactSequence,
    Identifier,
    Interval,
    IntervalPeriod,
    IntervalProfile,
    Override,
    PayloadDescriptor,
    PayloadDescriptorProfile,
    PayloadDescriptorSet,
    SequenceItem,
)
from tests.schemas import oracle

START = datetime(2025, 5, 1, tzinfo=slicing.IST)
BOTH = frozenset({DataType.INTERVAL_CONSUMPTION, DataType.NET_EXPORT})


def archive(days: int, bad: dict[int, float] | None = None) -> list:
    """Days of 15-minute import/export blocks; some estimated, some missing, and
    ``bad`` row ids carrying a non-finite value."""
    bad = bad or {}
    descriptor = PayloadDescriptorProfile(
        profile_type="DESCRIPTOR",
        id="d",
        payload_descriptor_sets=[
            PayloadDescriptorSet(
                name="S",
                payload_descriptors=[
                    PayloadDescriptor(reading_type="kWh imp block", unit="kWh",
                                      flow_direction="IMPORT", reported_mode="USAGE"),
                    PayloadDescriptor(reading_type="kWh exp block", unit="kWh",
                                      flow_direction="EXPORT", reported_mode="USAGE"),
                ],
                compact_sequences=[CompactSequence(name="S", sequence_items=[
                    SequenceItem(reading_type="kWh imp block"),
                    SequenceItem(reading_type="kWh exp block")])],
            )
        ],
    )  # fmt: skip
    rows = [
        Interval(
            id=i,
            payloads=[bad.get(i, round(0.1 + (i % 7) * 0.013, 3)), round((i % 5) * 0.01, 3)],
            overrides=[Override(descriptor_index=0, validation_status="ESTIMATED")]
            if i % 41 == 0
            else None,
        )
        for i in range(96 * days)
        if i % 97 != 3  # a few blocks never arrived
    ]
    profile = IntervalProfile(
        profile_type="INTERVAL",
        meter_refs=[Identifier(scheme="METER_SERIAL", value="SM1")],
        payload_descriptor_set_ref="S",
        compact_sequence_ref="S",
        interval_period=IntervalPeriod(start=START, duration="PT15M"),
        intervals=rows,
    )
    return [descriptor, profile]


@pytest.mark.parametrize(
    "granularity", [Granularity.MIN15, Granularity.HOURLY, Granularity.DAILY, Granularity.MONTHLY]
)
def test_the_wire_bytes_are_official_meterdata_and_what_json_would_say(granularity):
    window = slicing.Window("SM1", START, START + timedelta(days=40), BOTH, granularity)
    out = slicing.interval_slice(archive(40), window)
    wire = slicing.to_json(out)
    document = json.loads(wire)
    assert oracle.official_errors(document) == []
    assert document == json.loads(json.dumps(out))
    [_descriptor, profile] = document
    flagged = [r for r in profile["intervals"] if "overrides" in r]
    assert flagged, "the estimated and incomplete buckets carry their quality"
    assert {o["validationStatus"] for r in flagged for o in r["overrides"]} <= {
        "ESTIMATED",
        "SUSPECT",
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_row_with_a_non_finite_value_is_not_released(value):
    window = slicing.Window("SM1", START, START + timedelta(days=1), BOTH, Granularity.MIN15)
    out = slicing.interval_slice(archive(1, bad={5: value}), window)
    ids = [r["id"] for r in out[1]["intervals"]]
    assert 5 not in ids
    assert 4 in ids
    assert 6 in ids
    assert "NaN" not in slicing.to_json(out).decode()
    assert oracle.official_errors(json.loads(slicing.to_json(out))) == []


def test_collection_resumes_once_the_last_overlapping_slice_is_built():
    import gc

    from consent.gate import _cyclic_gc_paused

    assert gc.isenabled()
    with _cyclic_gc_paused():
        with _cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer slice is still being built"
    assert gc.isenabled()
    gc.disable()  # an application that runs without the collector keeps it off
    try:
        with _cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
