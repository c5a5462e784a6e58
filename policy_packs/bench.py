"""``ies bench policy``: decisions per second and p50/p99 per domain, embedded engine.

Each decision is the whole public path (pick the pack in force, set the input, query
the compiled entrypoint, build the contract with clauses). The baseline, measured in
the same run on the same interpreter library, is a trivial Rego document queried the
same way, so the ratio shows what the packs' rules cost over the interpreter's floor.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import regopy
from rich.console import Console
from rich.table import Table

from policy_packs.decision import decide
from policy_packs.engine import EmbeddedEngine
from policy_packs.manifest import DOMAINS
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, load_catalogue
from policy_packs.signing import FileKeyring

TARGET_P50_MS = 1.0


@dataclass(frozen=True)
class Timing:
    name: str
    count: int
    per_second: float
    p50_ms: float
    p99_ms: float


def _time(name: str, call: Callable[[int], object], iterations: int) -> Timing:
    for index in range(min(200, iterations)):
        call(index)  # warm caches and the allocator before measuring
    samples = []
    started = time.perf_counter()
    for index in range(iterations):
        t0 = time.perf_counter_ns()
        call(index)
        samples.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Timing(name, iterations, iterations / elapsed, cuts[49] / 1e6, cuts[98] / 1e6)


def _baseline(iterations: int) -> Timing:
    interpreter = regopy.Interpreter()
    interpreter.add_module(
        "baseline.rego", "package bench.baseline\n\nimport rego.v1\n\nallow := input.x == 1\n"
    )
    bundle = interpreter.build(None, ["bench/baseline/allow"])

    def call(index: int) -> object:
        interpreter.set_input(regopy.Input({"x": index % 2}))
        output = interpreter.query_bundle_entrypoint(bundle, "bench/baseline/allow")
        return output[0].expressions if str(output) != "undefined" else None

    return _time("baseline (trivial Rego)", call, iterations)


def run(
    iterations: int = 5000, jurisdiction: str = "IN-MH", as_of: str = "2025-06-01"
) -> list[Timing]:
    """Measure, print a table, and return the timings (baseline first)."""
    catalogue = load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))
    engine = EmbeddedEngine()
    on = dt.date.fromisoformat(as_of)
    timings = [_baseline(iterations)]
    for domain in DOMAINS:
        pack = catalogue.select(jurisdiction, domain, on)
        engine.prepare(pack)
        inputs = [case.input for case in pack.cases if case.domain == domain]

        def call(
            index: int, domain: str = domain, inputs: list[dict[str, object]] = inputs
        ) -> object:
            return decide(
                catalogue,
                engine,
                jurisdiction=jurisdiction,
                domain=domain,  # type: ignore[arg-type]  # iterating DOMAINS
                document=inputs[index % len(inputs)],
                as_of=on,
            )

        timings.append(_time(domain, call, iterations))
    _print(timings, jurisdiction, as_of)
    return timings


def _print(timings: list[Timing], jurisdiction: str, as_of: str) -> None:
    baseline = timings[0]
    table = Table(title=f"policy decisions, embedded regopy ({jurisdiction}, as of {as_of})")
    for column in ("domain", "decisions/s", "p50 ms", "p99 ms", "p50 / baseline", "p50 < 1 ms"):
        table.add_column(column, justify="right" if column != "domain" else "left")
    for timing in timings:
        table.add_row(
            timing.name,
            f"{timing.per_second:,.0f}",
            f"{timing.p50_ms:.3f}",
            f"{timing.p99_ms:.3f}",
            f"{timing.p50_ms / baseline.p50_ms:.1f}x",
            "yes" if timing.p50_ms < TARGET_P50_MS else "NO",
        )
    Console(width=max(100, Console().width)).print(table)
