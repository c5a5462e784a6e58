"""The console's pure parts: what an approval form sends as a narrowing, which reasons
a correction form sends (and that none is sent without a staff session), where a
language switch may send the browser back to, and which requests get the JSON twin."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from kernel.access import Principal, Unauthenticated
from sandbox.console.pages import (
    _safe_next,
    narrowing,
    reasons_from_form,
    request_correction,
    wants_json,
)

ASKED: dict[str, Any] = {
    "meters": ["SM1"],
    "data_types": ["interval_consumption", "net_export", "billing"],
    "date_range": {"from": "2026-11-01", "to": "2026-11-08"},
    "granularity": "hourly",
    "fetch_type": "periodic",
    "frequency": {"value": 4, "unit": "day"},
    "data_life_days": 30,
    "expires_at": "2027-01-01T00:00:00+05:30",
}


def test_an_untouched_form_approves_exactly_the_request() -> None:
    same = narrowing(
        ASKED, list(ASKED["data_types"]), "hourly", 4, "day", "2026-11-01", "2026-11-08", 30
    )
    assert same == {}
    assert narrowing(ASKED, [], None, None, None, None, None, None) == {}


def test_the_changed_fields_only_are_sent() -> None:
    change = narrowing(
        ASKED,
        ["interval_consumption", "billing"],
        "daily",
        2,
        "day",
        "2026-11-01",
        "2026-11-05",
        30,
    )
    assert change == {
        "data_types": ["interval_consumption", "billing"],
        "granularity": "daily",
        "frequency": {"value": 2, "unit": "day"},
        "date_range": {"from": "2026-11-01", "to": "2026-11-05"},
    }


@given(
    types=st.lists(st.sampled_from(ASKED["data_types"]), unique=True),
    value=st.one_of(st.none(), st.integers(1, 4)),
    life=st.one_of(st.none(), st.integers(1, 30)),
)
def test_a_narrowing_never_names_an_unchanged_field(
    types: list[str], value: int | None, life: int | None
) -> None:
    change = narrowing(ASKED, types, None, value, None, None, None, life)
    for field, new in change.items():
        assert new != ASKED[field]


def test_the_language_switch_only_returns_to_this_console() -> None:
    assert _safe_next("/consumer/mh-1/consents") == "/consumer/mh-1/consents"
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "x"):
        assert _safe_next(outside) == "/"


def _request(query: str, accept: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": query.encode(),
        "headers": [(b"accept", accept.encode())],
    }
    return Request(scope)


def test_the_json_twin_is_chosen_by_accept_or_format() -> None:
    assert wants_json(_request("", "application/json"))
    assert wants_json(_request("format=json", "text/html"))
    assert not wants_json(_request("", "text/html,application/xhtml+xml,application/json;q=0.9"))


@given(st.lists(st.tuples(st.sampled_from(["", " ", "FIL-003", "x/y"]),
                          st.sampled_from(["", "  ", "re-read SCADA"])), max_size=4))  # fmt: skip
def test_a_correction_form_sends_every_touched_row_and_no_blank_one(rows) -> None:
    sent = reasons_from_form([c for c, _ in rows], [m for _, m in rows])
    touched = [(c.strip(), m.strip()) for c, m in rows if c.strip() or m.strip()]
    assert [(r["code"], r["message"]) for r in sent] == touched


def test_a_correction_without_a_staff_session_is_refused_before_anything_is_signed() -> None:
    """The signed ask names the signed-in member of staff: a machine token (or no
    principal at all) cannot ask, so the commission's key never signs an unnamed ask."""
    for principal in (
        None,
        Principal(kind="participant", subject="console", organisation="regulator"),
    ):
        request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
        request.state.principal = principal
        with pytest.raises(Unauthenticated):
            request_correction(request, "f" * 32, ["FIL-003"], ["why"])
