"""``adapters.vee``'s rules as one dataframe expression, for every meter-day at once.

The same checks, in the same order and with the same arithmetic, as the per-meter
Python in :mod:`adapters.vee` (the reference: a property test compares the two):
clock running backwards, off-grid and out-of-window stamps, duplicates (the first read
wins; a conflicting repeat fails the block), low/high/spike against the median of the
meter-day's positive imports, then estimation of every run of missing or failed blocks
(linear across at most ``max_linear_span``, else the same interval's history, else the
failed value kept as suspect) and the completeness check.

It is written with Ibis window functions only (no UDF, no Python per row), so the same
expression runs on DuckDB and on Spark; floating-point steps are spelled so both
engines and Python do the same IEEE operations in the same order (the median as
``(a + b) / 2`` of the two middle values, interpolation as ``l + (r - l) * f``).

Not covered here: the prorating of estimates to the register delta and the sum check
(a daily register input); :func:`adapters.vee.run` remains the path for those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import ibis
import ibis.expr.types as ir

from adapters.columnar.dataset import Partition
from adapters.synthetic import IST
from adapters.vee import Quality, VeeConfig

KEYS = ("state", "discom", "day", "meter")
_TS = "timestamp('UTC', 6)"


@dataclass(frozen=True, slots=True)
class Validated:
    """The two results of a VEE run: readings (``dataset.READINGS`` + partition
    columns) and issue counts per meter-day (``dataset.ISSUES`` + partition columns)."""

    readings: ir.Table
    issues: ir.Table


def day_start(day: ir.StringValue, days: Sequence[str], zone: timezone = IST) -> ir.IntegerValue:
    """Each partition day's local midnight as epoch seconds (the VEE window's start),
    spelled as a ``CASE`` over the few days of a run (no lookup table to ship)."""
    cases = []
    for value in days:
        d = date.fromisoformat(value)
        start = int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())
        cases.append((day == value, ibis.literal(start, "int64")))
    return ibis.cases(*cases, else_=ibis.null("int64"))


def validate(
    raw: ir.Table,
    *,
    config: VeeConfig,
    days: Sequence[str],
    step: timedelta = timedelta(minutes=15),
    zone: timezone = IST,
    history: ir.Table | None = None,
    checkpoint: Callable[[ir.Table], ir.Table] = lambda table: table,
    partition: Partition | None = None,
) -> Validated:
    """VEE over ``raw`` (``dataset.RAW`` rows with partition columns) for ``days``.

    ``history``, if given, has ``meter, slot, import_kwh, export_kwh`` rows: the past
    values of that interval that ``adapters.vee`` averages when a gap is too long to
    interpolate (the mean is ``sum / count``, as in the reference).

    ``checkpoint`` marks the intermediate tables that several branches read
    (``Engine.checkpoint``: Spark persists them rather than recompute the lineage per
    branch; DuckDB's optimiser shares them itself).

    ``partition``, if given, says that ``raw`` holds one partition's rows only (one
    discom-day, or a meter-hash bucket of it; partition columns optional): every window
    and join is then keyed by the meter alone and the partition comes back as constants.
    That is the scale path (``pipeline.nightly_vee`` runs one such query per bucket):
    sorting and hashing four string keys over a whole state's day is what made the
    all-partitions plan spill and grow faster than the data.
    """
    step_s = int(step.total_seconds())
    slots = int(timedelta(days=1) / step)

    if partition is None:
        keys = list(KEYS)
        t = raw.filter(raw.day.isin(list(days)))
        t = t.mutate(at_s=t.at.epoch_seconds().cast("int64"), start_s=day_start(t.day, days, zone))
    else:
        keys = ["meter"]
        d = date.fromisoformat(partition.day)
        midnight = int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())
        t = raw.select("meter", "at", "import_kwh", "export_kwh", "row")
        t = t.mutate(
            at_s=t.at.epoch_seconds().cast("int64"), start_s=ibis.literal(midnight, "int64")
        )

    def where(table: ir.Table, column: str) -> ir.Value:
        """A partition column: the table's own, or the one partition's constant."""
        if partition is None:
            return table[column]
        return ibis.literal(getattr(partition, column), "string")

    offset = t.at_s - step_s - t.start_s
    t = t.mutate(slot=(offset.cast("float64") / step_s).floor().cast("int64"))
    t = t.mutate(rest=t.at_s - step_s - t.start_s - t.slot * step_s)
    by_row = ibis.window(group_by=keys, order_by="row")
    t = checkpoint(t.mutate(previous_at=t.at_s.lag().over(by_row)))
    off_grid = t.rest != 0
    out_of_window = ~off_grid & ((t.slot < 0) | (t.slot >= slots))
    stream_issues = t.select(
        *keys,
        kind=ibis.cases(
            (t.previous_at.notnull() & (t.at_s < t.previous_at), "clock-backwards"),
            else_=ibis.null("string"),
        ),
    ).union(
        t.select(
            *keys,
            kind=ibis.cases(
                (off_grid, "off-grid"), (out_of_window, "out-of-window"), else_=ibis.null("string")
            ),
        ),
        distinct=False,
    )

    kept = t.filter(~off_grid & ~out_of_window)
    by_slot = ibis.window(group_by=[*keys, "slot"], order_by="row")
    kept = kept.mutate(
        rn=ibis.row_number().over(by_slot),
        first_import=kept.import_kwh.first().over(by_slot),
        first_export=kept.export_kwh.first().over(by_slot),
    )
    same = (kept.import_kwh == kept.first_import) & (kept.export_kwh == kept.first_export)
    kept = kept.mutate(
        dup_kind=ibis.cases(
            ((kept.rn > 0) & same, "duplicate"),
            (kept.rn > 0, "duplicate-conflict"),
            else_=ibis.null("string"),
        )
    )
    kept = kept.mutate(  # same window as above (Ibis frames it whole): one sort, not two
        conflicted=(kept.dup_kind.fill_null("") == "duplicate-conflict")
        .cast("int8")
        .max()
        .over(by_slot)
    )
    dup_issues = kept.select(*keys, kind=kept.dup_kind)
    first = kept.filter(kept.rn == 0).select(
        *keys, "slot", "import_kwh", "export_kwh", conflicted=kept.conflicted == 1
    )

    # Median of the positive imports of the blocks that stand (not conflicted).
    positive = first.filter(~first.conflicted & (first.import_kwh > 0))
    positive = positive.mutate(
        rank=ibis.row_number().over(ibis.window(group_by=keys, order_by="import_kwh")),
        n=positive.import_kwh.count().over(ibis.window(group_by=keys)),
    )
    middle = positive.filter(
        (positive["rank"] == (positive.n - 1) // 2) | (positive["rank"] == positive.n // 2)
    )
    medians = middle.group_by(keys).aggregate(
        median=ibis.ifelse(
            middle.n.max() % 2 == 1, middle.import_kwh.max(), middle.import_kwh.sum() / 2.0
        )
    )
    checked = first.left_join(medians, keys).select(first, median=medians.median.fill_null(0.0))
    high = config.high_kw * (step / timedelta(hours=1))
    checked = checked.mutate(
        reason=ibis.cases(
            (checked.conflicted, "duplicate-conflict"),
            (ibis.least(checked.import_kwh, checked.export_kwh) < config.low_kwh, "low"),
            (ibis.greatest(checked.import_kwh, checked.export_kwh) > high, "high"),
            (
                (checked.median > 0)
                & (checked.import_kwh > config.spike_min_kwh)
                & (checked.import_kwh > config.spike_factor * checked.median),
                "spike",
            ),
            else_=ibis.null("string"),
        )
    )
    value_issues = checked.select(
        *keys,
        kind=ibis.ifelse(checked.conflicted, ibis.null("string"), checked.reason),
    )

    # The full grid of slots of every meter-day in the input.
    meter_days = t.select(*keys, "start_s").distinct()
    grid = meter_days.mutate(slot_=ibis.range(0, slots).unnest())
    grid = grid.mutate(slot=grid.slot_.cast("int64")).drop("slot_")
    checked = checkpoint(checked.mutate(hit=ibis.literal(True)))
    grid = grid.left_join(checked, [*keys, "slot"]).select(
        grid,
        value_import=checked.import_kwh,
        value_export=checked.export_kwh,
        reason=checked.reason,
        present=checked.hit.notnull(),
    )
    failed = grid.present & grid.reason.notnull()
    # Without estimation a failed block stays, flagged suspect; only absent ones are gaps.
    missing = (~grid.present | failed) if config.estimate_failed else ~grid.present
    grid = grid.mutate(missing=missing, failed=failed)
    # Runs of missing slots: the count of standing slots before a missing one names its
    # gap; the standing slots numbered c and c + 1 are its left and right neighbours.
    grid = grid.mutate(
        standing_before=(~grid.missing)
        .cast("int64")
        .sum()
        .over(ibis.window(group_by=keys, order_by="slot", preceding=None, following=0))
    )
    grid = checkpoint(grid)
    standing = grid.filter(~grid.missing).select(
        *keys, idx=grid.standing_before, n_import=grid.value_import, n_export=grid.value_export
    )
    gaps = grid.filter(grid.missing)
    gaps = gaps.mutate(
        gap_first=gaps.slot.min().over(ibis.window(group_by=[*keys, "standing_before"])),
        gap_len=gaps.slot.count().over(ibis.window(group_by=[*keys, "standing_before"])),
    )
    left = standing.view()
    right = standing.view()
    gaps = gaps.left_join(
        left, [*(gaps[k] == left[k] for k in keys), gaps.standing_before == left.idx]
    ).select(gaps, left_import=left.n_import, left_export=left.n_export)
    gaps = gaps.left_join(
        right, [*(gaps[k] == right[k] for k in keys), gaps.standing_before + 1 == right.idx]
    ).select(gaps, right_import=right.n_import, right_export=right.n_export)
    if history is not None:
        past = history.group_by(["meter", "slot"]).aggregate(
            h_n=history.import_kwh.count(),
            h_import=history.import_kwh.sum() / history.import_kwh.count().cast("float64"),
            h_export=history.export_kwh.sum() / history.export_kwh.count().cast("float64"),
        )
        gaps = gaps.left_join(past, ["meter", "slot"]).select(
            gaps, h_n=past.h_n.fill_null(0), h_import=past.h_import, h_export=past.h_export
        )
    else:
        gaps = gaps.mutate(
            h_n=ibis.literal(0, "int64"),
            h_import=ibis.null("float64"),
            h_export=ibis.null("float64"),
        )
    longest = int(config.max_linear_span / step)
    linear = (gaps.gap_len <= longest) & gaps.left_import.notnull() & gaps.right_import.notnull()
    fraction = (gaps.slot - gaps.gap_first + 1).cast("float64") / (gaps.gap_len + 1).cast("float64")
    estimated_quality = Quality.ESTIMATED.value
    gaps = gaps.mutate(
        method=ibis.cases(
            (linear, "linear-interpolation"),
            (gaps.h_n > 0, "same-interval-history"),
            else_=ibis.null("string"),
        ),
    )
    filled = gaps.select(
        *keys,
        "start_s",
        "slot",
        import_kwh=ibis.cases(
            (linear, gaps.left_import + (gaps.right_import - gaps.left_import) * fraction),
            (gaps.h_n > 0, gaps.h_import),
            else_=gaps.value_import,
        ),
        export_kwh=ibis.cases(
            (linear, gaps.left_export + (gaps.right_export - gaps.left_export) * fraction),
            (gaps.h_n > 0, gaps.h_export),
            else_=gaps.value_export,
        ),
        quality=ibis.ifelse(gaps.method.notnull(), estimated_quality, Quality.SUSPECT.value),
        method=gaps.method,
        reason=ibis.ifelse(gaps.failed, gaps.reason, "missing"),
        original_import_kwh=ibis.ifelse(
            gaps.method.notnull() & gaps.failed, gaps.value_import, ibis.null("float64")
        ),
        original_export_kwh=ibis.ifelse(
            gaps.method.notnull() & gaps.failed, gaps.value_export, ibis.null("float64")
        ),
        keep=gaps.method.notnull() | gaps.failed,  # a missing block with no estimate: a hole
    )
    filled = filled.filter(filled.keep).drop("keep")
    standing_rows = grid.filter(~grid.missing).select(
        *keys,
        "start_s",
        "slot",
        import_kwh=grid.value_import,
        export_kwh=grid.value_export,
        quality=ibis.ifelse(grid.failed, Quality.SUSPECT.value, Quality.VALIDATED.value),
        method=ibis.null("string"),
        reason=grid.reason,
        original_import_kwh=ibis.null("float64"),
        original_export_kwh=ibis.null("float64"),
    )
    readings = standing_rows.union(filled, distinct=False)
    readings = readings.select(
        meter=readings.meter,
        slot=readings.slot,
        start=(readings.start_s + readings.slot * step_s).as_timestamp("s").cast(_TS),
        import_kwh=readings.import_kwh.cast("float64"),
        export_kwh=readings.export_kwh.cast("float64"),
        quality=readings.quality.cast("string"),
        method=readings.method.cast("string"),
        reason=readings.reason.cast("string"),
        original_import_kwh=readings.original_import_kwh.cast("float64"),
        original_export_kwh=readings.original_export_kwh.cast("float64"),
        state=where(readings, "state"),
        discom=where(readings, "discom"),
        day=where(readings, "day"),
    )

    per_day = grid.group_by(keys).aggregate(
        n_missing=grid.missing.cast("int64").sum(),
        n_valid=(grid.present & ~grid.failed).cast("int64").sum(),
    )
    day_issues = per_day.select(
        *keys, kind=ibis.ifelse(per_day.n_missing > 0, "incomplete-day", ibis.null("string"))
    ).union(
        per_day.select(
            *keys,
            kind=ibis.ifelse(
                per_day.n_valid.cast("float64") / float(slots) < config.min_completeness,
                "completeness",
                ibis.null("string"),
            ),
        ),
        distinct=False,
    )
    events = ibis.union(stream_issues, dup_issues, value_issues, day_issues, distinct=False)
    events = events.filter(events.kind.notnull())
    issues = events.group_by([*keys, "kind"]).aggregate(count=events.count().cast("int64"))
    issues = issues.select(
        "meter",
        "kind",
        "count",
        state=where(issues, "state"),
        discom=where(issues, "discom"),
        day=where(issues, "day"),
    )
    return Validated(readings, issues)
