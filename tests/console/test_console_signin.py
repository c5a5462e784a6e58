"""Issue 15, the people's doors of the console, on a real network: every refusal
answers the right status and changes nothing (a forged cookie, a missing anti-forgery
token, a replayed one-time code, another consumer's consent, a locked account); an
operator enrols with an invitation and a passkey and sees only its organisation; and
in Chromium a consumer signs in with a code, adds a passkey (the browser's virtual
authenticator), signs out, signs in with the passkey and revokes a consent."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from credentials.signin.models import LOCK_AFTER
from sandbox.console.signin_inbox import SandboxInbox, address_of, latest_code
from sandbox.network import start
from sandbox.plan import network_plan
from sandbox.seed import discom_seed
from sandbox.usecases import World, passport
from tests.conftest import BACKEND
from tests.console.bank import ask_consent
from tests.console.conftest import Sandbox
from tests.console.passkey import SoftAuthenticator
from tests.console.signin import (
    add_passkey,
    csrf_on,
    inbox,
    passkey_origin,
    send_code,
    sign_in_page,
)
from tests.sandbox.conftest import free_port_block

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND == "postgres", reason="the console's pages run on SQLite only"),
]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The network with its consumers onboarded (one use case, not all: sign-in needs
    consumers and consents, not trades or filings)."""
    os.environ.setdefault("IES_LOG_LEVEL", "WARNING")
    os.environ.pop("IES_DATABASE_URL", None)
    plan = network_plan(free_port_block(), tmp_path_factory.mktemp("signin-sandbox"))
    passphrase = secrets.token_urlsafe(24)
    network, _ = start(plan, passphrase)
    scratch = Path(tempfile.mkdtemp())
    try:
        with httpx.Client(timeout=60) as http:
            world = World(plan, http, scratch, passphrase)
            onboarded = passport.play(world)
            assert onboarded.passed, [c for c in onboarded.checks if not c.passed]
            box = Sandbox(plan, http, world)
            yield box
            for client in box.sessions.values():
                client.close()
    finally:
        network.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _consent(net: Sandbox, key: str) -> tuple[str, str]:
    """A PENDING consent the bank asked of persona ``key``: (consumer id, consent id)."""
    mine = net.signed_in(key).get(f"{net.console}/consumer/{key}/consents?format=json")
    assert mine.status_code == 200, mine.text
    consumer_id = mine.json()["consumer_id"]
    meter = discom_seed("MSEDCL").network().consumers[int(key.split("-")[1]) - 1].meter_serial
    return consumer_id, ask_consent(net.plan, net.http, consumer_id, meter)


def _status(net: Sandbox, consumer_id: str, consent_id: str) -> str:
    manager = net.plan.member("consent").url
    held = net.as_console().get(f"{manager}/consumers/{consumer_id}/consents/{consent_id}")
    return str(held.json()["status"])


def test_a_forged_session_cookie_is_refused_and_changes_nothing(net: Sandbox) -> None:
    consumer_id, consent_id = _consent(net, "mh-1")
    forged = httpx.Client(cookies={"ies_session": secrets.token_urlsafe(32)})
    page = forged.get(f"{net.console}/consumer/mh-1/consents?format=json")
    assert page.status_code == 401
    assert page.json()["type"] == "/problems/unauthenticated"
    acted = forged.post(
        f"{net.console}/consumer/mh-1/consents/{consent_id}/reject",
        data={"csrf_token": "whatever"},
    )
    assert acted.status_code == 401
    assert "ies_session=" in acted.headers.get("set-cookie", "")  # the cookie is cleared
    # A browser is sent to sign in instead of reading a problem.
    html = forged.get(f"{net.console}/consumer/mh-1/consents", headers={"Accept": "text/html"})
    assert (html.status_code, html.headers["location"]) == (303, "/signin")
    assert _status(net, consumer_id, consent_id) == "PENDING"


def test_an_unsafe_request_without_the_csrf_token_is_refused_and_changes_nothing(
    net: Sandbox,
) -> None:
    consumer_id, consent_id = _consent(net, "mh-1")
    me = net.signed_in("mh-1")
    url = f"{net.console}/consumer/mh-1/consents/{consent_id}/reject"
    for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": secrets.token_urlsafe(32)}):
        refused = me.post(url, headers=headers, data={})
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "/problems/csrf-token-missing"
    # The sign-in forms too: a cross-site form cannot sign a browser in (login CSRF).
    stranger = httpx.Client()
    assert stranger.post(f"{net.console}/signin/code", data={"who": "mh-1"}).status_code == 403
    assert _status(net, consumer_id, consent_id) == "PENDING"
    # With the token, the same request goes through.
    assert me.post(url).status_code == 303
    assert _status(net, consumer_id, consent_id) == "REJECTED"


