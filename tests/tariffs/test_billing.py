"""The bill under a tariff pack: a hand-worked bill, and the properties every bill keeps
(sum of its parts, monotone in consumption, slab boundaries, pro-rating)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.synthetic import IST
from policy_packs.tariffs import (
    BillingRefused,
    EnergySlab,
    FixedCharge,
    Interval,
    TariffPolicy,
    TimeOfDayCharge,
    compute_bill,
)

D = Decimal


def tariff(
    slabs: list[tuple[int | None, str]] | None = None,
    windows: tuple[TimeOfDayCharge, ...] | None = None,
    fixed: tuple[FixedCharge, ...] | None = None,
    duty: str = "16",
) -> TariffPolicy:
    tiles, start = [], 0
    for end, price in slabs or [(100, "5.00"), (300, "8.00"), (None, "10.00")]:
        tiles.append(
            EnergySlab(
                id=f"slab-{start}",
                start=D(start),
                end=None if end is None else D(end),
                price=D(price),
            )
        )
        start = end or start
    return TariffPolicy(
        id="policy-test-1",
        policy_id="TEST-RES",
        policy_name="Test residential",
        program_id="program-test",
        category="domestic",
        valid_from=date(2026, 4, 1),
        valid_to=date(2027, 3, 31),
        utc_offset=timedelta(hours=5, minutes=30),
        slabs=tuple(tiles),
        time_of_day=(
            TimeOfDayCharge(
                id="peak", start=time(18), duration=timedelta(hours=4), value=D(20), unit="PERCENT"
            ),
            TimeOfDayCharge(
                id="night",
                start=time(22),
                duration=timedelta(hours=8),
                value=D("-1.50"),
                unit="INR_PER_KWH",
            ),
        )
        if windows is None
        else windows,
        fixed=(FixedCharge(id="fixed", basis="PER_KW", value=D(100)),) if fixed is None else fixed,
        duty_percent=D(duty),
        created=datetime(2026, 4, 1, tzinfo=UTC),
    )


def day_blocks(first: date, days: int) -> list[Interval]:
    """Every day: 3 kWh at noon, 2 kWh at 19:00 (peak), 1 kWh at 23:00 (night)."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        for hour, used in ((12, "3.000"), (19, "2.000"), (23, "1.000")):
            out.append(Interval(datetime.combine(day, time(hour), IST), D(used)))
    return out


def test_a_month_worked_by_hand() -> None:
    """30 days x 6 kWh = 180 kWh, 3 kW sanctioned.

    energy   100 x 5.00 + 80 x 8.00                  = 500.00 + 640.00 = 1140.00
    average  1140 / 180                              = 6.3333… INR/kWh
    peak     60 kWh x 20 % x 1140/180                = 76.00
    night    30 kWh x -1.50                          = -45.00
    fixed    100 INR/kW/month x 3 kW x 30/30         = 300.00
    duty     16 % x (1140 + 76 - 45 + 300 = 1471.00) = 235.36
    total                                            = 1706.36
    """
    bill = compute_bill(
        tariff(), day_blocks(date(2026, 11, 1), 30), date(2026, 11, 1), date(2026, 11, 30), D(3)
    )
    amounts = {line.code: line.amount for line in bill.lines}
    assert bill.kwh == D("180.000")
    assert amounts == {
        "energy:slab-0": D("500.00"),
        "energy:slab-100": D("640.00"),
        "energy:slab-300": D("0.00"),
        "tod:peak": D("76.00"),
        "tod:night": D("-45.00"),
        "fixed:fixed": D("300.00"),
        "duty": D("235.36"),
    }
    assert (bill.energy, bill.time_of_day, bill.fixed, bill.duty, bill.total) == (
        D("1140.00"),
        D("31.00"),
        D("300.00"),
        D("235.36"),
        D("1706.36"),
    )


