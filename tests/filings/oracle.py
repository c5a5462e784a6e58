"""The official IES ArrFiling v0.5 schema (the oracle), read from ../shared at test time."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.oracles import SHARED, strict_validator

ARRFILING = SHARED / "ies" / "schemas" / "ArrFiling" / "v0.5"


@cache
def official_validator() -> Draft202012Validator:
    schema = json.loads((ARRFILING / "schema.json").read_text())
    return strict_validator(schema)


def official_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in official_validator().iter_errors(document)
    ]


def examples() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        (ARRFILING / "examples" / "arr_filings.json").read_text()
    )
    return found
