"""The dataframe VEE gives adapters.vee's verdicts: same readings (values, quality,
method, reason, original), same holes, same issue kinds and counts, meter by meter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import vee
from adapters.columnar import pipeline
from adapters.columnar import vee as vee_expr
from adapters.columnar.engine import Engine
from adapters.synthetic import Network
from tests.columnar.conftest import DAY, PARTITION, STEP, raw_table

CONFIGS = {
    "default": vee.VeeConfig(discom="MSEDCL"),
    "keep-failed": vee.VeeConfig(
        discom="TPDDL", estimate_failed=False, max_linear_span=timedelta(hours=2), spike_factor=4
    ),
}


class Prepared:
    """The VEE expression compiled once per config; each example only swaps the input
    (Ibis compiles a plan this size in about a second: per example that would be most
    of the test's time)."""

    def __init__(self, engine: Engine, config: vee.VeeConfig) -> None:
        self.raw = engine.con.con
        self.raw.register("vee_input", raw_table({}))
        result = vee_expr.validate(
            engine.con.table("vee_input"), config=config, days=[PARTITION.day]
        )
        self.readings_sql = engine.con.compile(result.readings)
        self.issues_sql = engine.con.compile(result.issues)

    def run(self, table: pa.Table) -> tuple[pa.Table, pa.Table]:
        self.raw.register("vee_input", table)
        readings = self.raw.sql(self.readings_sql).to_arrow_table()
        issues = self.raw.sql(self.issues_sql).to_arrow_table()
        return readings, issues


@pytest.fixture(scope="module")
def prepared(duck: Engine) -> dict[str, Prepared]:
    return {name: Prepared(duck, config) for name, config in CONFIGS.items()}


def _compare(
    meters: Mapping[str, Sequence[vee.Sample]], config: vee.VeeConfig, prepared: Prepared
) -> None:
    readings, issues = prepared.run(raw_table(meters))
    got: dict[str, dict[int, vee.Reading]] = {}
    for row in readings.to_pylist():
        got.setdefault(row["meter"], {})[row["slot"]] = pipeline.to_reading(row)
    got_issues: dict[str, Counter[str]] = {}
    for row in issues.to_pylist():
        got_issues.setdefault(row["meter"], Counter())[row["kind"]] = row["count"]
    for meter, samples in meters.items():
        expected = vee.run(samples, start=DAY, step=STEP, slots=96, config=config)
        want = {(r.start - DAY) // STEP: r for r in expected.readings}
        have = got.get(meter, {})
        diff = {
            s: [_brief(want.get(s)), _brief(have.get(s))]
            for s in set(want) | set(have)
            if want.get(s) != have.get(s)
        }
        assert not diff, (meter, diff)
        assert got_issues.get(meter, Counter()) == Counter(i.kind for i in expected.issues)


def _brief(reading: vee.Reading | None) -> tuple[object, ...] | None:
    if reading is None:
        return None
    return (
        reading.import_kwh,
        reading.export_kwh,
        reading.quality.value,
        reading.method,
        reading.reason,
        reading.original,
    )


VALUES = st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.4, 1.0, 2.5, 3.0, 13.0, 30.0, -0.5])
EXPORTS = st.sampled_from([0.0, 0.0, 0.0, 0.2, 1.5, 13.0, -0.1])


@st.composite
def meter_day(draw: st.DrawFn) -> list[vee.Sample]:
    """A day of blocks with the faults a HES produces: gaps of every length, repeats
    (same and conflicting), stamps off the grid or outside the day, clock jumps back."""
    base = draw(st.lists(VALUES, min_size=96, max_size=96))
    dropped = draw(st.sets(st.integers(0, 95), max_size=60))
    samples = [
        vee.Sample(DAY + STEP * (s + 1), v, draw(EXPORTS) if s % 7 == 0 else 0.0)
        for s, v in enumerate(base)
        if s not in dropped
    ]
    extras = draw(
        st.lists(
            st.tuples(
                st.integers(-2, 98),
                VALUES,
                EXPORTS,
                st.sampled_from([0, 0, 0, 7]),
                st.integers(0, 120),
            ),
            max_size=8,
        )
    )
    for slot, imp, exp, seconds, position in extras:
        sample = vee.Sample(DAY + STEP * (slot + 1) + timedelta(seconds=seconds), imp, exp)
        samples.insert(min(position, len(samples)), sample)
    return samples


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    days=st.lists(meter_day(), min_size=1, max_size=6),
    config=st.sampled_from(sorted(CONFIGS)),
)
def test_dataframe_vee_matches_reference(
    days: list[list[vee.Sample]], config: str, prepared: dict[str, Prepared]
) -> None:
    meters = {f"SM{n:04d}": samples for n, samples in enumerate(days)}
    _compare(meters, CONFIGS[config], prepared[config])


def test_synthetic_feeder_with_lost_and_repeated_blocks(prepared: dict[str, Prepared]) -> None:
    """The synthetic network's load shapes (solar export at noon, EV evenings), with
    the faults of tests/adapters: lost blocks and a block read twice."""
    network = Network(seed=11, consumers=60)
    meters = {}
    for n, day in enumerate(network.days(DAY)):
        samples = [
            vee.Sample(DAY + STEP * (s + 1), i, e)
            for s, (i, e) in enumerate(zip(day.imports, day.exports, strict=True))
        ]
        if n % 3 == 0:
            samples = samples[:30] + samples[32:] + [samples[10]]
        if n % 5 == 0:
            samples = samples[:40] + samples[52:]  # three hours lost: beyond interpolation
        meters[day.consumer.meter_serial] = samples
    for name, config in CONFIGS.items():
        _compare(meters, config, prepared[name])


def test_history_estimates_match_reference(duck: Engine) -> None:
    """A gap too long to interpolate is filled from the same interval's past values."""
    config = CONFIGS["default"]
    samples = [vee.Sample(DAY + STEP * (s + 1), 0.5, 0.0) for s in range(96) if not 20 <= s < 40]
    history = {s: [(0.25, 0.0), (0.75, 0.1)] for s in range(25, 35)}
    expected = vee.run(samples, start=DAY, step=STEP, slots=96, config=config, history=history)
    past = ibis.memtable(
        {
            "meter": ["M1"] * 20,
            "slot": [s for s in range(25, 35) for _ in range(2)],
            "import_kwh": [0.25, 0.75] * 10,
            "export_kwh": [0.0, 0.1] * 10,
        }
    )
    result = vee_expr.validate(
        ibis.memtable(raw_table({"M1": samples})), config=config, days=[PARTITION.day], history=past
    )
    rows = duck.to_pyarrow(result.readings).to_pylist()
    got = {r["slot"]: pipeline.to_reading(r) for r in rows}
    assert got == {(r.start - DAY) // STEP: r for r in expected.readings}
    assert {r.method for r in got.values()} >= {"same-interval-history"}
