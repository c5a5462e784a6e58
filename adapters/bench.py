"""``ies bench adapters``: readings/s through decode + VEE + MeterData mapping.

10,000 meters x 1 day of 15-minute block load data by default. Each meter's buffer is
made by the simulator just before it is read and dropped after, so memory stays flat
(streamed, not held). The baseline, measured in the same run over the same bytes, is
the least a reader can do: a fixed-offset ``struct`` walk of the rows.
"""

from __future__ import annotations

import resource
import struct
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime

from adapters import hes, vee
from adapters.dlms import profiles, simulator
from adapters.synthetic import IST, Network
from schemas.meterdata import dump


@dataclass(frozen=True, slots=True)
class BenchResult:
    meters: int
    readings: int
    seconds: float
    baseline_seconds: float
    peak_traced_mib: float
    max_rss_mib: float

    @property
    def readings_per_second(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else 0.0


# A block load row: structure(4) | octet-string(12) date-time | long-unsigned | 2 x uint32.
_ROW = struct.Struct(">BB BB12s BH BI BI".replace(" ", ""))


def _baseline(buffer: bytes) -> float:
    count = buffer[1]
    total = 0.0
    for i in range(count):
        *_, imp, _t2, exp = _ROW.unpack_from(buffer, 2 + i * _ROW.size)
        total += imp / 1000 + exp / 1000
    return total


def run(meters: int = 10_000, *, seed: int = 7, traced_meters: int = 500) -> BenchResult:
    """Time the whole run untraced, then trace memory over ``traced_meters`` of it
    (tracemalloc slows Python several times; the stream's peak does not grow with meters)."""
    seconds, baseline, readings = _pass(meters, seed, trace=False)[:3]
    peak = _pass(min(meters, traced_meters), seed, trace=True)[3]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return BenchResult(meters, readings, seconds, baseline, peak, rss)


def _pass(meters: int, seed: int, *, trace: bool) -> tuple[float, float, int, float]:
    network = Network(seed=seed, consumers=meters)
    day = datetime(2026, 5, 18, tzinfo=IST)
    step = network.step
    config = vee.VeeConfig(discom="bench")
    scalers = profiles.parse_scalers(simulator.BLOCK_LOAD_SCALERS, profiles.BLOCK_LOAD)
    readings = 0
    pipeline = baseline = 0.0
    if trace:
        tracemalloc.start()
    for meter_day in network.days(day):
        buffer = simulator.block_load_buffer(
            simulator.blocks_from_kwh(day, step, meter_day.imports, meter_day.exports)
        )
        t0 = time.perf_counter()
        _baseline(buffer)
        t1 = time.perf_counter()
        profile, _ = hes.read_day(
            meter_day.consumer.meter_serial, buffer, scalers, start=day, step=step, config=config
        )
        dump([profile])
        t2 = time.perf_counter()
        baseline += t1 - t0
        pipeline += t2 - t1
        readings += network.slots
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    if trace:
        tracemalloc.stop()
    return pipeline, baseline, readings, peak


def report(result: BenchResult) -> str:
    return "\n".join(
        [
            f"adapters: {result.meters} meters x 1 day of 15-minute blocks = "
            f"{result.readings} readings (x2 channels)",
            f"  decode + VEE + MeterData mapping: {result.seconds:.2f} s, "
            f"{result.readings_per_second:,.0f} readings/s",
            f"  baseline (raw struct walk of the same bytes): {result.baseline_seconds:.3f} s; "
            f"ratio {result.ratio:.1f}x",
            f"  peak traced Python memory while streaming {result.peak_traced_mib:.2f} MiB; "
            f"process max RSS {result.max_rss_mib:.0f} MiB",
        ]
    )


def main(meters: int = 10_000) -> None:
    print(report(run(meters)))
