"""``ies consent ...``: the consent manager's operator commands."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Consent manager: audit chain verification, the expiry sweep.", no_args_is_help=True
)


@app.command("audit")
def audit(
    database_url: Annotated[str, typer.Option(envvar="IES_DATABASE_URL")],
    verify: Annotated[bool, typer.Option("--verify", help="walk and prove the hash chain")] = False,
) -> None:
    """Prove the audit chain: exit 0 when every link holds, 1 naming the first bad entry."""
    from consent.service import verify_chain
    from kernel.database import create_db_engine

    if not verify:
        raise typer.BadParameter("only --verify is supported")
    engine = create_db_engine(database_url)
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    if report.ok:
        typer.echo(f"audit chain verified: {report.entries} entries, head {report.head}")
        return
    typer.echo(
        f"audit chain BROKEN at entry {report.first_bad_seq}: {report.reason} "
        f"({report.entries} entries read)"
    )
    raise typer.Exit(1)


@app.command("sweep")
def sweep(
    database_url: Annotated[str, typer.Option(envvar="IES_DATABASE_URL")],
    batch: Annotated[int, typer.Option(min=1, help="consents expired per transaction")] = 1000,
) -> None:
    """Move every consent past its expiry to EXPIRED: an audit entry each, the status
    notification to app and provider, ERASE_DATA to the app (sent by the outbox)."""
    from consent.app import ConsentSettings, wire

    wiring = wire(ConsentSettings(database_url=database_url, migrate_on_start=False))
    try:
        expired = wiring.manager.sweep(batch)
    finally:
        wiring.close()
    typer.echo(f"expired {expired} consent(s)")
