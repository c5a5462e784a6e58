"""``kernel.problems.RetryLater``: every "come back later" refusal says when, twice.

A spent request budget (``kernel.access.RateLimited``) and a locked sign-in
(``credentials.signin.errors.LockedOut``) share one base: each answers 429 with the
``Retry-After`` header and the same number in the problem's ``retry_after`` member."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from credentials.signin.errors import LockedOut, SignInProblem
from kernel.access import RateLimited
from kernel.problems import RetryLater
from kernel.service import create_service_app


@pytest.mark.parametrize(
    ("problem", "slug"), [(RateLimited, "rate-limited"), (LockedOut, "sign-in-locked")]
)
def test_each_refusal_answers_retry_after_and_the_problem_member(
    problem: type[RetryLater], slug: str
) -> None:
    router = APIRouter()

    @router.get("/wait")
    def wait() -> None:
        raise problem.waiting("come back later", 41.2)

    app = create_service_app(title="t", description="t", version="0", routers=[router],
                             max_body_bytes=1024)  # fmt: skip
    answer = TestClient(app).get("/wait")
    assert answer.status_code == 429
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "42"  # whole seconds, rounded up
    body = answer.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["retry_after"] == 42
    assert body["detail"] == "come back later"


def test_a_locked_sign_in_is_still_a_sign_in_problem() -> None:
    # The shared base adds the wait; it does not take LockedOut out of its own family.
    locked = LockedOut("too many failed sign-ins", retry_after=30)
    assert isinstance(locked, SignInProblem)
    assert isinstance(locked, RetryLater)
    assert locked.headers == {"Retry-After": "30"}
    assert locked.to_dict()["retry_after"] == 30


@given(st.floats(min_value=0.0, max_value=1e6, allow_nan=False))
def test_the_wait_is_whole_seconds_never_less_than_the_real_wait_nor_zero(
    seconds: float,
) -> None:
    said = RateLimited.waiting("x", seconds).retry_after
    assert said >= 1
    assert said >= seconds
    assert said - seconds < 1 or said == 1