def test_a_replayed_one_time_code_is_refused_and_opens_no_session(net: Sandbox) -> None:
    first = httpx.Client()
    token = send_code(first, net.console, "mh-2")
    code = latest_code(inbox(net.plan), address_of("mh-2"))
    form = {"who": "mh-2", "code": code, "csrf_token": token}
    assert first.post(f"{net.console}/signin/verify", data=form).status_code == 303
    thief = httpx.Client()
    token = send_code(thief, net.console, "nobody-here")  # a visit token of its own
    replay = thief.post(f"{net.console}/signin/verify", data={**form, "csrf_token": token})
    assert replay.status_code == 401, replay.text
    assert replay.json()["type"] == "/problems/sign-in-refused"
    assert "ies_session" not in thief.cookies
    assert thief.get(f"{net.console}/consumer/mh-2/consents?format=json").status_code == 401


def test_another_consumers_consent_is_refused_and_changes_nothing(net: Sandbox) -> None:
    consumer_id, consent_id = _consent(net, "mh-1")
    other = net.signed_in("mh-2")
    seen = other.get(f"{net.console}/consumer/mh-1/consents/{consent_id}?format=json")
    assert seen.status_code == 403
    acted = other.post(f"{net.console}/consumer/mh-1/consents/{consent_id}/revoke")
    assert acted.status_code == 403
    assert acted.json()["type"] == "/problems/forbidden"
    assert _status(net, consumer_id, consent_id) == "PENDING"
    # Their credentials too: neither read nor collected in their name.
    assert other.get(f"{net.console}/consumer/mh-1/credentials?format=json").status_code == 403
    collect = other.post(
        f"{net.console}/consumer/mh-1/credentials/collect", data={"kind": "passport"}
    )
    assert collect.status_code == 403
    mine = net.signed_in("mh-1").get(f"{net.console}/consumer/mh-1/credentials?format=json")
    assert mine.json()["credentials"] == []


