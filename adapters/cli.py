"""``ies adapters ...``: read a discom's exports from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from adapters import cis

app = typer.Typer(help="Adapters: legacy billing/CIS, MDM/HES and smart meter data.")


@app.command("cis")
def cis_command(
    extract: Path = typer.Argument(..., help="the CIS/SAP IS-U extract file"),
    mapping: Path = typer.Option(..., "--mapping", help="the discom's mapping YAML/JSON"),
    out: Path = typer.Option(Path("-"), "--out", help="NDJSON output ('-' for stdout)"),
) -> None:
    """Turn a CIS extract into registry bulk-import rows (NDJSON); bad lines go to stderr."""
    result = cis.import_file(extract, cis.load_mapping(mapping))
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in result.rows)
    if str(out) == "-":
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    for error in result.errors:
        typer.echo(error.detail, err=True)
    raise typer.Exit(1 if result.errors else 0)


@app.command("bench")
def bench_command(meters: int = typer.Option(10_000, help="meters, one day each")) -> None:
    """Readings/s through decode + VEE + mapping, with its baseline and peak memory."""
    from adapters import bench

    bench.main(meters)
