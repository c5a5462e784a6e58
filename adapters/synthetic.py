"""A seeded, deterministic synthetic distribution network for the sandbox and benchmarks.

Consumers per category with daily and seasonal load shapes (Indian summer peak in
May, evening residential peak, daytime commercial, shift-wise industrial, night-time
agricultural pumping), rooftop solar that exports at noon, EV charging in the
evening, and a feeder whose input equals the sum of its meters plus technical losses
(resistive, growing with the square of load) and commercial losses (unmetered draw).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30))

CATEGORIES = ("domestic", "commercial", "industrial", "agricultural")
_MIX = (0.78, 0.14, 0.03, 0.05)
_SANCTIONED_KW = {"domestic": 3.0, "commercial": 8.0, "industrial": 40.0, "agricultural": 7.5}
_DAILY_KWH = {"domestic": 6.0, "commercial": 30.0, "industrial": 300.0, "agricultural": 25.0}


def _shape(category: str, hour: float) -> float:
    """Relative load at ``hour`` of the day (unnormalised)."""
    if category == "domestic":
        return 0.35 + 0.5 * math.exp(-((hour - 7.5) ** 2) / 3) + math.exp(-((hour - 20.5) ** 2) / 4)
    if category == "commercial":
        return 0.15 + (1.0 if 9.5 <= hour < 21 else 0.0)
    if category == "industrial":
        return 0.6 + (0.4 if 6 <= hour < 22 else 0.0)
    return 1.0 if hour < 6 or hour >= 22 else 0.1  # agricultural pumps on night supply


def _season(day: datetime) -> float:
    """Summer (May) peak, monsoon dip: a cosine over the day of the year."""
    return 1.0 + 0.25 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 135) / 365)


@dataclass(frozen=True, slots=True)
class Consumer:
    number: str
    category: str
    sanctioned_kw: float
    meter_serial: str
    solar_kw: float
    ev_kw: float
    scale: float


@dataclass(frozen=True, slots=True)
class MeterDay:
    consumer: Consumer
    start: datetime
    imports: tuple[float, ...]
    exports: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class FeederDay:
    feeder: str
    start: datetime
    input_kwh: tuple[float, ...]
    metered_kwh: tuple[float, ...]
    technical_loss_kwh: tuple[float, ...]
    commercial_loss_kwh: tuple[float, ...]


class Network:
    """One feeder's consumers; every figure is a pure function of the seed."""

    def __init__(
        self,
        *,
        seed: int,
        consumers: int,
        feeder: str = "FDR-001",
        step: timedelta = timedelta(minutes=15),
        technical_loss: float = 0.06,
        commercial_loss: float = 0.08,
    ) -> None:
        self.seed = seed
        self.feeder = feeder
        self.step = step
        self.technical_loss = technical_loss
        self.commercial_loss = commercial_loss
        rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
        self.consumers: list[Consumer] = []
        for n in range(consumers):
            category = rng.choices(CATEGORIES, _MIX)[0]
            solar = rng.choice((3.0, 5.0)) if category == "domestic" and rng.random() < 0.12 else 0
            ev = rng.choice((3.3, 7.4)) if category == "domestic" and rng.random() < 0.06 else 0
            self.consumers.append(
                Consumer(
                    number=f"{seed % 1000:03d}{n:09d}",
                    category=category,
                    sanctioned_kw=_SANCTIONED_KW[category] * rng.choice((1, 1, 2)),
                    meter_serial=f"SM{seed % 100:02d}{n:08d}",
                    solar_kw=float(solar),
                    ev_kw=float(ev),
                    scale=rng.lognormvariate(0, 0.35),
                )
            )

    @property
    def slots(self) -> int:
        return int(timedelta(days=1) / self.step)

    def meter_day(self, consumer: Consumer, day: datetime) -> MeterDay:
        rng = random.Random(f"{self.seed}:{consumer.number}:{day.date()}")  # noqa: S311
        hours = self.step / timedelta(hours=1)
        shape = [_shape(consumer.category, (i + 0.5) * hours) for i in range(self.slots)]
        total = sum(shape)
        daily = _DAILY_KWH[consumer.category] * consumer.scale * _season(day)
        clouds = 0.6 + 0.4 * rng.random()
        ev_start = rng.randrange(int(19 / hours), int(22 / hours)) if consumer.ev_kw else -1
        ev_blocks = int(rng.uniform(1.5, 3.5) / hours) if consumer.ev_kw else 0
        imports, exports = [], []
        for i in range(self.slots):
            hour = (i + 0.5) * hours
            load = daily * shape[i] / total * rng.uniform(0.85, 1.15)
            if ev_start <= i < ev_start + ev_blocks:
                load += consumer.ev_kw * hours
            sun = max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0
            solar = consumer.solar_kw * hours * 0.8 * sun * clouds
            net = load - solar
            imports.append(round(max(net, 0.0), 3))
            exports.append(round(max(-net, 0.0), 3))
        return MeterDay(consumer, day, tuple(imports), tuple(exports))

    def days(self, day: datetime) -> Iterator[MeterDay]:
        for consumer in self.consumers:
            yield self.meter_day(consumer, day)

    def feeder_day(self, day: datetime) -> FeederDay:
        metered = [0.0] * self.slots
        for meter_day in self.days(day):
            for i in range(self.slots):
                metered[i] += meter_day.imports[i] - meter_day.exports[i]
        peak = max(max(metered), 1e-9)
        # Resistive loss grows with the square of current; scaled so the day's share is
        # about ``technical_loss`` of input.
        squares = [max(m, 0.0) ** 2 / peak for m in metered]
        k = self.technical_loss * sum(metered) / max(sum(squares), 1e-9)
        technical = [k * s for s in squares]
        commercial = [max(m, 0.0) * self.commercial_loss for m in metered]
        inputs = [m + t + c for m, t, c in zip(metered, technical, commercial, strict=True)]
        return FeederDay(
            self.feeder, day, tuple(inputs), tuple(metered), tuple(technical), tuple(commercial)
        )