def test_a_week_pro_rates_slabs_and_fixed_charge() -> None:
    """7 days x 6 kWh = 42 kWh: slabs to 7/30 of a month.

    slab 1   0 .. 100 x 7/30 = 23.333 kWh x 5.00    = 116.665 -> 116.67
    slab 2   23.333 .. 70.000: 18.667 kWh x 8.00    = 149.336 -> 149.34
    average  (116.665 + 149.336) / 42               = 6.3333571…
    peak     14 kWh x 20 % x 6.3333571…             = 17.7334 -> 17.73
    night    7 kWh x -1.50                          = -10.50
    fixed    100 x 3 kW x 7/30                      = 70.00
    duty     16 % x (266.01 + 17.73 - 10.50 + 70.00 = 343.24) = 54.9184 -> 54.92
    total    266.01 + 7.23 + 70.00 + 54.92          = 398.16
    """
    bill = compute_bill(
        tariff(), day_blocks(date(2026, 11, 1), 7), date(2026, 11, 1), date(2026, 11, 7), D(3)
    )
    lines = {line.code: line for line in bill.lines}
    assert lines["energy:slab-0"].quantity == D("23.333")
    assert lines["energy:slab-100"].quantity == D("18.667")
    assert (bill.energy, bill.time_of_day, bill.fixed, bill.duty, bill.total) == (
        D("266.01"),
        D("7.23"),
        D("70.00"),
        D("54.92"),
        D("398.16"),
    )


# ------------------------------------------------------------------ properties

prices = st.lists(st.decimals(min_value=1, max_value=20, places=2), min_size=1, max_size=4)
widths = st.lists(st.integers(min_value=1, max_value=400), min_size=3, max_size=3)


@st.composite
def policies(draw: st.DrawFn) -> TariffPolicy:
    """Non-decreasing slab prices (telescopic tariffs rise), rebates well below them."""
    rates = sorted(draw(prices))
    bounds = draw(widths)
    slabs: list[tuple[int | None, str]] = []
    end = 0
    for n, rate in enumerate(rates):
        last = n == len(rates) - 1
        end += bounds[n % 3]
        slabs.append((None if last else end, str(rate)))
    windows = []
    for n in range(draw(st.integers(0, 2))):
        unit = draw(st.sampled_from(["PERCENT", "INR_PER_KWH"]))
        value = (
            draw(st.decimals(-25, 50, places=1))
            if unit == "PERCENT"
            else draw(st.decimals(-rates[0] / 2, 3, places=2))
        )
        windows.append(
            TimeOfDayCharge(
                id=f"w{n}",
                start=time(draw(st.integers(0, 23))),
                duration=timedelta(hours=draw(st.integers(1, 12))),
                value=value,
                unit=unit,
            )
        )
    fixed = (
        FixedCharge(
            id="f",
            basis=draw(st.sampled_from(["PER_KW", "PER_CONNECTION"])),
            value=draw(st.decimals(0, 500, places=2)),
        ),
    )
    return tariff(slabs, tuple(windows), fixed, str(draw(st.decimals(0, 25, places=1))))


FIRST = date(2026, 11, 1)


@st.composite
def usage(draw: st.DrawFn) -> list[Interval]:
    days = draw(st.integers(1, 3))
    slots = draw(st.sets(st.integers(0, days * 96 - 1), min_size=1, max_size=60))
    start = datetime.combine(FIRST, time(0), IST)
    return [
        Interval(start + timedelta(minutes=15 * s), draw(st.decimals(0, 5, places=3)))
        for s in sorted(slots)
    ]


@settings(max_examples=100, deadline=None)
@given(policies(), usage(), st.decimals(0, 50, places=1))
def test_a_bill_is_the_sum_of_its_parts(
    policy: TariffPolicy, blocks: list[Interval], kw: Decimal
) -> None:
    bill = compute_bill(policy, blocks, FIRST, FIRST + timedelta(days=2), kw)
    assert bill.total == bill.energy + bill.time_of_day + bill.fixed + bill.duty
    assert bill.total == sum(line.amount for line in bill.lines)
    assert all(line.amount == line.amount.quantize(D("0.01")) for line in bill.lines)
    assert bill.kwh == sum(b.kwh for b in blocks)
    assert sum(x.quantity for x in bill.lines if x.code.startswith("energy:")) == bill.kwh


