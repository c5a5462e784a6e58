"""``ies bench registry``: bulk import rate, HTTP resolve latency, import memory.

Each import runs in its own process so its peak memory (ru_maxrss) is its own;
two file sizes show whether memory stays flat as the file grows. Latency is
reported beside the same server's /healthz latency measured in the same run, the
HTTP floor on this (shared, noisy) machine.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kernel.database import create_db_engine, session_scope
from kernel.migrations import upgrade

console = Console()
MIGRATIONS = "registry:migrations"
MANUFACTURERS = ("SECURE", "LNT", "GENUS", "HPL", "AVON")
DISCOMS = (("IN-MH", "MSEDCL"), ("IN-KA", "BESCOM"), ("IN-UP", "PVVNL"), ("IN-GJ", "UGVCL"))


def write_meter_file(path: Path, count: int, seed: int = 7) -> None:
    """A CSV of ``count`` meters as a discom's MDM would list them."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "type",
                "legacy_scheme",
                "legacy_scope",
                "legacy_id",
                "state",
                "discom",
                "pincode",
                "attr.manufacturer",
                "attr.phase",
                "attr.kind",
            ]
        )
        for n in range(count):
            state, discom = DISCOMS[n % len(DISCOMS)]
            maker = MANUFACTURERS[n % len(MANUFACTURERS)]
            writer.writerow(
                [
                    "meter",
                    "meter_serial",
                    maker,
                    f"{maker[:2]}{n:09d}",
                    state,
                    discom,
                    f"{rng.randint(110001, 855999)}",
                    maker,
                    rng.choice((1, 1, 1, 3)),
                    "smart",
                ]
            )


def import_worker(database_url: str, file: str, batch_size: int) -> dict[str, Any]:
    """Runs in a child process: import ``file`` and report rate and peak memory."""
    from registry import service
    from registry.cli import tune_gc_for_bulk
    from registry.ownership import EVERY_DISCOM
    from registry.rows import parse_rows, read_csv

    tune_gc_for_bulk()  # as `ies registry import` does
    engine = create_db_engine(database_url)
    upgrade(engine, MIGRATIONS)
    started = time.perf_counter()
    with open(file, encoding="utf-8", newline="") as handle, session_scope(engine) as session:
        report = service.import_rows(
            session,
            parse_rows(read_csv(handle)),
            source=Path(file).name,
            fmt="csv",
            batch_size=batch_size,
            scope=EVERY_DISCOM,
        )
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "rows": report.rows,
        "created": report.created,
        "failed": report.failed,
        "seconds": seconds,
        "rows_per_s": report.rows / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_import(database_url: str, file: Path, batch_size: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.bench",
            "import-worker",
            database_url,
            str(file),
            str(batch_size),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_resolve(database_url: str, count: int, requests: int) -> dict[str, float]:
    """p50/p99 of GET /resolve against a real uvicorn, and of /healthz as the floor."""
    port = _free_port()
    env = {
        **os.environ,
        "IES_DATABASE_URL": database_url,
        "IES_LOG_LEVEL": "WARNING",
        "IES_MIGRATE_ON_START": "false",
        "IES_RATE_PER_ADDRESS": "0",  # the bench measures latency, not the abuse limit
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "registry.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            rng = random.Random(11)

            def timed(path: str, params: dict[str, str] | None = None) -> float:
                started = time.perf_counter()
                response = client.get(path, params=params)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
                return elapsed * 1000

            floor = [timed("/healthz") for _ in range(requests)]
            samples = []
            for _ in range(requests):
                n = rng.randrange(count)
                maker = MANUFACTURERS[n % len(MANUFACTURERS)]
                params = {"scheme": "meter_serial", "scope": maker, "value": f"{maker[:2]}{n:09d}"}
                samples.append(timed("/resolve", params))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "p50_ms": _percentile(samples, 0.50),
        "p99_ms": _percentile(samples, 0.99),
        "floor_p50_ms": _percentile(floor, 0.50),
        "floor_p99_ms": _percentile(floor, 0.99),
        "per_s": 1000 / (sum(samples) / len(samples)),
    }


def _fresh_postgres(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def run(meters: int, postgres_url: str | None, resolves: int, batch_size: int = 5000) -> None:
    postgres_url = postgres_url or os.environ.get("IES_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="ies-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        small, large = max(1, meters // 10), meters
        console.print(f"writing {large:,} and {small:,} meter rows …")
        write_meter_file(scratch / "large.csv", large)
        write_meter_file(scratch / "small.csv", small)
        results: dict[str, dict[str, Any]] = {}
        sqlite_url = f"sqlite:///{scratch}/large.db"
        console.print("importing into SQLite …")
        results["sqlite small"] = _run_import(
            f"sqlite:///{scratch}/small.db", scratch / "small.csv", batch_size
        )
        results["sqlite"] = _run_import(sqlite_url, scratch / "large.csv", batch_size)
        console.print("importing again (idempotent re-run) …")
        results["sqlite re-run"] = _run_import(sqlite_url, scratch / "large.csv", batch_size)
        pg_db = None
        if postgres_url:
            console.print("importing into PostgreSQL …")
            pg_db = _fresh_postgres(postgres_url)
            results["postgres"] = _run_import(pg_db, scratch / "large.csv", batch_size)
        else:
            console.print(
                "[yellow]no PostgreSQL: pass --postgres-url or run "
                "scripts/with-postgres .venv/bin/ies bench registry[/yellow]"
            )
        console.print("timing /resolve over HTTP …")
        latency = {"sqlite": measure_resolve(sqlite_url, large, resolves)}
        if pg_db:
            latency["postgres"] = measure_resolve(pg_db, large, resolves)

    table = Table(title=f"bulk import of meters (batch {batch_size})")
    for column in ("store", "rows", "created", "seconds", "rows/s", "peak RSS MB"):
        table.add_column(column, justify="right")
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['rows']:,}",
            f"{r['created']:,}",
            f"{r['seconds']:.1f}",
            f"{r['rows_per_s']:,.0f}",
            f"{r['peak_rss_mb']:.0f}",
        )
    console.print(table)
    growth = results["sqlite"]["peak_rss_mb"] / results["sqlite small"]["peak_rss_mb"]
    console.print(
        f"memory: {large // small}x the rows took {growth:.2f}x the peak RSS (flat means streaming)"
    )
    lat = Table(title=f"GET /resolve over HTTP, {resolves} sequential requests, {large:,} meters")
    for column in ("store", "p50 ms", "p99 ms", "/healthz p50 ms", "ratio p50 to floor", "req/s"):
        lat.add_column(column, justify="right")
    for name, r in latency.items():
        lat.add_row(
            name,
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['floor_p50_ms']:.2f}",
            f"{r['p50_ms'] / r['floor_p50_ms']:.2f}",
            f"{r['per_s']:,.0f}",
        )
    console.print(lat)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "import-worker":
        print(json.dumps(import_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        raise SystemExit("usage: python -m registry.bench import-worker URL FILE BATCH")
