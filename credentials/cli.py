"""``ies credentials issue|verify|revoke``: the credentials service's API from a shell."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

app = typer.Typer(help="Issue, verify and revoke verifiable credentials (through the service).")

Url = Annotated[str, typer.Option(envvar="IES_CREDENTIALS_URL", help="the credentials service")]


def _call(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    # Issuing and status changes need the issuer's machine token (issue 15): an access
    # token from the directory's POST /oauth/token (private_key_jwt), in IES_ACCESS_TOKEN.
    token = os.environ.get("IES_ACCESS_TOKEN", "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        response = client.post(path, json=body)
    payload: dict[str, Any] = response.json()
    if response.status_code >= 400:
        typer.echo(json.dumps(payload, indent=2), err=True)
        raise typer.Exit(1)
    return payload


def _read(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    text = text.strip()
    return text if not text.startswith("{") else json.loads(text)


@app.command("issue")
def issue(
    credential_type: Annotated[str, typer.Option("--type", help="e.g. ElectricityCredential")],
    issuer: Annotated[str, typer.Option(help="the issuer's did:web")],
    subject: Annotated[Path, typer.Option(help="JSON file with credentialSubject")],
    proof_format: Annotated[
        str, typer.Option("--format", help="vc+jwt | Ed25519Signature2020 | JsonWebSignature2020")
    ] = "vc+jwt",
    url: Url = "http://127.0.0.1:8104",
) -> None:
    """Issue one credential; prints the secured credential and its delivery URI."""
    credential = {
        "type": credential_type,
        "issuer": issuer,
        "credentialSubject": json.loads(subject.read_text(encoding="utf-8")),
    }
    result = _call(
        url, "/credentials/issue", {"credential": credential, "options": {"format": proof_format}}
    )
    typer.echo(json.dumps(result, indent=2))


@app.command("verify")
def verify(
    source: Annotated[str, typer.Argument(help="a file with a credential (JSON or vc+jwt), or -")],
    url: Url = "http://127.0.0.1:8104",
) -> None:
    """Verify one credential; exits 1 and lists every failed check when it does not verify."""
    verdict = _call(url, "/credentials/verify", {"verifiableCredential": _read(source)})
    typer.echo(json.dumps(verdict, indent=2))
    if not verdict["verified"]:
        raise typer.Exit(1)


@app.command("revoke")
def revoke(
    credential_id: Annotated[str, typer.Argument(help="urn:uuid:… of an issued credential")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the registry)")] = None,
    suspend: Annotated[bool, typer.Option(help="suspend instead (reversible)")] = False,
    reinstate: Annotated[bool, typer.Option(help="lift a suspension")] = False,
    url: Url = "http://127.0.0.1:8104",
) -> None:
    """Revoke (for good), suspend, or reinstate a credential this service issued."""
    status = "active" if reinstate else "suspended" if suspend else "revoked"
    body = {"credentialId": credential_id, "status": status, "reason": reason}
    typer.echo(json.dumps(_call(url, "/credentials/status", body), indent=2))
