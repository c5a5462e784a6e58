"""``ies sandbox``: start the local network, seed it, play the use cases, report.

Every participant of the plan (``sandbox.plan``) runs as its own uvicorn process on
127.0.0.1 with its own database, keys and did:web; the network is seeded from scratch
(keys, namespaces proven, subscriber records, the operator's entries) and the use
cases play against it over real HTTP. The report shows, per use case, the IES pilot's
five-point bar, its supporting checks, counts and timings. Without ``--check`` the
network keeps serving for a person to explore.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sandbox.onboarding import Onboarding, OnboardingError, make_keys
from sandbox.plan import Plan, network_plan
from sandbox.processes import Network, NetworkError, Participant
from sandbox.tls import LocalCA
from sandbox.usecases import BAR, UseCase, World, catalogue, not_built

console = Console(emoji=False)  # "did:key:z6…" must not become an emoji
if not console.is_terminal:  # a CI log: wide enough that the report's rows stay on one line
    console = Console(width=160, emoji=False)


def participants(plan: Plan, passphrase: str, ca: LocalCA | None = None) -> list[Participant]:
    """Each member's process; with ``ca``, each on HTTPS with a certificate of its own,
    and every one of them trusting that CA alone."""
    hosts = json.dumps(plan.hosts)
    plan_file = str(plan.data_dir / "plan.json")
    out = []
    for member in plan.members:
        env = {
            "IES_SANDBOX_PLAN": plan_file,
            "IES_SANDBOX_NAME": member.name,
            "IES_KEY_PASSPHRASE": passphrase,
            "IES_DIRECTORY_HOSTS": hosts,  # the directory's DNS for domain proofs
        }
        files = None
        if ca is not None:
            files = ca.issue(member.name, member.host, passphrase.encode())
            env["SSL_CERT_FILE"] = str(ca.bundle)
        out.append(Participant(member.name, member.title, member.app, member.port, env, files))
    return out


def fresh(data_dir: Path) -> None:
    """From scratch: no keys, challenges or plan of an earlier run survive."""
    for name in ("keys", "challenges", "evidence", "tls"):
        shutil.rmtree(data_dir / name, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)


def _mark(ok: bool | None) -> str:
    if ok is None:
        return "[dim]—[/dim]"
    return "[green]pass[/green]" if ok else "[red]FAIL[/red]"


def report(cases: list[UseCase], startup: dict[str, float], played: float) -> Table:
    up = " + ".join(f"{k} {v:.1f} s" for k, v in startup.items())
    table = Table(
        title=f"IES sandbox: network up in {sum(startup.values()):.1f} s ({up}); "
        f"use cases played in {played:.1f} s"
    )
    table.add_column("use case")
    for point in BAR:
        table.add_column(point, justify="center")
    table.add_column("result", justify="center")
    table.add_column("counts and timings")
    for case in cases:
        if not case.built:
            table.add_row(case.name, *["[dim]—[/dim]"] * len(BAR), "[yellow]not built[/yellow]", "")
            continue
        points = [_mark(case.bar[p].passed) if p in case.bar else "[red]unset[/red]" for p in BAR]
        counts = ", ".join(f"{v} {k}" for k, v in case.counts.items())
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in case.timings.items())
        table.add_row(case.name, *points, _mark(case.passed),
                      f"{counts}\n[dim]{case.seconds:.2f} s: {timings}[/dim]")  # fmt: skip
    return table


def details(cases: list[UseCase]) -> Table:
    table = Table(title="checks behind the bar")
    table.add_column("use case")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for case in cases:
        rows = [*case.bar.values(), *case.checks]
        for i, check in enumerate(rows):
            table.add_row(case.name if i == 0 else "", check.name, _mark(check.passed),
                          check.detail)  # fmt: skip
    return table


def start(plan: Plan, passphrase: str) -> tuple[Network, dict[str, float]]:
    """Keys, processes (in parallel), then the directory seeding; timed."""
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    fresh(plan.data_dir)
    make_keys(plan, passphrase)
    plan.write()
    ca = None
    if plan.directory.scheme == "https":
        ca = LocalCA(plan.data_dir / "tls")
        # This process talks to the participants too (health, onboarding, use cases).
        os.environ["SSL_CERT_FILE"] = str(ca.bundle)
    members = participants(plan, passphrase, ca)
    timings["keys"] = time.perf_counter() - mark
    network = Network(members, plan.data_dir)
    mark = time.perf_counter()
    network.start()
    timings["processes"] = time.perf_counter() - mark
    mark = time.perf_counter()
    try:
        with httpx.Client(base_url=plan.directory.url, timeout=30) as http:
            Onboarding(plan, passphrase, http).run()
    except BaseException:
        network.stop()
        raise
    timings["directory seeding"] = time.perf_counter() - mark
    return network, timings


def play_all(world: World) -> list[UseCase]:
    cases: list[UseCase] = []
    entries = catalogue()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("playing the use cases", total=len(entries))
        for entry in entries:
            progress.update(task, description=f"playing: {entry.name}")
            if entry.play is None:
                cases.append(not_built(entry.name))
            else:
                try:
                    cases.append(entry.play(world))
                except Exception as exc:
                    failed = UseCase(entry.name)
                    failed.check("played to the end", False, f"{type(exc).__name__}: {exc}")
                    cases.append(failed)
            progress.advance(task)
    return cases


def run_sandbox(*, check: bool, first_port: int, data_dir: str, tls: bool = False) -> int:
    """Start, seed, play, report; serve until interrupted unless ``check``. Exit code."""
    plan = network_plan(first_port, Path(data_dir).resolve(), tls=tls)
    # IES_KEY_PASSPHRASE, when set, lets a tool that knows it (the conformance kit's
    # --sandbox-data-dir) act as the network operator of this running sandbox.
    passphrase = os.environ.get("IES_KEY_PASSPHRASE") or secrets.token_urlsafe(24)
    network: Network | None = None
    try:
        with console.status(f"starting {len(plan.members)} participants …"):
            network, startup = start(plan, passphrase)
        console.print(f"network up in {sum(startup.values()):.1f} s: "
                      + ", ".join(f"{k} {v:.1f} s" for k, v in startup.items()))  # fmt: skip
        with tempfile.TemporaryDirectory() as scratch, httpx.Client(timeout=60) as http:
            world = World(plan, http, Path(scratch), passphrase)
            started = time.perf_counter()
            cases = play_all(world)
            played = time.perf_counter() - started
        console.print(report(cases, startup, played))
        console.print(details(cases))
        built = [c for c in cases if c.built]
        ok = bool(built) and all(case.passed for case in built)
        console.print(f"{len(built)} of {len(cases)} use cases built; "
                      f"{'all pass' if ok else 'FAILURES above'}; "
                      "--check gates only the built ones")  # fmt: skip
        if check:
            return 0 if ok else 1
        for member in plan.members:
            console.print(f"{member.title} ({member.host}): {member.url}/docs")
        console.print("serving; press Ctrl-C to stop")
        _wait_for_interrupt()
        return 0 if ok else 1
    except (NetworkError, OnboardingError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    finally:
        if network is not None:
            network.stop()


def _wait_for_interrupt() -> None:
    stop = False

    def handler(_signum: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handler)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
