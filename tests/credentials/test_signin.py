"""Sign-in for people (issue 15): one-time codes are single-use, short-lived and
attempt-limited; repeated failures lock the account; sessions are opaque and expire.
The pure rules are property-tested; the service runs on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.signin.errors import LockedOut, SignInRefused
from credentials.signin.models import (
    CODE_ATTEMPTS,
    CODE_LIFETIME,
    LOCK_AFTER,
    LOCK_FOR,
    RESEND_AFTER,
    CodeOutcome,
    Lockout,
    check_code,
    failed,
    issue_code,
    succeeded,
)
from credentials.signin.service import RelyingParty, SignIn
from kernel.database import create_db_engine

PEPPER = b"p" * 32
T0 = datetime(2026, 11, 25, tzinfo=UTC)

# ---------------------------------------------------------------------- pure rules

events = st.lists(
    st.tuples(st.sampled_from(["fail", "ok"]), st.integers(min_value=0, max_value=1200)),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events)
def test_the_lockout_machine_never_lets_a_locked_account_in_and_locks_on_the_nth_failure(
    steps: list[tuple[str, int]],
) -> None:
    state, now, streak = Lockout(), T0, 0
    for event, seconds in steps:
        now += timedelta(seconds=seconds)
        if event == "ok":
            if state.locked(now):
                continue  # the service refuses before it would call succeeded()
            state, streak = succeeded(state, now), 0
            assert state == Lockout()
            continue
        was_locked = state.locked(now)
        before = state
        state = failed(state, now)
        if was_locked:
            assert state == before  # failing while locked does not extend the lock
            continue
        streak = 1 if before.locked_until is not None else streak + 1
        if streak >= LOCK_AFTER:
            assert state.locked(now)
            assert state.locked_until == now + LOCK_FOR
            assert 0 < state.retry_after(now) <= LOCK_FOR.total_seconds()
            streak = 0
        else:
            assert not state.locked(now)
            assert state.failures == streak


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=int(CODE_LIFETIME.seconds))),
        min_size=1,
        max_size=10,
    )
)
def test_a_code_is_accepted_at_most_once_within_its_life_and_attempts(
    tries: list[tuple[bool, int]],
) -> None:
    code, state = issue_code(PEPPER, T0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    now, accepted, attempts = T0, 0, 0
    for right, seconds in tries:
        now += timedelta(seconds=seconds)
        outcome, state = check_code(state, code if right else wrong, PEPPER, now)
        if outcome is CodeOutcome.ACCEPTED:
            accepted += 1
            assert right
            assert now < T0 + CODE_LIFETIME
            assert attempts < CODE_ATTEMPTS
        if outcome in (CodeOutcome.ACCEPTED, CodeOutcome.WRONG):
            attempts += 1
    assert accepted <= 1
    assert state.attempts <= CODE_ATTEMPTS


def test_the_store_keeps_a_digest_never_the_code() -> None:
    code, state = issue_code(PEPPER, T0)
    assert code not in state.digest
    assert len(code) == 6


# ---------------------------------------------------------------------- the service


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def deliver(self, address: str, text: str) -> None:
        self.sent.append((address, text))

    def code(self) -> str:
        return self.sent[-1][1].split(" is ")[1][:6]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def service(make_database) -> Iterator[tuple[SignIn, Inbox, Clock]]:
    """On the suite's backend (SQLite, or PostgreSQL under scripts/with-postgres)."""
    inbox, clock = Inbox(), Clock()
    engine = create_db_engine(make_database("credentials.signin:migrations"))
    rp = RelyingParty("localhost", "test", ("http://localhost:1",))
    signin = SignIn(engine, inbox, rp, PEPPER, clock=clock)
    signin.enrol("mh-1", "consumer", "discom-mh", "sms:mh-1")
    signin.enrol("discom-mh", "operator", "discom-mh", "sms:discom-mh")
    yield signin, inbox, clock
    engine.dispose()


def test_a_code_signs_a_consumer_in_once_and_a_replay_is_refused(service) -> None:
    signin, inbox, _ = service
    signin.send_code("mh-1")
    code = inbox.code()
    session = signin.sign_in_with_code("mh-1", code)
    assert session.token
    assert session.stage == "full"
    assert signin.session(session.token) is not None
    with pytest.raises(SignInRefused):
        signin.sign_in_with_code("mh-1", code)


def test_an_expired_code_and_an_unknown_account_are_refused_alike(service) -> None:
    signin, inbox, clock = service
    signin.send_code("mh-1")
    code = inbox.code()
    clock.now += CODE_LIFETIME
    with pytest.raises(SignInRefused):
        signin.sign_in_with_code("mh-1", code)
    signin.send_code("nobody")  # nothing sent, nothing said
    assert len(inbox.sent) == 1
    with pytest.raises(SignInRefused):
        signin.sign_in_with_code("nobody", "123456")


