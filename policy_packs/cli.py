"""``ies policy …``: run packs' tests, evaluate a decision, sign a pack."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kernel.problems import Problem
from policy_packs.decision import Engine, decide
from policy_packs.engine import EmbeddedEngine, OpaEngine
from policy_packs.manifest import DOMAINS
from policy_packs.packs import (
    SHIPPED_KEYRING,
    SHIPPED_PACKS,
    Catalogue,
    load_catalogue,
    load_pack,
    read_manifest,
)
from policy_packs.packtests import run_cases
from policy_packs.signing import FileKeyring, load_private_key, sign_pack

app = typer.Typer(help="Policy packs: test, evaluate, sign.", no_args_is_help=True)
console = Console(soft_wrap=True)

PacksDir = Annotated[
    Path, typer.Option("--packs-dir", envvar="IES_POLICY_PACKS_DIR", help="folder of packs")
]
Keyring = Annotated[
    Path, typer.Option("--keyring", envvar="IES_POLICY_KEYRING", help="trusted authors (JSON)")
]


def _catalogue(packs_dir: Path, keyring: Path) -> Catalogue:
    try:
        return load_catalogue(packs_dir, FileKeyring(keyring))
    except Problem as problem:
        console.print(f"[red]refused:[/red] {problem.detail}")
        for error in problem.extensions.get("errors", []):
            console.print(f"  {error}")
        raise typer.Exit(1) from problem


@app.command("test")
def run_pack_tests(
    pack: Annotated[
        str | None, typer.Argument(help="pack id, id@version or pack folder; default: all")
    ] = None,
    packs_dir: PacksDir = SHIPPED_PACKS,
    keyring: Keyring = SHIPPED_KEYRING,
) -> None:
    """Verify packs and run each pack's own tests through the embedded engine."""
    if pack is not None and Path(pack).is_dir():
        try:
            packs = [load_pack(Path(pack), FileKeyring(keyring))]
        except Problem as problem:
            console.print(f"[red]refused:[/red] {problem.detail}")
            for error in problem.extensions.get("errors", []):
                console.print(f"  {error}")
            raise typer.Exit(1) from problem
    else:
        packs = [
            p
            for p in _catalogue(packs_dir, keyring).packs
            if pack is None or pack in {p.manifest.id, p.key}
        ]
    if not packs:
        console.print(f"[red]no pack matches {pack}[/red]")
        raise typer.Exit(1)
    engine = EmbeddedEngine()
    failed = 0
    for loaded in packs:
        results = run_cases(loaded, engine)
        bad = [result for result in results if not result.passed]
        failed += len(bad)
        mark = "[green]ok[/green]" if not bad else "[red]FAIL[/red]"
        console.print(
            f"{mark} {loaded.key} ({loaded.manifest.jurisdiction}): "
            f"{len(results) - len(bad)}/{len(results)} cases, digest {loaded.digest}"
        )
        for result in bad:
            console.print(f"  {result.explain()}")
    raise typer.Exit(1 if failed else 0)


@app.command("eval")
def evaluate(
    jurisdiction: Annotated[str, typer.Option(help="IN or IN-XX, e.g. IN-MH")],
    domain: Annotated[str, typer.Option(help=", ".join(DOMAINS))],
    input_path: Annotated[
        str, typer.Option("--input", help="JSON file with the domain's input, or - for stdin")
    ],
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today")] = None,
    opa_url: Annotated[
        str | None, typer.Option(envvar="IES_OPA_URL", help="decide through this OPA server")
    ] = None,
    packs_dir: PacksDir = SHIPPED_PACKS,
    keyring: Keyring = SHIPPED_KEYRING,
) -> None:
    """Print the decision as JSON; exit 0 when allowed, 1 when refused."""
    if domain not in DOMAINS:
        raise typer.BadParameter(f"one of {', '.join(DOMAINS)}", param_hint="--domain")
    text = sys.stdin.read() if input_path == "-" else Path(input_path).read_text("utf-8")
    document: Any = json.loads(text)
    if not isinstance(document, dict):
        raise typer.BadParameter("the input must be a JSON object", param_hint="--input")
    catalogue = _catalogue(packs_dir, keyring)
    engine: Engine = OpaEngine(opa_url) if opa_url else EmbeddedEngine()
    try:
        decision = decide(
            catalogue,
            engine,
            jurisdiction=jurisdiction,
            domain=domain,
            document=document,
            as_of=dt.date.fromisoformat(as_of) if as_of else dt.date.today(),
        )
    except Problem as problem:
        console.print(f"[red]{problem.title}:[/red] {problem.detail}")
        raise typer.Exit(2) from problem
    print(decision.model_dump_json(indent=2))
    raise typer.Exit(0 if decision.allow else 1)


@app.command("sign")
def sign(
    folder: Annotated[Path, typer.Argument(help="the pack folder to sign")],
    key: Annotated[Path, typer.Option(help="the author's Ed25519 private key (PEM)")],
    key_id: Annotated[str, typer.Option(help="the key's id in the author's directory record")],
    keyring: Keyring = SHIPPED_KEYRING,
) -> None:
    """Sign a pack as its manifest's author, then verify it against the trusted authors."""
    manifest = read_manifest(folder)
    signature = sign_pack(folder, manifest.author, key_id, load_private_key(key))
    console.print(f"signed {manifest.key} as {manifest.author} ({key_id}): {signature.digest}")
    try:
        load_pack(folder, FileKeyring(keyring))
    except Problem as problem:
        console.print(f"[red]but the pack does not load:[/red] {problem.detail}")
        for error in problem.extensions.get("errors", []):
            console.print(f"  {error}")
        raise typer.Exit(1) from problem
