"""Validation, estimation and editing (VEE) of interval data, configurable per discom.

Pure functions over readings (no I/O): the MDM practice of checking a day of block
load data (clock, completeness, duplicates, high/low, spikes, the sum of intervals
against the register delta), then estimating what is missing or failed: linear
interpolation across short gaps (up to ``max_linear_span``, 1 hour by default),
same-interval history beyond. Every reading carries its quality flag; an estimated or
edited reading keeps the meter's original value, and nothing is dropped without an
:class:`Issue` saying so.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.errors import MappingConfigInvalid
from kernel.yamlio import load_yaml


class Quality(StrEnum):
    VALIDATED = "validated"
    ESTIMATED = "estimated"
    EDITED = "edited"
    SUSPECT = "suspect"  # failed a check and left as read (estimation off or impossible)


class VeeConfig(BaseModel):
    """A discom's VEE rules (``adapters/config/vee-<discom>.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    discom: str
    max_linear_span: timedelta = timedelta(hours=1)
    high_kw: float = Field(default=50.0, gt=0, description="above this average kW, a block fails")
    low_kwh: float = Field(default=0.0, description="below this, a block fails (negative energy)")
    spike_factor: float = Field(default=10.0, gt=1)
    spike_min_kwh: float = Field(default=2.0, ge=0)
    sum_tolerance_kwh: float = Field(default=0.05, ge=0)
    min_completeness: float = Field(default=0.9, ge=0, le=1)
    estimate_failed: bool = True
    prorate_to_register: bool = True


def load_config(path: Path) -> VeeConfig:
    try:
        return VeeConfig.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, TypeError) as exc:
        raise MappingConfigInvalid(f"{path}: {exc}", file=str(path)) from None


@dataclass(frozen=True, slots=True)
class Sample:
    """A block as read from the meter or MDM: the time it closed and its energy."""

    at: datetime
    import_kwh: float
    export_kwh: float
    row: int | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One interval after VEE; ``original`` is the meter's value when it was changed."""

    start: datetime
    import_kwh: float
    export_kwh: float
    quality: Quality = Quality.VALIDATED
    method: str | None = None
    reason: str | None = None
    original: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    kind: str
    detail: str
    at: datetime | None = None
    row: int | None = None


@dataclass(slots=True)
class VeeResult:
    start: datetime
    step: timedelta
    slots: int
    readings: list[Reading]
    issues: list[Issue] = field(default_factory=list)
    unfilled: list[datetime] = field(default_factory=list)

    @property
    def completeness(self) -> float:
        valid = sum(1 for r in self.readings if r.quality is Quality.VALIDATED)
        return valid / self.slots if self.slots else 1.0


History = Mapping[int, Sequence[tuple[float, float]]]


def run(
    samples: Iterable[Sample],
    *,
    start: datetime,
    step: timedelta,
    slots: int,
    config: VeeConfig,
    history: History | None = None,
    register_delta: tuple[float, float] | None = None,
) -> VeeResult:
    """Validate and estimate one meter's blocks for ``slots`` intervals from ``start``."""
    issues: list[Issue] = []
    placed: dict[int, Reading] = {}
    failed: dict[int, Reading] = {}
    previous: datetime | None = None
    for sample in samples:
        if previous is not None and sample.at < previous:
            issues.append(
                Issue("clock-backwards", f"{sample.at} after {previous}", sample.at, sample.row)
            )
        previous = sample.at
        slot, rest = divmod(sample.at - step - start, step)
        if rest or not 0 <= slot < slots:
            kind = "off-grid" if rest else "out-of-window"
            issues.append(Issue(kind, f"block stamped {sample.at} not kept", sample.at, sample.row))
            continue
        reading = Reading(start + step * slot, sample.import_kwh, sample.export_kwh)
        existing = placed.get(slot)
        if existing is not None:
            same = (existing.import_kwh, existing.export_kwh) == (
                reading.import_kwh,
                reading.export_kwh,
            )
            issues.append(
                Issue(
                    "duplicate" if same else "duplicate-conflict",
                    f"block {reading.start} read twice"
                    + ("" if same else f": {existing.import_kwh} vs {reading.import_kwh} kWh"),
                    sample.at,
                    sample.row,
                )
            )
            if not same:
                failed[slot] = replace(existing, reason="duplicate-conflict")
            continue
        placed[slot] = reading
    for slot in failed:
        placed.pop(slot, None)
    _check_values(placed, failed, issues, step, config)
    readings: dict[int, Reading] = dict(placed)
    if not config.estimate_failed:
        for slot, bad in failed.items():
            readings[slot] = replace(bad, quality=Quality.SUSPECT)
        failed = {}
    missing = [s for s in range(slots) if s not in readings]
    if missing:
        issues.append(
            Issue(
                "incomplete-day",
                f"{len(missing)} of {slots} blocks missing or failed",
                start,
            )
        )
    unfilled = _fill(readings, failed, missing, start, step, slots, config, history or {})
    if register_delta is not None:
        _prorate_and_sum_check(readings, register_delta, config, issues, start)
    result = VeeResult(
        start,
        step,
        slots,
        [readings[s] for s in sorted(readings)],
        issues,
        [start + step * s for s in unfilled],
    )
    if result.completeness < config.min_completeness:
        issues.append(
            Issue(
                "completeness",
                f"{result.completeness:.1%} validated, below {config.min_completeness:.0%}",
                start,
            )
        )
    return result