def test_repeated_failed_sign_ins_lock_the_account_even_for_the_right_code(
    net: Sandbox,
) -> None:
    client = httpx.Client()
    statuses = []
    for _ in range(LOCK_AFTER):
        token = send_code(client, net.console, "mh-3")
        code = latest_code(inbox(net.plan), address_of("mh-3"))
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        answer = client.post(
            f"{net.console}/signin/verify", data={"who": "mh-3", "code": wrong, "csrf_token": token}
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * (LOCK_AFTER - 1) + [429]
    assert int(answer.headers["retry-after"]) > 0
    sent = len(SandboxInbox(inbox(net.plan)).messages(address_of("mh-3")))
    # Locked: no new code is sent, and the last real one does not open a session either.
    refused = client.post(f"{net.console}/signin/code", data={"who": "mh-3", "csrf_token": token})
    assert refused.status_code == 429
    assert len(SandboxInbox(inbox(net.plan)).messages(address_of("mh-3"))) == sent
    right = client.post(
        f"{net.console}/signin/verify", data={"who": "mh-3", "code": code, "csrf_token": token}
    )
    assert right.status_code == 429
    assert "ies_session" not in client.cookies


def test_an_operator_enrols_with_an_invitation_then_signs_in_with_a_passkey_only(
    net: Sandbox,
) -> None:
    authenticator = SoftAuthenticator(passkey_origin(net.console))
    client = httpx.Client()
    token = send_code(client, net.console, "discom-mh")
    invitation = latest_code(inbox(net.plan), address_of("discom-mh"))
    enrol = client.post(
        f"{net.console}/signin/verify",
        data={"who": "discom-mh", "code": invitation, "csrf_token": token},
    )
    assert enrol.headers["location"] == "/account/passkeys"
    # The invitation's session may add a passkey and nothing else.
    assert client.get(f"{net.console}/discom/discom-mh?format=json").status_code == 403
    add_passkey(client, net.console, authenticator)
    assert client.get(f"{net.console}/discom/discom-mh?format=json").status_code == 200
    # Only its organisation: another discom's pages and a consumer's are refused.
    other = next(d.name for d in net.plan.discoms() if d.name != "discom-mh")
    assert client.get(f"{net.console}/discom/{other}?format=json").status_code == 403
    assert client.get(f"{net.console}/consumer/mh-1/consents?format=json").status_code == 403
    # Sign out: the session ends on the server, not only in the browser.
    old = client.cookies["ies_session"]
    out = client.post(
        f"{net.console}/signout", data={"csrf_token": csrf_on(client, f"{net.console}/network")}
    )
    assert out.status_code == 303
    replayed = httpx.Client(cookies={"ies_session": old})
    assert replayed.get(f"{net.console}/network?format=json").status_code == 401
    # No more invitations once a passkey exists: the code path sends nothing.
    before = len(SandboxInbox(inbox(net.plan)).messages(address_of("discom-mh")))
    send_code(httpx.Client(), net.console, "discom-mh")
    assert len(SandboxInbox(inbox(net.plan)).messages(address_of("discom-mh"))) == before
    # The passkey signs in (a discoverable credential: no user name typed).
    fresh = httpx.Client()
    headers = {"X-CSRF-Token": csrf_on(fresh, f"{net.console}/signin")}
    begun = fresh.post(f"{net.console}/signin/passkey/options", headers=headers).json()
    assertion = authenticator.get(json.loads(begun["options"]))
    done = fresh.post(
        f"{net.console}/signin/passkey",
        json={"challenge_id": begun["challenge_id"], "credential": assertion},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["next"] == "/discom/discom-mh"
    assert fresh.get(f"{net.console}/discom/discom-mh?format=json").status_code == 200
    # The same challenge answered twice is refused.
    again = httpx.Client()
    headers = {"X-CSRF-Token": csrf_on(again, f"{net.console}/signin")}
    replay = again.post(
        f"{net.console}/signin/passkey",
        json={"challenge_id": begun["challenge_id"], "credential": assertion},
        headers=headers,
    )
    assert replay.status_code == 401


def test_the_console_sends_security_headers_and_has_no_inline_script_or_style(
    net: Sandbox,
) -> None:
    templates = Path(__file__).resolve().parents[2] / "sandbox" / "console" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text("utf-8")
        for script in re.findall(r"<script([^>]*)>", text):
            assert "src=" in script or 'type="application/json"' in script, template.name
        assert "<style" not in text, template.name
        assert " style=" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name  # no inline handlers
    for path in ("/signin", "/network"):
        answer = net.signed_in("mh-1").get(net.console + path, headers={"Accept": "text/html"})
        assert answer.status_code == 200
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_a_consumer_signs_in_to_the_consent_manager_with_a_code(net: Sandbox) -> None:
    consumer_id, _ = _consent(net, "mh-2")  # a consumer the manager knows by a consent
    manager = net.plan.member("consent").url
    client = httpx.Client()
    assert client.post(f"{manager}/signin/code", json={"who": consumer_id}).status_code == 202
    code = latest_code(inbox(net.plan), address_of(consumer_id))
    signed = client.post(f"{manager}/signin/verify", json={"who": consumer_id, "code": code})
    assert signed.status_code == 200, signed.text
    assert signed.json()["subject"] == consumer_id
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    # The same code again, from anywhere, opens nothing.
    replay = httpx.post(f"{manager}/signin/verify", json={"who": consumer_id, "code": code})
    assert replay.status_code == 401
    # Signing out needs the session's anti-forgery header, then ends the session.
    assert client.post(f"{manager}/signin/out").status_code == 403
    csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
    assert client.post(f"{manager}/signin/out", headers=csrf).status_code == 204
    stale = httpx.Client(cookies={"ies_session": signed.cookies["ies_session"]})
    assert stale.post(f"{manager}/signin/out", headers=csrf).status_code == 401
    # Someone the manager holds no consent for gets no code (and is told nothing).
    assert httpx.post(f"{manager}/signin/code", json={"who": "CON-0000"}).status_code == 202
    assert SandboxInbox(inbox(net.plan)).messages(address_of("CON-0000")) == []


@pytest.mark.browser
def test_a_consumer_signs_in_with_a_code_adds_a_passkey_and_signs_in_with_it(
    net: Sandbox, browser: Any, screenshots: Path
) -> None:
    consumer_id, consent_id = _consent(net, "mh-1")
    console = f"http://localhost:{urlsplit(net.console).port}"  # WebAuthn needs a name
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.goto(console + "/consumer/mh-1/consents")
    page.wait_for_url("**/signin")
    page.screenshot(path=str(screenshots / "signin.png"), full_page=True)
    sign_in_page(page, net.plan, "mh-1", console=console)
    assert page.locator("#signed-in-as").inner_text() == "mh-1"

    page.get_by_role("link", name="Passkeys").click()
    page.wait_for_url("**/account/passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_selector("tbody tr")
    assert page.locator("tbody tr").count() == 1
    page.screenshot(path=str(screenshots / "passkey-added.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    assert page.goto(console + "/consumer/mh-1/consents?format=json").status == 401
    page.goto(console + "/signin")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/consumer/mh-1/consents")
    page.screenshot(path=str(screenshots / "signed-in-with-passkey.png"), full_page=True)

    page.goto(console + f"/consumer/mh-1/consents/{consent_id}")
    page.get_by_role("button", name="Approve with these limits").click()
    page.wait_for_url("**?done=approve")
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**?done=revoke")
    assert page.locator("#consent-status").inner_text() == "REVOKED"
    page.screenshot(path=str(screenshots / "passkey-consumer-revoked.png"), full_page=True)
    assert _status(net, consumer_id, consent_id) == "REVOKED"
    page.close()


def test_no_code_reaches_any_log(net: Sandbox) -> None:
    codes = set()
    for path in inbox(net.plan).glob("*.jsonl"):
        for line in path.read_text("utf-8").splitlines():
            codes.update(re.findall(r"\b\d{6}\b", json.loads(line)["text"]))
    assert codes, "the tests above sent codes"
    for log in net.plan.data_dir.glob("*.log"):
        text = log.read_text("utf-8", errors="replace")
        leaked = [c for c in codes if re.search(rf"(?<![0-9A-Za-z]){c}(?![0-9A-Za-z])", text)]
        assert leaked == [], log.name
