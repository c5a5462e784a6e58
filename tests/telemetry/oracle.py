"""The official IES OutageNotification v0.1 schema (the oracle), read from ../shared at
test time, with its external $refs resolved from ../shared/deg as its README says."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from tests.oracles import SHARED, errors, load, strict_validator

OUTAGES = SHARED / "ies" / "schemas" / "OutageNotification" / "v0.1"


@cache
def validator() -> Draft202012Validator:
    return strict_validator(load(OUTAGES / "schema.json"))


def official_errors(document: Any) -> list[str]:
    return errors(validator(), document)


def schedule_csv() -> Path:
    return OUTAGES / "tools" / "discom_planned_shutdown.csv"
