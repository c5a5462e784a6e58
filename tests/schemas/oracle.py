"""The official IES MeterData v0.6 schema (the oracle), read from ../shared at test time,
with its external $refs resolved from ../shared/deg as its README says."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from tests.oracles import SHARED, errors, strict_validator
from tests.oracles import load as _load

METERDATA = SHARED / "ies" / "schemas" / "MeterData" / "v0.6"


@cache
def official_validator() -> Draft202012Validator:
    return strict_validator(_load(METERDATA / "schema.json"))


def official_errors(document: Any) -> list[str]:
    return errors(official_validator(), document)


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
    return strict_validator(_load(METERDATAREQUEST / "schema.json"))


def official_request_errors(document: Any) -> list[str]:
    return errors(official_request_validator(), document)


def request_examples() -> list[Path]:
    return sorted((METERDATAREQUEST / "examples").glob("*.json"))


def request_validation_cases() -> list[Path]:
    return sorted((METERDATAREQUEST / "validation" / "test_cases").glob("*.json"))
