"""``ies bench meterdata``: rows/s for the nightly VEE + feeder/DT aggregation.

For each size (meters x one day of 96 blocks) the raw partition is generated once:
a template of 1,000 synthetic meter-days (``adapters.synthetic``, with lost, repeated,
spiking and long-missing blocks) tiled to the size under fresh meter serials, written
through the partitioned writer, with a topology file (meter -> feeder, DT). Then, each
in its own child process so that peaks are separate, each engine runs
``pipeline.nightly_vee`` (read checked, split into meter-hash buckets of
``IES_METERDATA_BUCKET_ROWS``, one VEE query per bucket, write readings and issues) plus
the per-feeder and per-DT aggregates; the child samples the RSS of its whole process tree
(the Spark JVM included) every 50 ms. The baseline, in the same run over the same
file, is ``adapters.vee.run`` meter by meter with the same aggregation in dicts
(streamed record batches; capped at ``baseline_cap`` meters, its rate reported).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from adapters import vee
from adapters.columnar import aggregates as agg
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar.engine import MeterDataSettings, connect
from adapters.synthetic import IST, Network

DAY = datetime(2026, 5, 18, tzinfo=IST)
STEP = timedelta(minutes=15)
PARTITION = ds.Partition("MH", "MSEDCL", "2026-05-18")
CONFIG = vee.VeeConfig(discom="MSEDCL")
TEMPLATE = 1000
TOPOLOGY = pa.schema([("meter", pa.string()), ("feeder", pa.string()), ("dt", pa.string())])


def _template() -> tuple[pa.Table, pa.Array]:
    """1,000 meter-days of RAW rows (meter = local index as string) and the index of
    each row's meter."""
    network = Network(seed=7, consumers=TEMPLATE)
    meters: list[int] = []
    cols: dict[str, list[object]] = {n: [] for n in ds.RAW.names}
    for k, meter_day in enumerate(network.days(DAY)):
        samples = [
            vee.Sample(DAY + STEP * (s + 1), i, e)
            for s, (i, e) in enumerate(zip(meter_day.imports, meter_day.exports, strict=True))
        ]
        if k % 7 == 0:
            samples = samples[:30] + samples[32:]
        if k % 11 == 0:
            samples.append(samples[10])
        if k % 13 == 0:
            samples = samples[:40] + samples[60:]
        if k % 17 == 0:
            samples[50] = vee.Sample(samples[50].at, 30.0, 0.0)
        for name, values in pipeline.raw_rows(str(k), samples).items():
            cols[name].extend(values)
        meters.extend([k] * len(samples))
    return pa.table(cols, schema=ds.RAW), pa.array(meters, pa.int64())


