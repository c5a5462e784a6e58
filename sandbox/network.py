"""``ies sandbox``: start the local network, seed it, play the use cases, report.

The use cases run against separately started participants over real HTTP, and a
report says, per use case, which of the IES pilot's checks passed. Without
``--check`` the network keeps serving for a person to explore.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

import adapters.cis
from sandbox.legacy import write_extract
from sandbox.processes import Network, NetworkError, Participant
from sandbox.seed import DISCOMS, dt_links, grid_rows

console = Console()
if not console.is_terminal:  # a CI log: wide enough that the report's rows stay on one line
    console = Console(width=140)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class UseCase:
    """One use case's outcome: its checks, what it counted and how long it took."""

    name: str
    checks: list[Check] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed


def participants(first_port: int) -> list[Participant]:
    return [
        Participant("registry", "Identity & addressing registry", "registry.app:app", first_port),
    ]


def _post_rows(client: httpx.Client, url: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = "".join(json.dumps(row) + "\n" for row in rows)
    response = client.post(
        f"{url}/imports", content=body, headers={"content-type": "application/x-ndjson"}
    )
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def play_onboarding(client: httpx.Client, registry: str, scratch: Path) -> UseCase:
    """Consumer onboarding: each discom's CIS export through the adapter into the registry."""
    case = UseCase("Consumer onboarding (identity & addressing)")
    started = time.perf_counter()
    created = rows_read = 0
    for discom in DISCOMS:
        extract = scratch / f"{discom.code}-cis.csv"
        write_extract(discom.network(), discom.mapping, discom.place, extract)
        result = adapters.cis.import_file(extract, discom.mapping)
        case.check(
            f"{discom.code}: CIS adapter read the export",
            bool(result.rows) and not result.errors,
            f"{len(result.rows)} rows, {len(result.errors)} bad",
        )
        rows_read += len(result.rows)
        grid = _post_rows(client, registry, grid_rows(discom))
        people = _post_rows(client, registry, result.rows)
        links = _post_rows(client, registry, dt_links(discom))
        failed = grid["failed"] + people["failed"] + links["failed"]
        case.check(
            f"{discom.code}: registry imported grid, consumers and DT links",
            failed == 0,
            f"{grid['created'] + people['created']} created, {failed} failed",
        )
        created += grid["created"] + people["created"]
        again = _post_rows(client, registry, result.rows)
        case.check(
            f"{discom.code}: re-import is idempotent",
            again["created"] == 0 and again["updated"] == 0,
            f"{again['unchanged']} unchanged",
        )
        # A counterparty (a bank, a platform) resolves what the consumer's bill says.
        consumer = discom.network().consumers[0]
        resolved = client.get(
            f"{registry}/resolve",
            params={"scheme": discom.mapping.consumer.legacy_scheme, "scope": discom.code,
                    "value": consumer.number, "type": "consumer"},
        )  # fmt: skip
        case.check(
            f"{discom.code}: consumer number resolves to an IES id",
            resolved.status_code == 200,
            resolved.json().get("ies_id", resolved.text[:80]),
        )
        feeder = client.get(
            f"{registry}/resolve",
            params={"scheme": "scada_tag", "scope": discom.code, "value": f"{discom.code}-F1"},
        ).json()["ies_id"]
        meters = client.get(
            f"{registry}/identities", params={"under": feeder, "type": "meter", "limit": 1000}
        ).json()["items"]
        dts = len(discom.dt_codes())  # connections go round-robin over DTs; F1 has the first
        expected = len([n for n in range(discom.consumers) if n % dts < discom.dts_per_feeder])
        case.check(
            f"{discom.code}: topology answers 'which meters are on feeder F1'",
            len(meters) == expected,
            f"{len(meters)} meters (expected {expected})",
        )
    case.counts = {"rows read": rows_read, "identities created": created}
    case.seconds = time.perf_counter() - started
    return case


def report(cases: list[UseCase], startup: float) -> Table:
    table = Table(title=f"IES sandbox: network up in {startup:.1f} s")
    table.add_column("use case")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for case in cases:
        for i, check in enumerate(case.checks):
            table.add_row(
                case.name if i == 0 else "",
                check.name,
                "[green]pass[/green]" if check.passed else "[red]FAIL[/red]",
                check.detail,
            )
        counts = ", ".join(f"{v} {k}" for k, v in case.counts.items())
        table.add_row("", f"[dim]{counts}[/dim]", "", f"[dim]{case.seconds:.2f} s[/dim]")
    return table


def run_sandbox(*, check: bool, first_port: int, data_dir: str) -> int:
    """Start, seed, play, report; serve until interrupted unless ``check``. Exit code."""
    network = Network(participants(first_port), Path(data_dir))
    plays: list[Callable[[httpx.Client, str, Path], UseCase]] = [play_onboarding]
    try:
        with console.status("starting the network …"):
            started = time.perf_counter()
            network.start()
            startup = time.perf_counter() - started
        cases: list[UseCase] = []
        registry = network.participants[0].url
        with tempfile.TemporaryDirectory() as scratch, httpx.Client(timeout=30) as client:
            for play in plays:
                with console.status(f"playing {play.__doc__ or play.__name__} …"):
                    cases.append(play(client, registry, Path(scratch)))
        console.print(report(cases, startup))
        ok = all(case.passed for case in cases)
        if check:
            return 0 if ok else 1
        for participant in network.participants:
            console.print(f"{participant.title}: {participant.url}/docs")
        console.print("serving; press Ctrl-C to stop")
        _wait_for_interrupt()
        return 0 if ok else 1
    except NetworkError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    finally:
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
