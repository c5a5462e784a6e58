"""The P2P platform's and DER onboarding's pages in a real browser, each signed in as
its own persona: the platform's blocks with their cleared prices, one block's order
book with its supply and demand curves charted, the settlement statements as stored;
the installer's application form preparing an application that waits for the
consumer, who approves it on their own page (and only then does it reach the discom's
queue, with its automatic verdict and rules); the consumer's DER and P2P settlement.
Every page has its JSON twin, passes axe-core's WCAG 2 A/AA rules, is screenshotted,
and reads on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKEND
from tests.console.conftest import Sandbox
from tests.console.test_console_browser import _axe, _shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND == "postgres", reason="the console's pages run on SQLite only"),
]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1100, "height": 900}


def _base(sandbox: Sandbox) -> str:
    return sandbox.console


def signed_in(browser: Any, sandbox: Sandbox, key: str, viewport: dict[str, int] = DESK) -> Any:
    """A page of a fresh browser context signed in as persona ``key`` (conftest's real
    sign-in: a consumer's code, an operator's passkey)."""
    return sandbox.page(browser, key, viewport=viewport)


def _twin(page: Any, url: str) -> dict[str, Any]:
    answer = page.request.get(url, headers={"Accept": "application/json"})
    assert answer.status == 200, answer.text()
    body: dict[str, Any] = answer.json()
    return body


def _fits_a_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"


def test_the_platform_shows_blocks_curves_and_stored_statements(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    page = signed_in(browser, sandbox, "p2p")
    base = _base(sandbox)
    page.goto(base + "/p2p")
    blocks = _twin(page, base + "/p2p")
    day = blocks["day"]
    cleared = [b for b in blocks["blocks"] if b["status"] == "cleared"]
    assert cleared, blocks
    assert page.locator(".uplot canvas").count() == 1  # traded kWh and price per block
    assert page.locator("#blocks tbody tr").count() == len(blocks["blocks"])
    assert _axe(page) == []
    _shot(page, screenshots, "p2p-blocks")

    # The block that cleared with the most trades: its book, curves and clearing.
    busiest = max(cleared, key=lambda b: b["trades"])
    page.get_by_role("link", name=f"#{busiest['number']}", exact=True).click()
    page.wait_for_url(f"**/p2p/blocks/{day}/{busiest['number']}")
    block = _twin(page, f"{base}/p2p/blocks/{day}/{busiest['number']}")["block"]
    assert page.locator("#block-status").inner_text() == "cleared"
    assert page.locator("#clearing-price").inner_text() == block["price_inr_per_kwh"]
    assert page.locator("#bids tbody tr").count() == len(block["bids"]) > 0
    assert page.locator("#asks tbody tr").count() == len(block["asks"]) > 0
    assert page.locator("#trades tbody tr").count() == len(block["trades"]) > 0
    # The chart has data: both curves, and the clearing price where they cross.
    chart = page.locator("[data-chart=curves]")
    assert page.locator(".uplot canvas").count() == 1
    points = chart.get_attribute("data-points")
    assert points is not None
    assert block["curves"]["demand_inr_per_kwh"][0] is not None
    assert block["curves"]["supply_inr_per_kwh"][0] is not None
    series = page.evaluate("() => document.querySelectorAll('.u-legend .u-series').length")
    assert series == 4  # the quantity axis, demand, supply, clearing price
    assert _axe(page) == []
    _shot(page, screenshots, "p2p-block-curves")

    # The statements, as the platform stored them when it settled: they balance.
    page.get_by_role("link", name="Settlement statements").first.click()
    page.wait_for_url("**/p2p/statements*")
    statements = _twin(page, f"{base}/p2p/statements?day={day}")
    assert statements["parties"], statements
    assert page.locator("#balance").inner_text() == "₹0.00"
    assert all(s["version"] >= 1 and s["settled_at"] for s in statements["parties"])
    assert _axe(page) == []
    _shot(page, screenshots, "p2p-statements")
    page.context.close()

    phone = signed_in(browser, sandbox, "p2p", PHONE)
    phone.goto(f"{base}/p2p/blocks/{day}/{busiest['number']}")
    _fits_a_phone(phone)
    assert phone.locator(".uplot canvas").count() == 1
    _shot(phone, screenshots, "phone-p2p-block")
    phone.context.close()


def _prepare(page: Any, base: str, consumer: str, kw: str) -> str:
    """The installer's form: an application for ``consumer``; its request id."""
    page.goto(base + "/installer")
    page.get_by_label("Customer", exact=True).select_option(consumer)
    page.get_by_label("DER capacity (kW, AC)").fill(kw)
    page.get_by_label("Scheme").select_option("net_metering")
    page.get_by_label("Inverter rating (kW)").fill(kw)
    page.get_by_role("button", name="Ask the customer to approve").click()
    page.wait_for_url("**/installer?done=*", timeout=60_000)
    done: str = page.get_by_role("status").first.inner_text()
    assert done.endswith("-awaiting-consumer-approval"), done
    return done.split(": ", 1)[1].removesuffix("-awaiting-consumer-approval")


