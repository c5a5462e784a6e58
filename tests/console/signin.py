"""Signing in to the console the way a person does, for the console's tests: a
consumer asks for a code and reads it from the sandbox's inbox (their "phone"); an
operator redeems the invitation code from the inbox and registers a passkey (a
software authenticator here; Chromium's virtual one in the browser test)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.console.signin_inbox import address_of, latest_code
from sandbox.plan import Plan
from tests.console.passkey import SoftAuthenticator

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def inbox(plan: Plan) -> Path:
    return plan.data_dir / "inbox"


def passkey_origin(console: str) -> str:
    """The relying party is ``localhost`` at the console's port (WebAuthn needs a name)."""
    return f"http://localhost:{urlsplit(console).port}"


def csrf_on(client: httpx.Client, url: str) -> str:
    found = _CSRF.search(client.get(url, headers={"Accept": "text/html"}).text)
    assert found, f"no anti-forgery token on {url}"
    return found.group(1)


def send_code(client: httpx.Client, console: str, key: str) -> str:
    token = csrf_on(client, f"{console}/signin")
    sent = client.post(f"{console}/signin/code", data={"who": key, "csrf_token": token})
    assert sent.status_code == 303, sent.text
    return token


def sign_in(plan: Plan, key: str, *, timeout: float = 60) -> httpx.Client:
    """An httpx client holding ``key``'s session, with its anti-forgery token as a
    default header (as the console's own script sends it)."""
    console = plan.member("console").url
    client = httpx.Client(timeout=timeout)
    token = send_code(client, console, key)
    code = latest_code(inbox(plan), address_of(key))
    signed = client.post(
        f"{console}/signin/verify", data={"who": key, "code": code, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text
    if signed.headers["location"] == "/account/passkeys":  # an operator's invitation
        add_passkey(client, console, SoftAuthenticator(passkey_origin(console)))
    client.headers["X-CSRF-Token"] = csrf_on(client, f"{console}/account/passkeys")
    return client


def add_passkey(client: httpx.Client, console: str, authenticator: SoftAuthenticator) -> None:
    headers = {"X-CSRF-Token": csrf_on(client, f"{console}/account/passkeys")}
    begun = client.post(f"{console}/account/passkeys/options", headers=headers)
    assert begun.status_code == 200, begun.text
    options = json.loads(begun.json()["options"])
    answer = {
        "challenge_id": begun.json()["challenge_id"],
        "credential": authenticator.create(options),
    }
    added = client.post(f"{console}/account/passkeys", json=answer, headers=headers)
    assert added.status_code == 200, added.text


def sign_in_page(page: Any, plan: Plan, key: str, *, console: str | None = None) -> None:
    """A consumer signs in in the browser: asks for a code, reads it off the inbox."""
    console = console or plan.member("console").url
    page.goto(console + "/signin")
    page.get_by_label("Your console id").fill(key)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**/signin/code?who=*")
    page.get_by_label("One-time code").fill(latest_code(inbox(plan), address_of(key)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"**/consumer/{key}/consents")
