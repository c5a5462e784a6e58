"""The official IES MeterData v0.6 schema (the oracle), read from ../shared at test time,
with its external $refs resolved from ../shared/deg as its README says."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kernel.yamlio import load_yaml

SHARED = Path(__file__).resolve().parents[3] / "shared"
METERDATA = SHARED / "ies" / "schemas" / "MeterData" / "v0.6"
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
            file = tail if tail in ("schema.json", "attributes.yaml") else "attributes.yaml"
            return DRAFT202012.create_resource(_load(folder / file))
    raise LookupError(uri)


@cache
def official_validator() -> Draft202012Validator:
    schema = _load(METERDATA / "schema.json")
    return Draft202012Validator(schema, registry=Registry(retrieve=_retrieve))  # type: ignore[call-arg]


def official_errors(document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in official_validator().iter_errors(document)]


def examples() -> list[Path]:
    return sorted((METERDATA / "examples").glob("*.json"))


def validation_cases() -> list[Path]:
    return sorted((METERDATA / "validation" / "test_cases").glob("*.json"))


def load(path: Path) -> Any:
    return _load(path)


def ies_codes() -> dict[str, Any]:
    loaded: dict[str, Any] = _load(METERDATA / "IES codes.json")
    return loaded


# ------------------------------------------------------------------ MeterDataRequest v0.6

METERDATAREQUEST = SHARED / "ies" / "schemas" / "MeterDataRequest" / "v0.6"


@cache
def official_request_validator() -> Draft202012Validator:
    return Draft202012Validator(_load(METERDATAREQUEST / "schema.json"))


def official_request_errors(document: Any) -> list[str]:
    return [
        f"{e.json_path}: {e.message}" for e in official_request_validator().iter_errors(document)
    ]


def request_examples() -> list[Path]:
    return sorted((METERDATAREQUEST / "examples").glob("*.json"))


def request_validation_cases() -> list[Path]:
    return sorted((METERDATAREQUEST / "validation" / "test_cases").glob("*.json"))