@settings(max_examples=100, deadline=None)
@given(policies(), usage(), st.data())
def test_more_consumption_never_costs_less(
    policy: TariffPolicy, blocks: list[Interval], data: st.DataObject
) -> None:
    n = data.draw(st.integers(0, len(blocks) - 1))
    more = data.draw(st.decimals(D("0.5"), 50, places=3))
    bumped = [*blocks[:n], Interval(blocks[n].start, blocks[n].kwh + more), *blocks[n + 1 :]]
    last = FIRST + timedelta(days=2)
    before = compute_bill(policy, blocks, FIRST, last, D(3))
    after = compute_bill(policy, bumped, FIRST, last, D(3))
    assert after.total > before.total
    assert after.energy >= before.energy


@settings(max_examples=100, deadline=None)
@given(policies())
def test_slab_boundaries_are_telescopic(policy: TariffPolicy) -> None:
    """At a slab's upper bound every slab below is full and the next is empty; one Wh
    more falls in the next slab, at its price."""
    plain = policy.model_copy(update={"time_of_day": (), "fixed": (), "duty_percent": D(0)})
    at = datetime.combine(FIRST, time(12), IST)
    month = (FIRST, FIRST + timedelta(days=29))
    for k, slab in enumerate(plain.slabs[:-1]):
        assert slab.end is not None
        bill = compute_bill(plain, [Interval(at, slab.end)], *month, D(0))
        units = [line.quantity for line in bill.lines]
        assert units[: k + 1] == [s.end - s.start for s in plain.slabs[: k + 1] if s.end]
        assert all(u == 0 for u in units[k + 1 :])
        over = compute_bill(plain, [Interval(at, slab.end + D("0.001"))], *month, D(0))
        assert [line.quantity for line in over.lines][k + 1] == D("0.001")
        expected = sum(((s.end - s.start) * s.price for s in plain.slabs[: k + 1] if s.end), D(0))
        assert abs(bill.energy - expected) <= D("0.005") * (k + 1)


@settings(max_examples=100, deadline=None)
@given(policies())
def test_the_ies_form_reads_back_as_published(policy: TariffPolicy) -> None:
    import json

    assert TariffPolicy.from_ies(json.loads(json.dumps(policy.to_ies()))) == policy


# ------------------------------------------------------------------ refusals


def test_blocks_outside_the_period_are_refused() -> None:
    late = Interval(datetime(2026, 11, 8, 0, 0, tzinfo=IST), D(1))
    with pytest.raises(BillingRefused, match="outside the period"):
        compute_bill(tariff(), [late], date(2026, 11, 1), date(2026, 11, 7), D(3))
    # 18:30 UTC on the 7th is midnight IST on the 8th: outside, whatever the offset.
    utc = Interval(datetime(2026, 11, 7, 18, 30, tzinfo=UTC), D(1))
    with pytest.raises(BillingRefused):
        compute_bill(tariff(), [utc], date(2026, 11, 1), date(2026, 11, 7), D(3))


def test_a_block_counted_twice_is_refused() -> None:
    at = datetime(2026, 11, 2, 10, tzinfo=IST)
    with pytest.raises(BillingRefused, match="two blocks"):
        compute_bill(
            tariff(),
            [Interval(at, D(1)), Interval(at.astimezone(UTC), D(2))],
            date(2026, 11, 1),
            date(2026, 11, 7),
            D(3),
        )


def test_negative_readings_naive_times_and_other_years_are_refused() -> None:
    week = (date(2026, 11, 1), date(2026, 11, 7))
    with pytest.raises(BillingRefused, match="negative"):
        compute_bill(tariff(), [Interval(datetime(2026, 11, 2, tzinfo=IST), D(-1))], *week, D(3))
    with pytest.raises(BillingRefused, match="UTC offset"):
        compute_bill(tariff(), [Interval(datetime(2026, 11, 2), D(1))], *week, D(3))
    with pytest.raises(BillingRefused, match="validity"):
        compute_bill(tariff(), [], date(2027, 3, 30), date(2027, 4, 2), D(3))


def test_the_night_window_runs_past_midnight() -> None:
    night = TimeOfDayCharge(id="n", start=time(22), duration=timedelta(hours=8), value=D(-10))
    assert night.covers(time(23, 45))
    assert night.covers(time(0))
    assert night.covers(time(5, 45))
    assert not night.covers(time(6))
    assert not night.covers(time(21, 45))