def _queue_size(sandbox: Sandbox) -> int:
    discom = sandbox.plan.member("discom-mh").url
    page = sandbox.http.get(f"{discom}/der-onboarding/applications", params={"limit": 500})
    return len(page.json()["items"])


def _approve(browser: Any, sandbox: Sandbox, consumer: str, request_id: str) -> tuple[Any, str]:
    """The consumer, signed in to their own session, approves on their DER page."""
    page = signed_in(browser, sandbox, consumer)
    page.goto(_base(sandbox) + f"/consumer/{consumer}/der")
    page.locator(f"[id='ask-{request_id}']").get_by_role("button", name="Approve and share").click()
    page.wait_for_url(f"**/consumer/{consumer}/der?done=*", timeout=60_000)
    done: str = page.get_by_role("status").first.inner_text()
    return page, done.split(": ", 1)[1]


def test_the_installer_applies_and_the_discom_queue_shows_the_verdict(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    base = _base(sandbox)
    page = signed_in(browser, sandbox, "installer")
    page.goto(base + "/installer")
    assert _axe(page) == []
    _shot(page, screenshots, "installer-form")
    # Keyboard: every control of the form is labelled and reachable.
    for control in page.locator("#application-form select, #application-form input").all():
        if control.get_attribute("type") != "hidden":
            assert control.evaluate("c => c.labels.length > 0")
    queued = _queue_size(sandbox)
    request_id = _prepare(page, base, "mh-1", "2")
    row = page.locator(f"[id='req-{request_id}']").inner_text()
    assert "AWAITING_CONSUMER_APPROVAL" in row
    _shot(page, screenshots, "installer-application-sent")
    page.context.close()
    assert _queue_size(sandbox) == queued  # nothing of the consumer's reached the discom

    # The installer cannot approve for the consumer, nor another consumer for them: each
    # is refused with problem details, and nothing changes.
    installer = sandbox.signed_in("installer")
    desk = f"{base}/installer"
    for who, url, status in (
        (installer, f"{base}/consumer/mh-1/der/requests/{request_id}/approve", 403),
        (sandbox.signed_in("mh-2"), f"{base}/consumer/mh-2/der/requests/{request_id}/approve", 404),
        (sandbox.signed_in("mh-2"), f"{base}/consumer/mh-2/der/requests/{request_id}/decline", 404),
    ):
        refused = who.post(url, headers={"Accept": "application/json"})
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    requests = installer.get(desk, params={"format": "json"}).json()["requests"]
    (still,) = [r for r in requests if r["id"] == request_id]
    assert still["state"] == "AWAITING_CONSUMER_APPROVAL"
    assert _queue_size(sandbox) == queued

    # The consumer reads what is shared, with whom and why, and approves on their page.
    consumer = signed_in(browser, sandbox, "mh-1")
    consumer.goto(base + "/consumer/mh-1/der")
    ask = consumer.locator(f"[id='ask-{request_id}']")
    assert "ElectricityCredential" in ask.inner_text()
    assert "MSEDCL" in ask.inner_text()
    assert _axe(consumer) == []
    _shot(consumer, screenshots, "consumer-der-approval")
    consumer.context.close()
    consumer, done = _approve(browser, sandbox, "mh-1", request_id)
    number, outcome = done.rsplit("-", 1)
    assert number.startswith("DERAPP-MSEDCL-"), done
    assert outcome == "APPROVED", done
    assert "approved" in consumer.locator(f"[id='req-{request_id}']").inner_text().lower()
    consumer.context.close()
    assert _queue_size(sandbox) == queued + 1
    # The installer's audit trail: prepared by it, approved by the consumer's wallet, sent.
    kept = sandbox.http.get(
        f"{sandbox.plan.member('installer').url}/app/der-applications/{request_id}"
    ).json()
    assert [e["kind"] for e in kept["trail"]] == ["prepared", "approved", "sent"]
    assert kept["trail"][1]["actor"] == kept["consumerWallet"]

    # The discom's operator sees it in the queue, with its automatic verdict and rules.
    desk = signed_in(browser, sandbox, "discom-mh")
    desk.goto(base + "/discom/discom-mh/der-applications")
    queue = _twin(desk, base + "/discom/discom-mh/der-applications")
    mine = [a for a in queue["applications"] if a["applicationNumber"] == number]
    assert [a["state"] for a in mine] == ["APPROVED"]
    assert "CHANGES_REQUESTED" in queue["counts"] or "REJECTED" in queue["counts"]
    row = desk.locator("#der-queue tr", has_text=number)
    assert "APPROVED" in row.inner_text()
    # A refusal (the use case's, over the sanctioned load) shows its rule and clause.
    sent_back = next(a for a in queue["applications"] if a["failed"])
    rule = sent_back["failed"][0]
    row_text = desk.locator(f"[id='app-{sent_back['id']}']").inner_text()
    assert rule["code"] in row_text
    assert rule["clause"] in row_text
    assert _axe(desk) == []
    _shot(desk, screenshots, "discom-der-queue")
    desk.get_by_role("link", name=number, exact=True).click()
    desk.wait_for_url(f"**/der-applications/{number}")
    assert desk.locator("#application-state").inner_text() == "APPROVED"
    assert desk.locator("tbody tr").count() == len(mine[0]["verdict"]["rules"])
    assert _axe(desk) == []
    _shot(desk, screenshots, "discom-der-application")
    desk.context.close()

    # The consumer's DER: its IDs, and the DERCredential the wallet collected.
    consumer = signed_in(browser, sandbox, "mh-1")
    consumer.goto(base + "/consumer/mh-1/der")
    der = _twin(consumer, base + "/consumer/mh-1/der")
    assert [d["derId"] for d in der["ders"]] == [mine[0]["derId"]]
    assert mine[0]["derId"] in consumer.locator("main").inner_text()
    assert [c["type"] for c in der["credentials"]] == ["DERCredential"]
    assert der["credentials"][0]["issuer_status"]["status"] == "active"
    assert _axe(consumer) == []
    _shot(consumer, screenshots, "consumer-der")
    consumer.goto(base + "/consumer/mh-1/der?lang=hi")
    assert consumer.get_by_role("heading", name="मेरा रूफटॉप सोलर").is_visible()
    _shot(consumer, screenshots, "consumer-der-hi")
    consumer.context.close()


def test_a_refused_application_shows_its_rule_and_clause(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    """Over the sanctioned load, approved by the consumer: the discom sends it back for
    changes, the rule and clause on the installer's page."""
    base = _base(sandbox)
    page = signed_in(browser, sandbox, "installer")
    request_id = _prepare(page, base, "mh-2", "900")
    consumer, done = _approve(browser, sandbox, "mh-2", request_id)
    consumer.context.close()
    assert done.endswith(("CHANGES_REQUESTED", "REJECTED")), done
    number = done.rsplit("-", 1)[0]
    page.goto(base + "/installer")
    row = page.locator("#applications tr", has_text=number).first
    assert "DER-003" in row.inner_text()  # capacity over the sanctioned load, with clause
    _shot(page, screenshots, "installer-application-refused")
    page.context.close()


def test_the_consumer_sees_their_settlement_in_hindi_too(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    """mh-3 sold in the P2P use case: its trades page shows the stored statement."""
    base = _base(sandbox)
    page = signed_in(browser, sandbox, "mh-3", PHONE)
    page.goto(base + "/consumer/mh-3/trades")
    twin = _twin(page, base + "/consumer/mh-3/trades")
    assert twin["statements"], twin
    assert twin["statements"][0]["party"] == twin["consumer_id"]
    assert f"₹{twin['statements'][0]['netInr']}" in page.locator("main").inner_text()
    _fits_a_phone(page)
    assert _axe(page) == []
    _shot(page, screenshots, "phone-consumer-settlement")
    page.goto(base + "/consumer/mh-3/trades?lang=hi")
    assert page.get_by_role("heading", name="मेरा निपटान").is_visible()
    _shot(page, screenshots, "phone-consumer-settlement-hi")
    page.context.close()
