"""What every oracle shares: where ../shared is, how its files load, how DEG's hosted
``$ref``s resolve to its local copies, and a validator that really checks formats.

The official schemas are read from ../shared at test time and never copied. An oracle
that silently skips a keyword proves nothing: jsonschema's ``FormatChecker`` checks
``date-time``, ``duration`` and ``uri`` only when their optional libraries are
installed (``jsonschema[format-nongpl]``, a dev dependency), and otherwise passes any
string. ``strict_validator`` refuses to build without them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kernel.yamlio import load_yaml

SHARED = Path(__file__).resolve().parents[2] / "shared"
IES = SHARED / "ies"
DEG = SHARED / "deg"
BECKN = SHARED / "beckn"

# Formats the official schemas use; each must really be checked, not waved through.
REQUIRED_FORMATS = frozenset({"date", "date-time", "duration", "uri", "email", "uuid"})

_HOSTED = re.compile(r"https://schema\.(?:nfh\.global|beckn\.io)/([A-Za-z0-9]+)/v?([0-9.]+)/?(.*)$")


def load(path: Path) -> Any:
    """A JSON or YAML file of ../shared."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else load_yaml(text)


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    missing = REQUIRED_FORMATS - set(checker.checkers)
    if missing:
        raise RuntimeError(
            f"jsonschema cannot check the formats {sorted(missing)}: install the dev "
            "dependencies (jsonschema[format-nongpl]); an oracle must not skip them"
        )
    return checker


def retrieve_deg(uri: str) -> Resource[Any]:
    """A schema DEG hosts at schema.nfh.global / schema.beckn.io, from ../shared/deg
    (its README says where each lives): ``…/<Name>/v<version>/<file>[#…]``."""
    match = _HOSTED.match(uri)
    if not match:
        raise LookupError(uri)
    name, version, tail = match.groups()
    file = tail.split("#")[0] or "attributes.yaml"
    for top in ("deg-schema", "beckn-core"):
        folder = DEG / top / name / f"v{version}"
        if folder.is_dir():
            if not (folder / file).is_file():
                file = "attributes.yaml"
            return DRAFT202012.create_resource(load(folder / file))
    raise LookupError(uri)


def strict_validator(
    schema: dict[str, Any], registry: Registry[Any] | None = None
) -> Draft202012Validator:
    """A Draft 2020-12 validator with every format checked and DEG's hosted schemas
    resolved locally (unless another registry is given)."""
    return Draft202012Validator(
        schema,
        registry=registry if registry is not None else Registry(retrieve=retrieve_deg),  # type: ignore[call-arg]
        format_checker=format_checker(),
    )


def errors(validator: Draft202012Validator, document: Any) -> list[str]:
    """Every error, each with the JSON path where it is."""
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]
