"""``ies registry …``: import files, resolve identifiers, export, serve."""

from __future__ import annotations

import gc
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from kernel.database import create_db_engine, session_scope
from kernel.migrations import upgrade
from kernel.problems import Problem
from registry import service
from registry.app import MIGRATIONS, RegistrySettings
from registry.directory.cli import app as directory_app
from registry.identifiers import parse_id
from registry.models import LegacyRef
from registry.ownership import EVERY_DISCOM
from registry.rows import check_utf8, parse_rows, read_csv, read_ndjson

app = typer.Typer(help="Identity & addressing: import, resolve, export.", no_args_is_help=True)
console = Console(stderr=True)
app.add_typer(directory_app, name="directory")

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="defaults to IES_DATABASE_URL or var/registry.db"),
]


def _engine(database_url: str | None) -> Any:
    url = database_url or RegistrySettings().database_url
    engine = create_db_engine(url)
    upgrade(engine, MIGRATIONS)
    return engine


class _CountingReader(io.RawIOBase):
    """Counts bytes as the importer reads them, for a progress bar by file size."""

    def __init__(self, raw: BinaryIO, progress: Progress, task: Any) -> None:
        super().__init__()
        self.raw, self.progress, self.task = raw, progress, task

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.progress.update(self.task, advance=len(data))
        return len(data)


def tune_gc_for_bulk() -> None:
    """A bulk import allocates millions of short-lived objects; the cyclic collector's
    default gen-0 threshold runs it thousands of times for nothing (about 15% of the
    import's time). This process exists only for the import, so raise it."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or ndjson (by suffix)")] = None,
    atomic: Annotated[bool, typer.Option(help="import nothing unless every row is good")] = False,
    report: Annotated[Path | None, typer.Option(help="write the full JSON report here")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 2000,
    valid_from: Annotated[
        datetime | None,
        typer.Option(help="the date of rows that carry none (with time zone; default: now)"),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import identities from a CSV or NDJSON file, streamed, idempotent on re-run."""
    if valid_from is not None and valid_from.tzinfo is None:
        raise typer.BadParameter("--valid-from needs a time zone, e.g. 2015-04-01T00:00:00+05:30")
    fmt = fmt or ("ndjson" if file.suffix.lower() in {".ndjson", ".jsonl"} else "csv")
    if fmt not in {"csv", "ndjson"}:
        raise typer.BadParameter("--format is csv or ndjson")
    engine = _engine(database_url)
    size = file.stat().st_size
    tune_gc_for_bulk()
    try:
        with file.open("rb") as raw:
            check_utf8(raw)
        with (
            Progress(
                TextColumn("[bold]import"),
                BarColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TimeElapsedColumn(),
                console=console,
                disable=not console.is_terminal and not os.environ.get("IES_PROGRESS"),
            ) as progress,
            file.open("rb") as raw,
        ):
            task = progress.add_task("import", total=size, rows=0)
            counted = io.BufferedReader(_CountingReader(raw, progress, task), 1 << 16)
            text = io.TextIOWrapper(counted, encoding="utf-8-sig", newline="")
            rows = read_csv(text) if fmt == "csv" else read_ndjson(text)
            with session_scope(engine) as session:
                result = service.import_rows(
                    session,
                    parse_rows(rows),
                    source=file.name,
                    fmt=fmt,
                    atomic=atomic,
                    batch_size=batch_size,
                    progress=lambda n: progress.update(task, rows=n),
                    valid_from=valid_from,
                    # The operator on its own database: every discom's records.
                    scope=EVERY_DISCOM,
                )
    except Problem as exc:
        console.print(f"[red]{exc.title}:[/red] {exc.detail}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    summary = result.to_dict()
    if report is not None:
        report.write_text(json.dumps(summary, indent=2))
    console.print(
        f"{result.status}: {result.rows} rows, {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.failed} failed (job {result.job_id})"
    )
    for error in result.errors[:20]:
        console.print(f"  line {error['line']}: {error.get('field') or ''} {error['reason']}")
    if result.failed > 20:
        console.print(f"  … {result.failed - 20} more; see --report")
    if result.status == "rejected" or result.failed:
        raise typer.Exit(1)


@app.command("resolve")
def resolve(
    identifier: Annotated[str, typer.Argument(help="an IES id, or a legacy scheme:scope:value")],
    at: Annotated[datetime | None, typer.Option(help="as of this instant (with time zone)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """IES id -> its legacy identifiers and place; legacy id -> IES id."""
    engine = _engine(database_url)
    try:
        with session_scope(engine) as session:
            if ":" in identifier:
                mapping = service.resolve_legacy(session, LegacyRef.parse(identifier), at)
                out: dict[str, Any] = mapping.model_dump(mode="json")
            else:
                ies_id = str(parse_id(identifier))
                out = {
                    "identity": service.get_identity(session, ies_id).model_dump(mode="json"),
                    "legacy_ids": [
                        m.model_dump(mode="json") for m in service.legacy_ids_of(session, ies_id)
                    ],
                    "relations": [
                        r.model_dump(mode="json") for r in service.relations_of(session, ies_id)
                    ],
                }
    except Problem as exc:
        console.print(f"[red]{exc.title}:[/red] {exc.detail}")
        raise typer.Exit(2) from None
    except ValueError as exc:
        console.print(f"[red]not a legacy reference:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(out, indent=2))


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(dir_okay=False)],
    database_url: DatabaseOption = None,
) -> None:
    """Write every identity as NDJSON import rows (re-importable elsewhere, same ids)."""
    engine = _engine(database_url)
    count = 0
    with session_scope(engine) as session, out.open("w") as handle:
        for row in service.export_rows(session, None):
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    engine.dispose()
    console.print(f"{count} rows written to {out}")
