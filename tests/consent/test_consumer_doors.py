"""The consent manager's consumer doors (issue 15): only the consumer signed in there, for
their own id and with the session's CSRF header on every change, or a participant whose
directory token holds ``consent:consumer`` (the console acting for the person it signed
in). Everyone else is refused with the right status, and nothing is read or changed."""

from __future__ import annotations

import secrets
import time

from .conftest import APP, CM, CONSOLE

ACTIONS = ("approve", "reject", "pause", "resume", "revoke")


def _pending(network, consumer: str | None = None, meter: str | None = None) -> str:
    overrides = {}
    if consumer is not None:
        overrides = {"consumer_id": consumer, "scope": {"meters": [meter]}}
    asked = network.request_consent(**overrides)
    assert asked.status_code == 201, asked.text
    return str(asked.json()["id"])


def _doors(consumer: str, consent_id: str) -> list[tuple[str, str]]:
    base = f"/consumers/{consumer}/consents"
    reads = [
        ("GET", base),
        ("GET", f"{base}/{consent_id}"),
        ("GET", f"{base}/{consent_id}/notice"),
        ("GET", f"{base}/{consent_id}/receipt"),
        ("GET", f"/consumers/{consumer}/audit"),
    ]
    return reads + [("POST", f"{base}/{consent_id}/{action}") for action in ACTIONS]


def _trail(network, consumer: str | None = None) -> list[tuple[int, str, str]]:
    entries = network.manager.audit_for(
        consumer or network.consumer, accesses_only=False, after=None, limit=1000
    )
    return [(e.seq, e.kind, e.actor) for e in entries]


def _unchanged(network, consent_id: str, trail: list[tuple[int, str, str]]) -> None:
    assert network.manager.consent(network.consumer, consent_id).status == "PENDING"
    assert _trail(network) == trail


def _refused(answer, status: int, slug: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == f"/problems/{slug}"
    for leak in ('"items"', '"scope"', '"notices"', '"credentialSubject"', '"hash"'):
        assert leak not in answer.text  # nothing of a consent in a refusal


def test_no_credentials_open_no_consumer_door(network):
    consent_id = _pending(network)
    trail = _trail(network)
    for method, path in _doors(network.consumer, consent_id):
        answer = network.cm_http.request(method, path)
        _refused(answer, 401, "unauthenticated")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    _unchanged(network, consent_id, trail)


def test_expired_wrong_audience_and_foreign_tokens_are_no_credentials(network):
    consent_id = _pending(network)
    trail = _trail(network)
    scope = ("consent:consumer",)
    issuer = network.issuer
    bad = {
        "expired": issuer.token(audience=CM, scopes=scope, subject=CONSOLE,
                                issued=time.time() - 3600),
        "for another service": issuer.token(audience="discom-a.example", scopes=scope,
                                            subject=CONSOLE),
        "from another issuer": issuer.token(audience=CM, scopes=scope, subject=CONSOLE,
                                            issuer="elsewhere.example"),
        "garbage": secrets.token_urlsafe(40),
    }  # fmt: skip
    for why, token in bad.items():
        headers = {"Authorization": f"Bearer {token}"}
        for method, path in _doors(network.consumer, consent_id):
            answer = network.cm_http.request(method, path, headers=headers)
            assert answer.status_code == 401, (why, path, answer.text)
    _unchanged(network, consent_id, trail)


def test_a_participant_token_without_the_consumer_scope_is_forbidden(network):
    consent_id = _pending(network)
    trail = _trail(network)
    # The app that asked for the consent, with a genuine token for this manager: it may
    # read the registry, not decide for the consumer.
    headers = network.issuer.headers(CM, ("registry:read",), subject=APP,
                                     roles=("third_party_app",))  # fmt: skip
    for method, path in _doors(network.consumer, consent_id):
        _refused(network.cm_http.request(method, path, headers=headers), 403, "forbidden")
    _unchanged(network, consent_id, trail)


def test_a_consumer_decides_with_their_own_session_and_is_the_audited_actor(network):
    consent_id = _pending(network)
    session = network.sign_in()
    base = f"/consumers/{network.consumer}/consents"
    listed = network.cm_http.get(base, headers=session)
    assert listed.status_code == 200, listed.text
    assert consent_id in [c["id"] for c in listed.json()["items"]]
    approved = network.cm_http.post(f"{base}/{consent_id}/approve", headers=session)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "ACTIVE"
    paused = network.cm_http.post(f"{base}/{consent_id}/pause", headers=session)
    assert paused.json()["status"] == "PAUSED"
    mine = [e for e in network.manager.audit_for(network.consumer, accesses_only=False,
                                                 after=None, limit=1000)
            if e.consent_id == consent_id and e.kind != "consent_requested"]  # fmt: skip
    assert [(e.kind, e.actor) for e in mine] == [
        ("consent_active", network.consumer),
        ("consent_paused", network.consumer),
    ]
    assert all("on_behalf_of" not in e.details for e in mine)


def test_the_console_acts_for_the_consumer_and_is_audited_as_the_actor(network):
    consent_id = _pending(network)
    approved = network.consumer_post(consent_id, "approve")  # the console's token
    assert approved.status_code == 200, approved.text
    entry = next(e for e in network.manager.audit_for(network.consumer, accesses_only=False,
                                                      after=None, limit=1000)
                 if e.consent_id == consent_id and e.kind == "consent_active")  # fmt: skip
    assert entry.actor == CONSOLE
    assert entry.details["on_behalf_of"] == network.consumer


def test_a_consumer_session_cannot_touch_another_consumers_consent(network):
    theirs = _pending(network)  # the first consumer's
    _pending(network, network.other_consumer, network.other_meter)  # so the other may sign in
    trail = _trail(network)
    other = network.sign_in(network.other_consumer)
    # Naming the first consumer's id: refused before anything is read.
    for method, path in _doors(network.consumer, theirs):
        _refused(network.cm_http.request(method, path, headers=other), 403, "forbidden")
    # Under their own id the first consumer's consent does not exist for them.
    own = f"/consumers/{network.other_consumer}/consents/{theirs}"
    assert network.cm_http.get(own, headers=other).status_code == 404
    for action in ACTIONS:
        _refused(network.cm_http.post(f"{own}/{action}", headers=other), 404, "consent-not-found")
    _unchanged(network, theirs, trail)


def test_a_session_without_its_csrf_token_changes_nothing(network):
    consent_id = _pending(network)
    trail = _trail(network)
    session = network.sign_in()
    base = f"/consumers/{network.consumer}/consents/{consent_id}"
    cookie_only = {"Cookie": session["Cookie"]}
    wrong = {**cookie_only, "X-CSRF-Token": secrets.token_urlsafe(32)}
    for headers in (cookie_only, wrong):
        for action in ACTIONS:
            answer = network.cm_http.post(f"{base}/{action}", headers=headers)
            _refused(answer, 403, "csrf-token-missing")
    # Reading needs no anti-forgery token: a cross-site page cannot read the answer.
    assert network.cm_http.get(base, headers=cookie_only).status_code == 200
    _unchanged(network, consent_id, trail)


def test_a_forged_session_cookie_is_refused(network):
    consent_id = _pending(network)
    trail = _trail(network)
    forged = {"Cookie": f"ies_session={secrets.token_urlsafe(32)}",
              "X-CSRF-Token": secrets.token_urlsafe(32)}  # fmt: skip
    for method, path in _doors(network.consumer, consent_id):
        _refused(network.cm_http.request(method, path, headers=forged), 401, "unauthenticated")
    _unchanged(network, consent_id, trail)
