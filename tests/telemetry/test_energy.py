"""Feeder energy from integrated totals: roll-over, resets, missing intervals, reverse
flow. Pure functions, so most of it is stated as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.outages.detection import Detector
from protocol.outages.energy import der_view, interval_energy
from protocol.outages.errors import BadQuality
from protocol.outages.models import EnergyTotal, PowerSample

DAY = datetime(2026, 5, 12, tzinfo=UTC) - timedelta(hours=5, minutes=30)  # IST midnight
STEP = timedelta(minutes=15)
END = DAY + timedelta(days=1)


def totals(counters: list[int | None], *, kwh_per_count: float = 1.0) -> list[EnergyTotal]:
    """A reading at each edge; None: no reading there."""
    return [
        EnergyTotal("F", c, DAY + i * STEP, f"t{i}", kwh_per_count)
        for i, c in enumerate(counters)
        if c is not None
    ]


def day_of(increments: list[int], first: int, modulus: int) -> list[int]:
    counters = [first % modulus]
    for d in increments:
        counters.append((counters[-1] + d) % modulus)
    return counters


def test_a_register_wrapping_at_its_modulus_gives_the_interval_its_energy():
    readings = totals([990, 998, 6, 20], kwh_per_count=0.5)
    out = interval_energy(readings, DAY, DAY + 3 * STEP, modulus=1000)
    assert [i.kwh for i in out] == [4.0, 4.0, 7.0]
    assert [i.quality for i in out] == ["measured", "rolled-over", "measured"]


def test_a_drop_too_large_for_a_roll_over_is_a_reset_and_is_estimated_not_counted():
    # The meter was replaced between 00:30 and 00:45: the new register starts at 3.
    readings = totals([100_000, 100_010, 100_030, 3, 13], kwh_per_count=1.0)
    out = interval_energy(readings, DAY, DAY + 4 * STEP, modulus=2**31)
    assert [i.kwh for i in out[:2]] == [10.0, 20.0]
    assert out[3].kwh == 10.0
    assert out[3].quality == "measured"
    reset = out[2]
    assert reset.quality == "estimated"
    assert reset.kwh == pytest.approx((10 + 20 + 10) / 3)  # the mean, not 2**31 - 100_027
    assert sum(i.kwh for i in out) < 100


def test_one_missing_reading_shares_the_known_total_across_its_two_intervals():
    out = interval_energy(totals([0, 10, None, 50, 60]), DAY, DAY + 4 * STEP)
    assert [i.kwh for i in out] == [10, 20, 20, 10]
    assert [i.quality for i in out] == ["measured", "estimated", "estimated", "measured"]
    assert all(i.note == "gap between readings" for i in out[1:3])


def test_several_missing_readings_follow_the_power_profile_when_there_is_one():
    profile = {DAY + k * STEP: kw for k, kw in enumerate([0, 100, 300, 0, 0])}
    out = interval_energy(totals([0, 10, None, None, 50]), DAY, DAY + 4 * STEP, profile=profile)
    assert [i.kwh for i in out] == [10, 10, 30, 0]
    assert sum(i.kwh for i in out) == 50  # the registers' own total is kept


def test_gaps_at_the_start_and_the_end_of_the_day_take_the_mean_and_are_flagged():
    counters: list[int | None] = [None, *range(10, 10 * 96, 10), None]
    assert len(counters) == 97
    out = interval_energy(totals(counters), DAY, END)
    assert len(out) == 96
    assert out[0].quality == out[-1].quality == "estimated"
    assert out[0].note == out[-1].note == "no reading at an edge"
    assert out[0].kwh == out[-1].kwh == 10
    assert {i.quality for i in out[1:-1]} == {"measured"}


def test_an_invalid_total_is_refused_by_detection_and_ignored_by_the_energy_sum():
    bad = EnergyTotal("F", 10**6, DAY + STEP, "t1", 1.0, invalid=True)
    with pytest.raises(BadQuality):
        Detector().check(bad, END)
    out = interval_energy([*totals([0, None, 40]), bad], DAY, DAY + 2 * STEP)
    assert [i.kwh for i in out] == [20, 20]
    assert {i.quality for i in out} == {"estimated"}


increments = st.lists(st.integers(0, 4_999), min_size=1, max_size=96)


@settings(max_examples=200, deadline=None)
@given(increments, st.integers(0, 10_000 - 1), st.sampled_from([0.1, 0.5, 1.0]))
def test_roll_over_arithmetic_recovers_every_increment(steps, first, kwh_per_count):
    modulus = 10_000  # any increment below half of it is a roll-over, never a reset
    readings = totals(list(day_of(steps, first, modulus)), kwh_per_count=kwh_per_count)
    out = interval_energy(readings, DAY, DAY + len(steps) * STEP, modulus=modulus)
    assert [i.kwh for i in out] == pytest.approx([d * kwh_per_count for d in steps])
    assert {i.quality for i in out} <= {"measured", "rolled-over"}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 4_999), min_size=2, max_size=96).flatmap(
        lambda steps: st.tuples(
            st.just(steps),
            st.sets(st.integers(0, len(steps)), max_size=len(steps)),
        )
    ),
    st.integers(2**31 - 10**6, 2**31 - 1),
)
def test_estimates_never_change_a_measured_interval_nor_the_registers_total(case, first):
    # A register of 2**31 near its top: a gap may span the wrap, never half the register
    # (over a longer gap a wrap and a reset look the same, and the gap is estimated).
    steps, missing = case
    counters = day_of(steps, first, 2**31)
    end = DAY + len(steps) * STEP
    full = interval_energy(totals(list(counters)), DAY, end)
    holed: list[int | None] = [None if k in missing else c for k, c in enumerate(counters)]
    out = interval_energy(totals(holed), DAY, end)
    assert len(out) == len(steps)
    for k, interval in enumerate(out):
        if k not in missing and k + 1 not in missing:
            assert interval.quality != "estimated"
            assert interval.kwh == full[k].kwh
        else:
            assert interval.quality == "estimated"
    present = [k for k, c in enumerate(holed) if c is not None]
    if len(present) >= 2:
        inside = sum(i.kwh for i in out[present[0] : present[-1]])
        assert inside == pytest.approx(sum(steps[present[0] : present[-1]]))


def test_reverse_flow_at_noon_is_integrated_separately_and_der_share_follows():
    # 0 kW at 06:00, +400 kW morning, -200 kW (export) from 11:00 to 14:00.
    kw = {6: 0.0, 8: 400.0, 10: 400.0, 11: -200.0, 14: -200.0, 15: 300.0}
    samples = [PowerSample("F", v, DAY + timedelta(hours=h), f"p{h}") for h, v in kw.items()]
    view = der_view("F", samples, der_export_kwh=900.0, start=DAY, end=END)
    assert view.reverse_kwh == pytest.approx(3 * 200)
    assert view.peak_reverse_kw == 200
    assert view.reverse_intervals == 1
    # 06-08 ramp 400 kWh, 08-10 800, 10-11 mean 100 -> 100, 14-15 mean 50 -> 50
    assert view.forward_kwh == pytest.approx(400 + 800 + 100 + 50)
    assert view.der_share == pytest.approx(900 / (1350 + 900))
