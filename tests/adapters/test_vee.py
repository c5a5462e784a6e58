"""VEE: checks flag, estimates keep originals, validated readings never change."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import vee
from adapters.errors import MappingConfigInvalid
from adapters.synthetic import IST

DAY = datetime(2026, 5, 18, tzinfo=IST)
STEP = timedelta(minutes=15)
CONFIG = vee.VeeConfig(discom="test")


def _samples(values: dict[int, float]) -> list[vee.Sample]:
    return [vee.Sample(DAY + STEP * (s + 1), v, 0.0, s) for s, v in sorted(values.items())]


def _run(values: dict[int, float], **kwargs: object) -> vee.VeeResult:
    return vee.run(_samples(values), start=DAY, step=STEP, slots=96, config=CONFIG, **kwargs)  # type: ignore[arg-type]


def _by_slot(result: vee.VeeResult) -> dict[int, vee.Reading]:
    return {(r.start - DAY) // STEP: r for r in result.readings}


def test_a_gap_of_an_hour_is_interpolated_linearly() -> None:
    values = dict.fromkeys(range(96), 1.0)
    values[9] = 2.0
    for s in range(10, 14):
        del values[s]
    values[14] = 3.0
    readings = _by_slot(_run(values))
    assert [readings[s].import_kwh for s in range(10, 14)] == pytest.approx([2.2, 2.4, 2.6, 2.8])
    assert {readings[s].quality for s in range(10, 14)} == {vee.Quality.ESTIMATED}
    assert readings[10].method == "linear-interpolation"


def test_a_longer_gap_uses_same_interval_history_and_reports_what_it_cannot_fill() -> None:
    values = {s: 1.0 for s in range(96) if not 40 <= s < 48}
    history = {s: [(0.5, 0.0), (0.7, 0.0)] for s in range(40, 44)}
    result = _run(values, history=history)
    readings = _by_slot(result)
    assert readings[40].import_kwh == pytest.approx(0.6)
    assert readings[40].method == "same-interval-history"
    assert result.unfilled == [DAY + STEP * s for s in range(44, 48)]
    assert len(result.readings) + len(result.unfilled) == 96


def test_clock_going_backwards_and_duplicates_are_flagged_not_dropped() -> None:
    samples = _samples(dict.fromkeys(range(96), 1.0))
    samples.insert(50, vee.Sample(DAY + STEP * 3, 1.0, 0.0, 999))  # identical repeat, late
    samples.insert(60, vee.Sample(DAY + STEP * 5, 4.0, 0.0, 998))  # conflicting repeat
    result = vee.run(samples, start=DAY, step=STEP, slots=96, config=CONFIG)
    kinds = [i.kind for i in result.issues]
    assert kinds.count("clock-backwards") == 2
    assert "duplicate" in kinds
    assert "duplicate-conflict" in kinds
    conflicted = _by_slot(result)[4]
    assert conflicted.quality is vee.Quality.ESTIMATED
    assert conflicted.original == (1.0, 0.0)
    assert conflicted.reason == "duplicate-conflict"


def test_spikes_and_impossible_values_are_estimated_with_the_original_kept() -> None:
    values = dict.fromkeys(range(96), 0.5)
    values[20] = 9.0  # spike: 18 x the median and above 2 kWh
    values[30] = -0.2  # negative energy
    readings = _by_slot(_run(values))
    assert (readings[20].reason, readings[20].original) == ("spike", (9.0, 0.0))
    assert (readings[30].reason, readings[30].original) == ("low", (-0.2, 0.0))
    assert readings[20].import_kwh == pytest.approx(0.5)


def test_sum_check_against_the_register_delta() -> None:
    values = dict.fromkeys(range(96), 0.5)
    assert not [i for i in _run(values, register_delta=(48.0, 0.0)).issues if i.kind == "sum-check"]
    failing = _run(values, register_delta=(40.0, 0.0))
    assert [i.kind for i in failing.issues] == ["sum-check"]


def test_edits_are_flagged_and_keep_the_original() -> None:
    result = _run(dict.fromkeys(range(96), 0.5))
    edited = vee.edit(result, DAY + STEP * 7, 0.9, 0.0, by="AE-Pune")
    reading = _by_slot(edited)[7]
    assert (reading.quality, reading.original, reading.method) == (
        vee.Quality.EDITED,
        (0.5, 0.0),
        "manual:AE-Pune",
    )


def test_config_is_read_per_discom_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vee.yaml"
    path.write_text("discom: TPDDL\nmax_linear_span: PT2H\nspike_factor: 6\n")
    assert vee.load_config(path).max_linear_span == timedelta(hours=2)
    path.write_text("discom: TPDDL\nspike_factr: 6\n")
    with pytest.raises(MappingConfigInvalid):
        vee.load_config(path)


_DAYS = st.dictionaries(
    st.integers(0, 95), st.floats(0, 3, allow_nan=False).map(lambda v: round(v, 3)), max_size=96
)


@settings(max_examples=150, deadline=None)
@given(_DAYS, st.booleans())
def test_gap_fill_never_changes_a_validated_reading(
    values: dict[int, float], with_history: bool
) -> None:
    history = {s: [(0.4, 0.0)] for s in range(96)} if with_history else None
    result = _run(values, history=history)
    for slot, reading in _by_slot(result).items():
        if reading.quality is vee.Quality.VALIDATED:
            assert reading.import_kwh == values[slot]
        else:
            assert reading.quality in (vee.Quality.ESTIMATED, vee.Quality.SUSPECT)
    assert len(result.readings) + len(result.unfilled) == 96


@settings(max_examples=150, deadline=None)
@given(_DAYS, st.floats(0, 50, allow_nan=False))
def test_estimates_make_the_day_add_up_to_the_register(
    values: dict[int, float], extra: float
) -> None:
    history = {s: [(0.4, 0.0)] for s in range(96)}
    result = _run(values, history=history)
    validated = sum(r.import_kwh for r in result.readings if r.quality is vee.Quality.VALIDATED)
    estimated = [r for r in result.readings if r.quality is vee.Quality.ESTIMATED]
    delta = validated + extra
    result = _run(values, history=history, register_delta=(delta, 0.0))
    total = sum(r.import_kwh for r in result.readings)
    if estimated:
        assert total == pytest.approx(delta, abs=1e-6)
    else:
        assert total == pytest.approx(validated)
