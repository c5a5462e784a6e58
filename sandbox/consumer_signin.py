"""A consumer signing in at the consent manager, the real way (issue 15): no backdoor.

The sandbox's use cases (and the conformance kit run against the sandbox) play the
consumer deciding on a consent. The consent manager's consumer routes answer only the
consumer signed in there (or the console's machine token), so the consumer signs in at
the manager's own JSON sign-in API: ``POST /signin/code`` (the code goes to the
consumer's "phone", the sandbox's inbox on disk), reads the code off the inbox as a
person reads a text, ``POST /signin/verify``, and then acts with the session cookie
and the session's ``X-CSRF-Token`` on every change.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from credentials.signin.api import CSRF_HEADER, SESSION_COOKIE
from sandbox.console.signin_inbox import address_of, latest_code


class SignInFailed(RuntimeError):
    """The consent manager did not sign the consumer in: the step and its answer."""


def consumer_session(manager_url: str, inbox: Path, consumer_id: str) -> dict[str, str]:
    """Sign ``consumer_id`` in at the consent manager; the headers a signed-in call
    carries (the session cookie and the CSRF token). ``inbox``: the sandbox's inbox
    folder (``{data dir}/inbox``), where the one-time code arrives.

    Its own short-lived client: a shared one would keep the cookie in its jar and send
    it to every participant on the same loopback address (cookies ignore ports)."""
    with httpx.Client(timeout=10) as http:
        return _sign_in(http, manager_url, inbox, consumer_id)


def _sign_in(http: httpx.Client, manager_url: str, inbox: Path, consumer_id: str) -> dict[str, str]:
    sent = http.post(f"{manager_url}/signin/code", json={"who": consumer_id})
    if sent.status_code != 202:
        raise SignInFailed(f"/signin/code: HTTP {sent.status_code} {sent.text[:200]}")
    try:
        code = latest_code(inbox, address_of(consumer_id))
    except LookupError as exc:
        raise SignInFailed(f"no code arrived for {consumer_id}") from exc
    verified = http.post(f"{manager_url}/signin/verify", json={"who": consumer_id, "code": code})
    token = verified.cookies.get(SESSION_COOKIE)
    if verified.status_code != 200 or not token:
        raise SignInFailed(f"/signin/verify: HTTP {verified.status_code} {verified.text[:200]}")
    return {"Cookie": f"{SESSION_COOKIE}={token}", CSRF_HEADER: verified.json()["csrf_token"]}
