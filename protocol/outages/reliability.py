"""IEEE 1366-2012 distribution reliability indices, as pure functions.

SAIFI = Σ Nᵢ / N_T          (sustained interruptions per customer served)
SAIDI = Σ rᵢ·Nᵢ / N_T       (minutes of sustained interruption per customer served)
CAIDI = SAIDI / SAIFI       (minutes per interruption experienced)
MAIFI = Σ IMᵢ·N_mi / N_T    (momentary interruptions per customer served)

Nᵢ customers interrupted by event i, rᵢ its duration, N_T customers served. An
interruption of five minutes or less is momentary (§2). Major event days (§4.5,
the "2.5 beta" method): over a history of daily SAIDI (days with SAIDI 0 left out,
since ln 0 is undefined), α is the mean and β the standard deviation of ln(SAIDI);
T_MED = exp(α + 2.5·β), and a day whose SAIDI exceeds T_MED is a major event day.
Indices are reported with and without those days. An interruption is accrued to
the day on which it began (§4.5).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from protocol.outages.models import MOMENTARY_THRESHOLD

IST = timezone(timedelta(hours=5, minutes=30))


@dataclass(frozen=True, slots=True)
class Interruption:
    feeder: str
    start: datetime
    end: datetime
    customers: int
    planned: bool = False

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60

    def momentary(self, threshold: timedelta = MOMENTARY_THRESHOLD) -> bool:
        return self.end - self.start <= threshold

    def day(self) -> date:
        return self.start.astimezone(IST).date()


@dataclass(frozen=True, slots=True)
class Indices:
    customers_served: int
    customers_interrupted: int  # Σ Nᵢ over sustained interruptions
    customer_minutes: float  # Σ rᵢ·Nᵢ
    momentary_customer_interruptions: int  # Σ IMᵢ·N_mi
    saifi: float
    saidi: float
    caidi: float
    maifi: float


def indices(
    interruptions: Iterable[Interruption],
    customers_served: int,
    *,
    threshold: timedelta = MOMENTARY_THRESHOLD,
) -> Indices:
    if customers_served <= 0:
        raise ValueError("customers served (N_T) must be positive")
    ci = 0
    cmi = 0.0
    momentary = 0
    for item in interruptions:
        if item.end < item.start:
            raise ValueError(f"an interruption of {item.feeder} ends before it starts")
        if item.momentary(threshold):
            momentary += item.customers
        else:
            ci += item.customers
            cmi += item.minutes * item.customers
    saifi = ci / customers_served
    saidi = cmi / customers_served
    return Indices(
        customers_served=customers_served,
        customers_interrupted=ci,
        customer_minutes=cmi,
        momentary_customer_interruptions=momentary,
        saifi=saifi,
        saidi=saidi,
        caidi=saidi / saifi if saifi else 0.0,
        maifi=momentary / customers_served,
    )


def daily_saidi(
    interruptions: Iterable[Interruption],
    customers_served: int,
    *,
    threshold: timedelta = MOMENTARY_THRESHOLD,
) -> dict[date, float]:
    """SAIDI of each day (minutes), sustained interruptions accrued to their first day."""
    minutes: dict[date, float] = defaultdict(float)
    for item in interruptions:
        if not item.momentary(threshold):
            minutes[item.day()] += item.minutes * item.customers
    return {day: cmi / customers_served for day, cmi in sorted(minutes.items())}


def major_event_threshold(history: Mapping[date, float]) -> float | None:
    """T_MED from a history of daily SAIDI (IEEE 1366 uses five years); None if too short."""
    logs = [math.log(v) for v in history.values() if v > 0]
    if len(logs) < 2:
        return None
    alpha = sum(logs) / len(logs)
    beta = math.sqrt(sum((x - alpha) ** 2 for x in logs) / (len(logs) - 1))
    return math.exp(alpha + 2.5 * beta)


@dataclass(frozen=True, slots=True)
class Report:
    all_days: Indices
    excluding_major_events: Indices
    major_event_days: tuple[date, ...]
    t_med: float | None


def report(
    interruptions: Iterable[Interruption],
    customers_served: int,
    history: Mapping[date, float],
    *,
    threshold: timedelta = MOMENTARY_THRESHOLD,
) -> Report:
    """Indices over ``interruptions``, and again without the major event days that
    ``history`` (daily SAIDI of earlier years) identifies."""
    items = list(interruptions)
    t_med = major_event_threshold(history)
    days = daily_saidi(items, customers_served, threshold=threshold)
    meds = tuple(d for d, v in days.items() if t_med is not None and v > t_med)
    normal = [i for i in items if i.day() not in meds]
    return Report(
        all_days=indices(items, customers_served, threshold=threshold),
        excluding_major_events=indices(normal, customers_served, threshold=threshold),
        major_event_days=meds,
        t_med=t_med,
    )
