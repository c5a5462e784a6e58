"""IEEE 1366 indices on a hand-worked example, and the 2.5 beta major event day rule."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from protocol.outages.reliability import Interruption, indices, major_event_threshold, report

IST = timezone(timedelta(hours=5, minutes=30))


def item(day: int, hour: int, minutes: float, customers: int, feeder: str = "F1") -> Interruption:
    start = datetime(2026, 3, day, hour, tzinfo=IST)
    return Interruption(feeder, start, start + timedelta(minutes=minutes), customers)


def test_hand_worked_saifi_saidi_caidi_maifi():
    # A feeder serving N_T = 1000 customers has, in a month:
    #   A: 120 min, 200 customers -> sustained, CMI 120 x 200 = 24 000
    #   B:  45 min, 500 customers -> sustained, CMI  45 x 500 = 22 500
    #   C:   3 min, 300 customers -> momentary (<= 5 min)
    #   D:   5 min, 100 customers -> momentary (exactly 5 min is still momentary)
    #   E:   6 min,  50 customers -> sustained, CMI   6 x  50 =    300
    events = [
        item(1, 10, 120, 200),
        item(2, 11, 45, 500),
        item(3, 12, 3, 300),
        item(4, 13, 5, 100),
        item(5, 14, 6, 50),
    ]
    result = indices(events, 1000)
    # SAIFI = (200 + 500 + 50) / 1000 = 0.75
    assert result.customers_interrupted == 750
    assert result.saifi == pytest.approx(0.75)
    # SAIDI = (24 000 + 22 500 + 300) / 1000 = 46.8 minutes
    assert result.customer_minutes == pytest.approx(46_800)
    assert result.saidi == pytest.approx(46.8)
    # CAIDI = SAIDI / SAIFI = 46.8 / 0.75 = 62.4 minutes
    assert result.caidi == pytest.approx(62.4)
    # MAIFI = (300 + 100) / 1000 = 0.4
    assert result.maifi == pytest.approx(0.4)


def test_the_major_event_day_threshold_is_exp_alpha_plus_two_and_a_half_beta():
    # Daily SAIDI history: 1, 2, 4, 8 minutes (and a day with 0, left out: ln 0).
    history = {date(2025, 1, d): v for d, v in enumerate([1.0, 2.0, 4.0, 8.0, 0.0], start=1)}
    # ln values: 0, ln2, 2ln2, 3ln2 -> alpha = 1.5 ln2; sample std = ln2 x sqrt(5/3)
    alpha = 1.5 * math.log(2)
    beta = math.log(2) * math.sqrt(5 / 3)
    t_med = major_event_threshold(history)
    assert t_med == pytest.approx(math.exp(alpha + 2.5 * beta))  # exp(3.277): about 26.5 min
    assert t_med is not None
    assert 26 < t_med < 27


def test_a_major_event_day_is_reported_apart():
    history = {date(2025, 1, d): v for d, v in enumerate([1.0, 2.0, 4.0, 8.0], start=1)}
    storm = item(10, 9, 600, 100)  # 600 min x 100 / 1000 = SAIDI 60 that day > T_MED
    normal = item(11, 9, 30, 100)  # 30 x 100 / 1000 = 3 minutes
    result = report([storm, normal], 1000, history)
    assert result.major_event_days == (date(2026, 3, 10),)
    assert result.all_days.saidi == pytest.approx(63.0)
    assert result.excluding_major_events.saidi == pytest.approx(3.0)
    assert result.excluding_major_events.saifi == pytest.approx(0.1)


def test_no_customers_served_is_refused():
    with pytest.raises(ValueError, match="positive"):
        indices([], 0)