def _check_values(
    placed: dict[int, Reading],
    failed: dict[int, Reading],
    issues: list[Issue],
    step: timedelta,
    config: VeeConfig,
) -> None:
    high = config.high_kw * step / timedelta(hours=1)
    positive = [r.import_kwh for r in placed.values() if r.import_kwh > 0]
    median = statistics.median(positive) if positive else 0.0
    for slot, reading in list(placed.items()):
        worst = min(reading.import_kwh, reading.export_kwh)
        largest = max(reading.import_kwh, reading.export_kwh)
        reason = None
        if worst < config.low_kwh:
            reason = "low"
        elif largest > high:
            reason = "high"
        elif (
            median > 0
            and reading.import_kwh > config.spike_min_kwh
            and reading.import_kwh > config.spike_factor * median
        ):
            reason = "spike"
        if reason is not None:
            issues.append(
                Issue(
                    reason,
                    f"{reading.import_kwh} kWh import, {reading.export_kwh} kWh export",
                    reading.start,
                )
            )
            failed[slot] = replace(reading, reason=reason)
            del placed[slot]


def _fill(
    readings: dict[int, Reading],
    failed: Mapping[int, Reading],
    missing: list[int],
    start: datetime,
    step: timedelta,
    slots: int,
    config: VeeConfig,
    history: History,
) -> list[int]:
    unfilled: list[int] = []
    longest = int(config.max_linear_span / step)
    runs: list[list[int]] = []
    for slot in missing:
        if runs and runs[-1][-1] == slot - 1:
            runs[-1].append(slot)
        else:
            runs.append([slot])
    for gap in runs:
        left = readings.get(gap[0] - 1)
        right = readings.get(gap[-1] + 1)
        linear = len(gap) <= longest and left is not None and right is not None
        for k, slot in enumerate(gap):
            bad = failed.get(slot)
            original = (bad.import_kwh, bad.export_kwh) if bad is not None else None
            reason = bad.reason if bad is not None else "missing"
            if linear:
                assert left is not None
                assert right is not None
                fraction = (k + 1) / (len(gap) + 1)
                values = (
                    left.import_kwh + (right.import_kwh - left.import_kwh) * fraction,
                    left.export_kwh + (right.export_kwh - left.export_kwh) * fraction,
                )
                method = "linear-interpolation"
            elif history.get(slot):
                past = history[slot]
                values = (
                    sum(p[0] for p in past) / len(past),
                    sum(p[1] for p in past) / len(past),
                )
                method = "same-interval-history"
            else:
                if bad is not None:  # keep what the meter said, flagged, rather than drop it
                    readings[slot] = replace(bad, quality=Quality.SUSPECT)
                else:
                    unfilled.append(slot)
                continue
            readings[slot] = Reading(
                start + step * slot,
                values[0],
                values[1],
                Quality.ESTIMATED,
                method,
                reason,
                original,
            )
    return unfilled


def _prorate_and_sum_check(
    readings: dict[int, Reading],
    register_delta: tuple[float, float],
    config: VeeConfig,
    issues: list[Issue],
    start: datetime,
) -> None:
    """Scale estimates so the day's intervals add up to the register delta.

    The registers are the billing truth: where they show more energy than the valid
    blocks, the estimated blocks share the rest; validated blocks never change.
    """
    for direction in (0, 1):
        valid = sum(
            _value(r, direction) for r in readings.values() if r.quality is not Quality.ESTIMATED
        )
        estimated = [s for s, r in readings.items() if r.quality is Quality.ESTIMATED]
        residual = register_delta[direction] - valid
        if config.prorate_to_register and estimated and residual >= 0:
            total = sum(_value(readings[s], direction) for s in estimated)
            for slot in estimated:
                share = (
                    _value(readings[slot], direction) / total if total > 0 else 1 / len(estimated)
                )
                readings[slot] = _with(readings[slot], direction, residual * share)
        summed = sum(_value(r, direction) for r in readings.values())
        if abs(summed - register_delta[direction]) > config.sum_tolerance_kwh:
            issues.append(
                Issue(
                    "sum-check",
                    f"{'import' if direction == 0 else 'export'} intervals sum to "
                    f"{summed:.3f} kWh, register delta is {register_delta[direction]:.3f} kWh",
                    start,
                )
            )


def _value(reading: Reading, direction: int) -> float:
    return reading.import_kwh if direction == 0 else reading.export_kwh


def _with(reading: Reading, direction: int, value: float) -> Reading:
    if direction == 0:
        return replace(reading, import_kwh=value)
    return replace(reading, export_kwh=value)


def edit(
    result: VeeResult, at: datetime, import_kwh: float, export_kwh: float, *, by: str
) -> VeeResult:
    """A manual correction of one interval: flagged edited, the original kept."""
    readings = []
    found = False
    for reading in result.readings:
        if reading.start == at:
            found = True
            original = reading.original or (reading.import_kwh, reading.export_kwh)
            reading = Reading(
                at, import_kwh, export_kwh, Quality.EDITED, f"manual:{by}", reading.reason, original
            )
        readings.append(reading)
    if not found:
        readings.append(
            Reading(at, import_kwh, export_kwh, Quality.EDITED, f"manual:{by}", "missing", None)
        )
        readings.sort(key=lambda r: r.start)
    unfilled = [u for u in result.unfilled if u != at]
    return VeeResult(
        result.start, result.step, result.slots, readings, list(result.issues), unfilled
    )
