"""The ``ies`` command: every building block's commands, the benchmarks, the sandbox."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli import app as adapters_app
from consent.cli import app as consent_app
from credentials.cli import app as credentials_app
from policy_packs.cli import app as policy_app
from registry.cli import app as registry_app
from sandbox.conformance.cli import app as conformance_app

app = typer.Typer(
    help="The IES reference stack: registry, credentials, consent, exchange, policy, sandbox.",
    no_args_is_help=True,
)
bench_app = typer.Typer(help="Benchmarks: throughput, latency percentiles, same-run baselines.")
db_app = typer.Typer(help="Database migrations of each building block.")

app.add_typer(registry_app, name="registry")
app.add_typer(adapters_app, name="adapters")
app.add_typer(policy_app, name="policy")
app.add_typer(credentials_app, name="credentials")
app.add_typer(consent_app, name="consent")
app.add_typer(bench_app, name="bench")
app.add_typer(db_app, name="db")
app.add_typer(conformance_app, name="conformance")

# Every building block with tables: its alembic script location (its own history).
MIGRATION_PACKAGES = {
    "registry": "registry:migrations",
    "registry.ledger": "registry.ledger:migrations",
    "policy_packs": "policy_packs:migrations",
    "credentials": "credentials:migrations",
    "credentials.signin": "credentials.signin:migrations",
    "consent": "consent:migrations",
    "protocol": "protocol:migrations",
    "protocol.outages": "protocol.outages:migrations",
    "protocol.filings": "protocol.filings:migrations",
    "protocol.der": "protocol.der:migrations",
    "protocol.market": "protocol.market:migrations",
    "sandbox.participants.der_requests": "sandbox.participants.der_requests:migrations",
}


@app.command("sandbox")
def sandbox(
    check: Annotated[
        bool, typer.Option("--check", help="run headless, verify, exit non-zero on failure")
    ] = False,
    port: Annotated[int, typer.Option(help="first port of the network")] = 8100,
    data_dir: Annotated[str, typer.Option(help="where the SQLite files live")] = "var/sandbox",
    tls: Annotated[
        bool, typer.Option("--tls", help="every participant on HTTPS, with the run's own CA")
    ] = False,
) -> None:
    """Start the local network on 127.0.0.1, seed it, play the use cases."""
    from sandbox.network import run_sandbox

    raise typer.Exit(run_sandbox(check=check, first_port=port, data_dir=data_dir, tls=tls))


@bench_app.command("registry")
def bench_registry(
    meters: Annotated[int, typer.Option(help="rows in the bulk import")] = 1_000_000,
    postgres_url: Annotated[
        str | None,
        typer.Option(help="a PostgreSQL server URL; default: a throwaway one started here"),
    ] = None,
    resolves: Annotated[int, typer.Option(help="HTTP resolve requests to time")] = 2000,
) -> None:
    """Bulk import rate (SQLite, PostgreSQL), HTTP resolve p50/p99, import memory."""
    from registry.bench import run

    run(meters=meters, postgres_url=postgres_url, resolves=resolves)


@bench_app.command("adapters")
def bench_adapters(
    meters: Annotated[int, typer.Option(help="meters, one day of 15-minute blocks each")] = 10_000,
) -> None:
    """Readings/s through DLMS decode + VEE + MeterData mapping, baseline ratio, memory."""
    from adapters.bench import main

    main(meters)


@bench_app.command("meterdata")
def bench_meterdata(
    sizes: Annotated[str, typer.Option(help="meters, comma-separated")] = "10000,100000,1000000",
    engines: Annotated[str, typer.Option(help="duckdb and/or spark")] = "duckdb,spark",
    baseline_cap: Annotated[int, typer.Option(help="meters the plain-Python VEE runs")] = 100_000,
) -> None:
    """Nightly VEE + feeder/DT aggregates: rows/s on DuckDB and Spark local, peak RSS per
    size (a child process each), ratio to plain-Python adapters.vee in the same run."""
    from adapters.columnar.bench import main as bench_main

    bench_main(
        [int(s) for s in sizes.split(",")], [e.strip() for e in engines.split(",")], baseline_cap
    )


@bench_app.command("policy")
def bench_policy(
    iterations: Annotated[int, typer.Option(help="decisions timed per domain")] = 5000,
) -> None:
    """Policy decisions per second and p50/p99 per domain, embedded engine, with a baseline."""
    from policy_packs.bench import run

    run(iterations=iterations)


@bench_app.command("directory")
def bench_directory(
    keys: Annotated[int, typer.Option(help="subscriber keys published")] = 500,
    lookups: Annotated[int, typer.Option(help="cached lookups timed")] = 100_000,
) -> None:
    """Signing-key lookups/s cached and uncached, p50/p99, against a dict and Ed25519 verify."""
    from registry.directory.bench import run

    run(keys=keys, lookups=lookups)


@bench_app.command("consent")
def bench_consent(
    checks: Annotated[int, typer.Option(help="consent checks timed on the data path")] = 2000,
    repeats: Annotated[int, typer.Option(help="meter-year serves timed")] = 7,
) -> None:
    """Consent checks/s on the data path; one meter-year of 15-minute MeterData through
    the gate vs the same MeterData serialised without it."""
    from consent.bench import run

    run(checks=checks, repeats=repeats)


@bench_app.command("credentials")
def bench_credentials(
    seconds: Annotated[float, typer.Option(help="seconds measured per format and step")] = 1.5,
) -> None:
    """Issue/s and verify/s per proof format, with ratios to raw Ed25519 sign/verify."""
    from credentials.bench import main as bench_main

    bench_main(seconds)


@bench_app.command("telemetry")
def bench_telemetry(
    feeders: Annotated[int, typer.Option(help="feeders tripped and reclosed")] = 50,
) -> None:
    """IEC 104 RTU -> detection -> signed notice: events/s, trip-to-notice p50/p99."""
    from adapters.iec104.bench import main

    main(feeders)


@bench_app.command("exchange")
def bench_exchange(
    iterations: Annotated[int, typer.Option(help="in-process pipeline runs timed")] = 3000,
    round_trips: Annotated[int, typer.Option(help="HTTP round trips through the gateway")] = 1000,
) -> None:
    """Signed exchange: pipelines vs raw Ed25519, round trips/s through the gateway, p50/p99."""
    from protocol.bench import run

    run(iterations=iterations, round_trips=round_trips)


@db_app.command("upgrade")
def db_upgrade(
    package: Annotated[str, typer.Argument(help="building block, e.g. registry")],
    database_url: Annotated[str, typer.Option(envvar="IES_DATABASE_URL")],
) -> None:
    """Bring one building block's tables to the newest revision."""
    from kernel.database import create_db_engine
    from kernel.migrations import upgrade

    upgrade(create_db_engine(database_url), _script_location(package))


@db_app.command("revision")
def db_revision(
    package: Annotated[str, typer.Argument(help="building block, e.g. registry")],
    message: Annotated[str, typer.Option("-m", "--message")],
) -> None:
    """Write a new migration from the models (against a scratch SQLite database)."""
    import tempfile

    from kernel.database import create_db_engine
    from kernel.migrations import make_revision, upgrade

    location = _script_location(package)
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade(engine, location)
        make_revision(engine, location, message)


def _script_location(package: str) -> str:
    if package not in MIGRATION_PACKAGES:
        raise typer.BadParameter(f"one of {', '.join(MIGRATION_PACKAGES)}")
    return MIGRATION_PACKAGES[package]


def main() -> None:
    app()
