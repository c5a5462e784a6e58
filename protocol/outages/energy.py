"""Feeder energy from integrated totals: register roll-over, gaps, reverse flow (pure).

An integrated total (IEC 60870-5-101 BCR, M_IT) is a counter that only grows and
wraps to zero at its modulus. The energy of an interval is the difference of the
readings at its edges, taken modulo the register size when the register wrapped. A
drop larger than any plausible roll-over is a register reset: that interval is
estimated, not trusted. Intervals without a reading at one edge are estimated: a
gap between two good readings shares the known total across its intervals (by the
feeder's power profile when one is given, evenly otherwise); a gap at either end
takes the mean of the known intervals.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from protocol.outages.models import EnergyTotal, PowerSample


@dataclass(frozen=True, slots=True)
class IntervalEnergy:
    start: datetime
    end: datetime
    kwh: float
    quality: str  # measured | rolled-over | estimated
    note: str = ""


def _delta(previous: int, current: int, modulus: int) -> int | None:
    """Counts between two readings, through one roll-over; None for a reset."""
    if current >= previous:
        return current - previous
    wrapped = current + modulus - previous
    # A genuine roll-over leaves the register near its top and brings it back near
    # zero; a difference of more than half the register is a reset, not energy.
    return wrapped if wrapped < modulus // 2 else None


def interval_energy(
    readings: Sequence[EnergyTotal],
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=15),
    *,
    modulus: int = 2**31,
    profile: Mapping[datetime, float] | None = None,
) -> list[IntervalEnergy]:
    """Energy of each ``step`` interval in [start, end) from counter readings at edges."""
    edges: list[datetime] = []
    t = start
    while t <= end:
        edges.append(t)
        t += step
    at_edge: dict[datetime, EnergyTotal] = {}
    for reading in readings:
        if not reading.invalid and start <= reading.at <= end:
            at_edge[reading.at] = reading
    known: dict[int, IntervalEnergy] = {}
    n = len(edges) - 1
    anchors = [k for k, e in enumerate(edges) if e in at_edge]
    for a, b in itertools.pairwise(anchors):
        first, last = at_edge[edges[a]], at_edge[edges[b]]
        counts = _delta(first.counter, last.counter, modulus)
        if counts is None:
            continue  # a reset: everything between a and b is estimated below
        kwh = counts * last.kwh_per_count
        quality = "rolled-over" if last.counter < first.counter else "measured"
        if b - a == 1:
            known[a] = IntervalEnergy(edges[a], edges[b], kwh, quality)
            continue
        weights = [
            max((profile or {}).get(edges[k], 0.0), 0.0) if profile else 1.0 for k in range(a, b)
        ]
        total = sum(weights) or float(b - a)
        weights = weights if sum(weights) else [1.0] * (b - a)
        for k, w in zip(range(a, b), weights, strict=True):
            known[k] = IntervalEnergy(
                edges[k], edges[k + 1], kwh * w / total, "estimated", "gap between readings"
            )
    measured = [e.kwh for e in known.values()]
    mean = sum(measured) / len(measured) if measured else 0.0
    out: list[IntervalEnergy] = []
    for i in range(n):
        out.append(
            known.get(i)
            or IntervalEnergy(edges[i], edges[i + 1], mean, "estimated", "no reading at an edge")
        )
    return out


@dataclass(frozen=True, slots=True)
class DerView:
    """DER Visibility for one feeder and period: no personal data, only aggregates."""

    feeder: str
    start: datetime
    end: datetime
    forward_kwh: float  # substation -> feeder
    reverse_kwh: float  # feeder -> substation (DER output beyond local load)
    reverse_intervals: int
    peak_reverse_kw: float
    der_export_kwh: float  # what prosumers' meters exported
    der_share: float  # der_export / (forward + der_export): DER part of energy used below


def der_view(
    feeder: str,
    samples: Sequence[PowerSample],
    der_export_kwh: float,
    start: datetime,
    end: datetime,
) -> DerView:
    """Integrate feeder power (trapezoid over the samples' own spacing) into energy
    each way, and relate the meters' exports to what the feeder drew."""
    points = sorted((s for s in samples if start <= s.at <= end), key=lambda s: s.at)
    forward = reverse = 0.0
    reverse_intervals = 0
    peak = 0.0
    for a, b in itertools.pairwise(points):
        hours = (b.at - a.at).total_seconds() / 3600
        mean_kw = (a.kw + b.kw) / 2
        if mean_kw >= 0:
            forward += mean_kw * hours
        else:
            reverse += -mean_kw * hours
            reverse_intervals += 1
    for s in points:
        peak = max(peak, -s.kw)
    used = forward + der_export_kwh
    return DerView(
        feeder=feeder,
        start=start,
        end=end,
        forward_kwh=forward,
        reverse_kwh=reverse,
        reverse_intervals=reverse_intervals,
        peak_reverse_kw=peak,
        der_export_kwh=der_export_kwh,
        der_share=der_export_kwh / used if used > 0 else 0.0,
    )