def generate(workdir: Path, meters: int) -> int:
    """Write ``meters`` meter-days into ``workdir`` (raw partition + topology); rows."""
    template, index = _template()
    store = pipeline.MeterDataStore(workdir)
    rows = 0
    topo = pq.ParquetWriter(workdir / "topology.parquet", TOPOLOGY)
    with store.raw.writer() as writer:
        for chunk in range((meters + TEMPLATE - 1) // TEMPLATE):
            count = min(TEMPLATE, meters - chunk * TEMPLATE)
            ids = [chunk * TEMPLATE + j for j in range(count)]
            names = pa.array([f"SM{i:08d}" for i in ids])
            part = template.filter(pc.less(index, count))
            local = index.filter(pc.less(index, count))
            factor = 1.0 + (chunk % 7) * 0.01
            part = part.set_column(0, "meter", names.take(local))
            part = part.set_column(2, "import_kwh", pc.multiply(part["import_kwh"], factor))
            writer.write(PARTITION, part)
            rows += part.num_rows
            topo.write_table(
                pa.table(
                    {
                        "meter": names,
                        "feeder": [f"FDR-{i // 2000:05d}" for i in ids],
                        "dt": [f"DT-{i // 100:07d}" for i in ids],
                    },
                    schema=TOPOLOGY,
                )
            )
    topo.close()
    return rows


class _PeakRss:
    """Peak resident memory of this process and all its descendants (the JVM too)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self._stop.wait(0.05)


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    pending.extend(int(k) for k in kids.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of a process and its live descendants (the JVM's included):
    on a shared machine wall time measures the neighbours, CPU time the work."""
    total = 0
    for current in _tree(pid or os.getpid()):
        try:
            with open(f"/proc/{current}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / _TICK


def _tree_rss(pid: int) -> int:
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    pending.extend(int(k) for k in kids.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_engine(workdir: Path, engine_name: str) -> dict[str, float]:
    """Child body: nightly VEE + feeder and DT aggregates on one engine."""
    with _PeakRss() as rss:
        settings = MeterDataSettings(meterdata_engine=engine_name)
        started = time.perf_counter()
        engine = connect(settings)
        ready = time.perf_counter()
        cpu_ready = tree_cpu_seconds()
        lake = pipeline.MeterDataStore(workdir)
        out = pipeline.MeterDataStore(workdir / f"out-{engine_name}")
        out.root.mkdir(exist_ok=True)
        raw_link = out.root / "raw"
        if not raw_link.exists():
            raw_link.symlink_to(lake.raw.root, target_is_directory=True)
        pipeline.nightly_vee(engine, out, [PARTITION], config=CONFIG)
        readings = engine.read_checked(out.readings, [PARTITION])
        topology = engine.read_file(workdir / "topology.parquet", TOPOLOGY)
        feeders = engine.to_pyarrow(agg.network_aggregates(readings, topology, level="feeder"))
        dts = engine.to_pyarrow(agg.network_aggregates(readings, topology, level="dt"))
        done = time.perf_counter()
        cpu = tree_cpu_seconds() - cpu_ready
        engine.close()
    return {
        "seconds": done - ready,
        "cpu": cpu,
        "startup": ready - started,
        "peak_rss": float(rss.peak),
        "feeder_rows": float(feeders.num_rows),
        "dt_rows": float(dts.num_rows),
    }


def run_baseline(workdir: Path, cap: int) -> dict[str, float]:
    """Child body: ``adapters.vee.run`` per meter and dict aggregation, streamed."""
    with _PeakRss() as rss:
        topology = {
            row["meter"]: (row["feeder"], row["dt"])
            for batch in pq.ParquetFile(workdir / "topology.parquet").iter_batches()
            for row in batch.to_pylist()
        }
        lake = pipeline.MeterDataStore(workdir)
        started = time.perf_counter()
        cpu_started = tree_cpu_seconds()
        feeders: dict[tuple[str, int], float] = defaultdict(float)
        dts: dict[tuple[str, int], float] = defaultdict(float)
        rows = meters = 0
        current: str | None = None
        samples: list[vee.Sample] = []

        def flush() -> None:
            result = vee.run(samples, start=DAY, step=STEP, slots=96, config=CONFIG)
            feeder, dt = topology[current or ""]
            for reading in result.readings:
                slot = (reading.start - DAY) // STEP
                feeders[(feeder, slot)] += reading.import_kwh
                dts[(dt, slot)] += reading.import_kwh

        for _, batch in lake.raw.batches([PARTITION]):
            columns = batch.to_pydict()
            for meter, at, imp, exp in zip(
                columns["meter"],
                columns["at"],
                columns["import_kwh"],
                columns["export_kwh"],
                strict=True,
            ):
                if meter != current:
                    if current is not None:
                        flush()
                        meters += 1
                        if meters >= cap:
                            break
                    current, samples = meter, []
                samples.append(vee.Sample(at.replace(tzinfo=UTC), imp, exp))
                rows += 1
            else:
                continue
            break
        else:
            if current is not None:
                flush()
                meters += 1
        seconds = time.perf_counter() - started
        cpu = tree_cpu_seconds() - cpu_started
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": float(rows),
        "meters": float(meters),
        "peak_rss": float(rss.peak),
    }


_CAUSE = re.compile(r"(Exception|Error)(:|\s|$)")


def _child(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.columnar.bench", *args],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        # A JVM's trace is thousands of lines whose cause is near the top: keep it all in
        # a file and name the first exception line, not just the trace's tail.
        name = f"ies-bench-{args[0]}-{os.getpid()}-{time.time_ns()}.log"
        log = Path(tempfile.gettempdir()) / name
        log.write_text(done.stderr, encoding="utf-8")
        causes = [line for line in done.stderr.splitlines() if _CAUSE.search(line)]
        first = causes[0].strip() if causes else "(no exception line)"
        raise RuntimeError(
            f"bench child {args} failed: {first}\nwhole stderr: {log}\n{done.stderr[-1500:]}"
        )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclass(frozen=True, slots=True)
class SizeResult:
    meters: int
    rows: int
    raw_bytes: float
    engines: dict[str, dict[str, float]]
    baseline: dict[str, float]


def run(
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    engines: Sequence[str] = ("duckdb", "spark"),
    *,
    baseline_cap: int = 100_000,
    workdir: Path | None = None,
) -> list[SizeResult]:
    results = []
    for meters in sizes:
        with tempfile.TemporaryDirectory(prefix="ies-bench-meterdata-", dir=workdir) as scratch:
            generated = _child("generate", scratch, str(meters))
            rows = int(generated["rows"])
            measured = {name: _child("engine", scratch, name) for name in engines}
            baseline = _child("baseline", scratch, str(baseline_cap))
            result = SizeResult(meters, rows, generated["bytes"], measured, baseline)
            print(report_size(result), flush=True)
            results.append(result)
    return results


def report_size(result: SizeResult) -> str:
    base = result.baseline
    base_rate = base["rows"] / base["seconds"]
    base_cpu_rate = base["rows"] / max(base["cpu"], 1e-9)
    lines = [
        f"meterdata: {result.meters:,} meters x 96 blocks = {result.rows:,} rows "
        f"({result.raw_bytes / result.rows:.1f} bytes/row as raw Parquet, zstd)",
        f"  plain Python adapters.vee + dict aggregation (over {int(base['meters']):,} meters): "
        f"{base_rate:,.0f} rows/s wall, {base_cpu_rate:,.0f} rows per CPU-second; "
        f"peak RSS {base['peak_rss'] / 2**20:,.0f} MiB",
    ]
    for name, figures in result.engines.items():
        rate = result.rows / figures["seconds"]
        cpu_rate = result.rows / max(figures["cpu"], 1e-9)
        lines.append(
            f"  {name:6}: VEE + write + feeder/DT aggregates {figures['seconds']:.1f} s wall "
            f"({figures['cpu']:.1f} CPU-s): {rate:,.0f} rows/s, {cpu_rate:,.0f} rows per "
            f"CPU-second ({rate / base_rate:.1f}x plain Python wall, "
            f"{cpu_rate / base_cpu_rate:.1f}x per CPU-second); peak RSS "
            f"{figures['peak_rss'] / 2**20:,.0f} MiB; engine start {figures['startup']:.1f} s"
        )
    return "\n".join(lines)


def main(sizes: Sequence[int], engines: Sequence[str], baseline_cap: int) -> None:
    run(sizes, engines, baseline_cap=baseline_cap)


def _main(argv: list[str]) -> None:
    kind, workdir = argv[0], Path(argv[1])
    if kind == "generate":
        rows = generate(workdir, int(argv[2]))
        size = sum(p.stat().st_size for p in (workdir / "raw").rglob("*.parquet"))
        out: dict[str, float] = {"rows": float(rows), "bytes": float(size)}
    elif kind == "engine":
        out = run_engine(workdir, argv[2])
    else:
        out = run_baseline(workdir, int(argv[2]))
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1:])
