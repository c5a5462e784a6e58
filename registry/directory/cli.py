"""``ies registry directory …``: keys for a participant, did:web URLs, key lookups."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kernel.database import create_db_engine
from kernel.migrations import upgrade
from registry.directory.didweb import parse_web_did
from registry.directory.keys import SigningKey
from registry.directory.proof import TxtRecordProof
from registry.directory.service import Directory

app = typer.Typer(help="The DeDi-style directory: did:web, key lookups.", no_args_is_help=True)


@app.command("did-path")
def did_path(did: Annotated[str, typer.Argument(help="did:web:host[:path…]")]) -> None:
    """Where a did:web document is served (host and path)."""
    try:
        location = parse_web_did(did)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(json.dumps({"host": location.host, "path": location.path}))


@app.command("lookup")
def lookup(
    subscriber_id: str,
    key_id: str,
    at: Annotated[datetime | None, typer.Option(help="signature time (with zone)")] = None,
    database_url: Annotated[str, typer.Option(envvar="IES_DATABASE_URL")] = (
        "sqlite:///./var/registry.db"
    ),
) -> None:
    """The signing key a message from SUBSCRIBER_ID signed with KEY_ID would be checked with."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(database_url)
    upgrade(engine, "registry:migrations")
    found = Directory(engine, {"txt": TxtRecordProof({})}).lookup_signing_key(
        subscriber_id, key_id, at
    )
    engine.dispose()
    if not isinstance(found, SigningKey):
        typer.echo(json.dumps({"refused": found.reason.value, "detail": found.detail}))
        raise typer.Exit(1)
    typer.echo(
        json.dumps(
            {
                "subscriber_id": found.subscriber_id,
                "key_id": found.key_id,
                "did": found.did,
                "valid_from": found.valid_from.isoformat(),
                "valid_until": found.valid_until.isoformat(),
                "status": found.status,
            }
        )
    )
