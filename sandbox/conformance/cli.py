"""``ies conformance``: run the kit against a participant; export the test vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sandbox.plan import DATA_NETWORK

app = typer.Typer(help="The conformance kit: test any IES implementation against the stack.",
                  no_args_is_help=True)  # fmt: skip
console = Console(emoji=False)


@app.command("run")
def run(
    target: Annotated[str, typer.Option(help="the participant's base URL")],
    role: Annotated[
        str,
        typer.Option(
            help="bap, bpp, gateway, credential-issuer, data-provider, consent-manager or directory"
        ),
    ],
    directory: Annotated[str | None, typer.Option(help="the network's directory URL")] = None,
    subscriber_id: Annotated[str | None, typer.Option(help="the target's subscriber id")] = None,
    network: Annotated[str, typer.Option(help="the networkId to exchange on")] = DATA_NETWORK,
    sandbox_data_dir: Annotated[
        Path | None,
        typer.Option(help="a running sandbox's data dir: the kit registers itself there"),
    ] = None,
    sandbox_passphrase: Annotated[
        str | None, typer.Option(envvar="IES_KEY_PASSPHRASE", help="that sandbox's key passphrase")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option(help="DOMAIN=URL: where a did:web domain resolves (repeatable)"),
    ] = None,
    kit_dir: Annotated[
        Path | None,
        typer.Option(
            help="keep the kit's keys here (outside network: register the printed records once)"
        ),
    ] = None,
    kit_port: Annotated[int | None, typer.Option(help="the kit's callback port")] = None,
    kit_url: Annotated[
        str | None,
        typer.Option(help="the kit's public callback base URL, if not http://127.0.0.1:PORT"),
    ] = None,
    kit_bind: Annotated[str, typer.Option(help="the address the kit listens on")] = "127.0.0.1",
    kit_domain: Annotated[
        str, typer.Option(help="the kit's subscribers' domain (outside a sandbox)")
    ] = "conformance.example",
    out: Annotated[Path, typer.Option(help="where the reports go")] = Path("conformance-report"),
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 5.0,
    bound: Annotated[float, typer.Option(help="seconds the whole run may take")] = 120.0,
) -> None:
    """Play the counterparty of TARGET over HTTP and check every applicable item."""
    import httpx

    from sandbox.conformance.identity import (
        KIT_DOMAIN,
        RegistrationError,
        registration_text,
        stored_identity,
    )
    from sandbox.conformance.kit import RunOptions, Sandbox, conform
    from sandbox.conformance.model import ROLES
    from sandbox.conformance.reports import print_report, progress_line, write_reports

    if role not in ROLES:
        raise typer.BadParameter(f"--role must be one of {', '.join(ROLES)}")
    sandbox = None
    hosts = dict(h.split("=", 1) for h in host or [])
    if sandbox_data_dir is not None:
        if not sandbox_passphrase:
            raise typer.BadParameter("--sandbox-passphrase (or IES_KEY_PASSPHRASE) is needed")
        sandbox = Sandbox.at(sandbox_data_dir, sandbox_passphrase)
        directory = directory or sandbox.plan.directory.url
        subscriber_id = subscriber_id or sandbox.subscriber_at(target)
        hosts = {**sandbox.plan.hosts, **hosts}
    elif kit_dir is not None and kit_port is not None:
        identity = stored_identity(kit_dir, kit_url or f"http://127.0.0.1:{kit_port}", kit_domain)
        console.print("Register these records in the network under test first:")
        console.print(registration_text(identity, [network]), markup=False)
    if directory is None or subscriber_id is None:
        raise typer.BadParameter("--directory and --subscriber-id are needed outside a sandbox")
    options = RunOptions(target=target, role=role, directory=directory,
                         subscriber_id=subscriber_id, network=network, hosts=hosts,
                         sandbox=sandbox, kit_dir=kit_dir, kit_port=kit_port, kit_url=kit_url,
                         kit_bind=kit_bind,
                         kit_domain=kit_domain if sandbox is None else KIT_DOMAIN, timeout=timeout,
                         callback_wait=timeout, overall_seconds=bound)  # fmt: skip
    try:
        report = conform(options, lambda o, i, n: console.print(progress_line(o, i, n)))
    except (RegistrationError, httpx.HTTPError, OSError, ValueError) as exc:
        console.print(f"the kit could not stand up: {type(exc).__name__}: {exc}", markup=False)
        raise typer.Exit(2) from None
    print_report(report, console)
    for kind, path in write_reports(report, out).items():
        console.print(f"{kind}: {path}")
    raise typer.Exit(0 if report.passed else 1)


@app.command("vectors")
def vectors(directory: Annotated[Path, typer.Argument(help="where to write the vectors")]) -> None:
    """Export the signed test vectors (fixed test keys, expected verdicts)."""
    from sandbox.conformance.vectors import check_vector, write_vectors

    written = write_vectors(directory)
    for path in written:
        vector = json.loads(path.read_text())
        verdict, reason = check_vector(vector)
        console.print(f"{path.name}: expected {vector['expected']['verdict']}"
                      f" ({vector['expected'].get('reason') or '-'}); ours: {verdict}"
                      f" ({reason or '-'})", markup=False)  # fmt: skip
    console.print(f"{len(written)} vectors in {directory}")
