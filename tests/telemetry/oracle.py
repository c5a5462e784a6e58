"""The official IES OutageNotification v0.1 schema (the oracle), read from ../shared at
test time, with its external $refs resolved from ../shared/deg as its README says."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kernel.yamlio import load_yaml

SHARED = Path(__file__).resolve().parents[3] / "shared"
OUTAGES = SHARED / "ies" / "schemas" / "OutageNotification" / "v0.1"
DEG = SHARED / "deg"
_HOSTED = re.compile(r"https://schema\.(?:nfh\.global|beckn\.io)/([A-Za-z0-9]+)/v?([0-9.]+)/?(.*)$")


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else load_yaml(text)


def _retrieve(uri: str) -> Resource[Any]:
    match = _HOSTED.match(uri)
    if not match:
        raise LookupError(uri)
    name, version, tail = match.groups()
    for top in ("deg-schema", "beckn-core"):
        folder = DEG / top / name / f"v{version}"
        if folder.is_dir():
            file = tail.split("#")[0] if tail.split("#")[0] else "attributes.yaml"
            return DRAFT202012.create_resource(_load(folder / file))
    raise LookupError(uri)


@cache
def validator() -> Draft202012Validator:
    schema = _load(OUTAGES / "schema.json")
    return Draft202012Validator(
        schema,
        registry=Registry(retrieve=_retrieve),  # type: ignore[call-arg]
        format_checker=FormatChecker(),
    )


def official_errors(document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator().iter_errors(document)]


def schedule_csv() -> Path:
    return OUTAGES / "tools" / "discom_planned_shutdown.csv"