def test_repeated_failures_lock_the_account_even_for_the_right_code(service) -> None:
    signin, inbox, clock = service
    for _ in range(LOCK_AFTER - 1):
        signin.send_code("mh-1")
        with pytest.raises(SignInRefused):
            signin.sign_in_with_code("mh-1", f"{(int(inbox.code()) + 1) % 10**6:06d}")
    signin.send_code("mh-1")
    code = inbox.code()
    with pytest.raises(LockedOut) as locked:
        signin.sign_in_with_code("mh-1", "000000" if code != "000000" else "111111")
    assert locked.value.retry_after > 0
    with pytest.raises(LockedOut):
        signin.sign_in_with_code("mh-1", code)
    with pytest.raises(LockedOut):
        signin.send_code("mh-1")
    clock.now += LOCK_FOR
    signin.send_code("mh-1")
    assert signin.sign_in_with_code("mh-1", inbox.code()).stage == "full"


def test_sessions_expire_and_end_and_a_forged_token_names_none(service) -> None:
    signin, inbox, clock = service
    signin.send_code("mh-1")
    session = signin.sign_in_with_code("mh-1", inbox.code())
    assert session.token is not None
    assert signin.session(session.token + "x") is None
    signin.sign_out(session.token)
    assert signin.session(session.token) is None
    signin.send_code("mh-1")
    again = signin.sign_in_with_code("mh-1", inbox.code())
    assert again.token is not None
    clock.now += timedelta(hours=9)
    assert signin.session(again.token) is None


def test_an_operator_gets_an_invitation_that_only_enrols(service) -> None:
    signin, inbox, _ = service
    signin.send_code("discom-mh")
    assert "enrolment code" in inbox.sent[-1][1]
    session = signin.sign_in_with_code("discom-mh", inbox.code())
    assert session.stage == "enrol"
    challenge_id, options = signin.registration_options(session)
    assert '"residentKey": "required"' in options
    from credentials.signin.errors import PasskeyRejected

    with pytest.raises(PasskeyRejected):  # a made-up attestation does not register
        signin.register_passkey(session, challenge_id, '{"id": "x", "rawId": "x"}')
    assert signin.passkeys("discom-mh") == []


# ---------------------------------------------------------------------- the JSON API


def _api(signin: SignIn) -> Any:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from credentials.signin.api import install_signin_api, requires_own_consumer
    from kernel.access import Principal
    from kernel.service import create_service_app

    def principal_of(account: Any, session: Any) -> Principal:
        return Principal(
            kind=account.kind,
            subject=account.subject,
            organisation=account.organisation,
            scopes=frozenset({"consent:consumer", "account"}),
            via="session",
        )

    app: FastAPI = create_service_app(
        title="t", description="t", version="0", routers=[], max_body_bytes=4096
    )
    done: list[str] = []

    @app.post(
        "/consumers/{consumer_id}/things",
        dependencies=[requires_own_consumer("consent:consumer", participants=False)],
    )
    def act(consumer_id: str) -> dict[str, str]:
        done.append(consumer_id)
        return {"done": consumer_id}

    install_signin_api(app, signin, principal_of)
    return TestClient(app), done


def _sign_in_json(client: Any, inbox: Inbox, who: str) -> str:
    assert client.post("/signin/code", json={"who": who}).status_code == 202
    signed = client.post("/signin/verify", json={"who": who, "code": inbox.code()})
    assert signed.status_code == 200, signed.text
    assert "httponly" in signed.headers["set-cookie"].lower()
    assert "samesite=strict" in signed.headers["set-cookie"].lower()
    return str(signed.json()["csrf_token"])


def test_the_json_api_lets_a_consumer_act_only_on_their_own_with_the_csrf_header(
    service,
) -> None:
    signin, inbox, _ = service
    signin.enrol("mh-2", "consumer", "discom-mh", "sms:mh-2")
    client, done = _api(signin)
    csrf = _sign_in_json(client, inbox, "mh-1")
    assert client.post("/consumers/mh-1/things").status_code == 403  # no CSRF header
    assert client.post("/consumers/mh-2/things", headers={"X-CSRF-Token": csrf}).status_code == 403
    assert done == []
    assert client.post("/consumers/mh-1/things", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert done == ["mh-1"]
    # A form post from another site cannot sign anyone in (JSON only).
    sent = len(inbox.sent)
    assert client.post("/signin/code", data={"who": "mh-1"}).status_code == 422
    assert len(inbox.sent) == sent
    # A forged cookie is refused, not ignored.
    client.cookies.set("ies_session", "forged")
    assert client.post("/consumers/mh-1/things", headers={"X-CSRF-Token": csrf}).status_code == 401
    assert done == ["mh-1"]


def test_signing_out_ends_the_session_on_the_server(service) -> None:
    signin, inbox, _ = service
    client, _done = _api(signin)
    csrf = _sign_in_json(client, inbox, "mh-1")
    token = client.cookies["ies_session"]
    assert client.post("/signin/out").status_code == 403  # CSRF header missing
    assert client.post("/signin/out", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert signin.session(token) is None


def test_no_new_code_is_texted_while_a_fresh_one_is_unused(service) -> None:
    signin, inbox, clock = service
    signin.send_code("mh-1")
    signin.send_code("mh-1")
    assert len(inbox.sent) == 1
    clock.now += RESEND_AFTER
    signin.send_code("mh-1")
    assert len(inbox.sent) == 2
    assert signin.sign_in_with_code("mh-1", inbox.code()).stage == "full"
    signin.send_code("mh-1")  # the last one was used: a new one at once
    assert len(inbox.sent) == 3
