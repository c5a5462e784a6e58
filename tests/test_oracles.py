"""The oracles check what the official schemas say, formats included: an oracle that
waves a malformed date-time through would let the stack's own output drift unseen."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.oracles import IES, errors, load, strict_validator
from tests.telemetry import oracle as outages

EXAMPLE = "outage_notifications.json"


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2026-06-22T00:00:00+05:30", "2026-06-22 00:00"),
        ("date-time", "2026-06-22T00:00:00Z", "2026-13-22T00:00:00Z"),
        ("date", "2026-06-22", "22/06/2026"),
        ("duration", "PT15M", "15 minutes"),
        ("uri", "https://discom.example/outages/1", "not a uri"),
        ("uuid", "2f1c8a5e-8d7b-4f0e-9a36-0c3f5d1e2b7a", "2f1c8a5e"),
    ],
)
def test_every_format_the_official_schemas_use_is_checked(fmt: str, good: str, bad: str) -> None:
    validator = strict_validator({"type": "string", "format": fmt})
    assert errors(validator, good) == []
    assert errors(validator, bad), f"{fmt}: {bad!r} was accepted"


def test_an_official_example_with_a_malformed_time_fails_the_official_schema() -> None:
    example: Any = load(IES / "schemas" / "OutageNotification" / "v0.1" / "examples" / EXAMPLE)
    notice = copy.deepcopy(example[0] if isinstance(example, list) else example)
    assert outages.official_errors(notice) == []
    notice["issuedAt"] = "22 June 2026, midnight"
    found = outages.official_errors(notice)
    assert any("issuedAt" in e and "date-time" in e for e in found), found
