"""The console in a real browser: a consumer decides on a consent (approves it
narrowed, then revokes it) and the bank's next fetch is refused; every page renders,
has its JSON twin, passes axe-core's WCAG 2 A/AA rules, and is screenshotted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.synthetic import IST
from sandbox.console.signin import owner_of
from sandbox.legacy import billing_register, feeder_networks, hes_window, net_metered_kwh
from sandbox.seed import discom_seed
from tests.conftest import BACKEND
from tests.console.bank import ask_consent, fetch
from tests.console.conftest import AXE, Sandbox
from tests.console.signin import sign_in_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # Once is enough: the console holds no tables, and the participants it reads are
    # tested on PostgreSQL by tests/sandbox.
    pytest.mark.skipif(BACKEND == "postgres", reason="the console's pages run on SQLite only"),
]


def _consumer(sandbox: Sandbox, persona: str) -> tuple[str, str]:
    """The persona's registry id and meter, through the console's own JSON twin."""
    page = sandbox.signed_in(persona).get(
        f"{sandbox.console}/consumer/{persona}/consents?format=json"
    )
    assert page.status_code == 200, page.text
    seed = discom_seed("MSEDCL")
    index = int(persona.split("-")[1]) - 1
    return page.json()["consumer_id"], seed.network().consumers[index].meter_serial


def _axe(page: Any) -> list[dict[str, Any]]:
    # Evaluated, not added as a <script>: the console's CSP allows no inline script.
    page.evaluate(AXE.read_text("utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_consumer_approves_narrowed_then_revokes_and_the_bank_is_refused(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    consumer_id, meter = _consumer(sandbox, "mh-1")
    consent_id = ask_consent(sandbox.plan, sandbox.http, consumer_id, meter)
    manager = sandbox.plan.member("consent").url
    page = browser.new_page(viewport={"width": 1100, "height": 900})

    # The consumer signs in with a one-time code from their inbox, without typing a URL.
    sign_in_page(page, sandbox.plan, "mh-1")
    _shot(page, screenshots, "consumer-consents-pending")
    page.get_by_role("link", name="bank.sandbox.ies.local", exact=True).click()
    page.wait_for_url(f"**/consents/{consent_id}")
    assert page.locator("#consent-status").inner_text() == "PENDING"
    _shot(page, screenshots, "consumer-consent-request")

    # The same notice in Hindi, then back to English.
    page.get_by_label("Language").select_option("hi")
    page.locator("form[action='/language'] button").click()
    assert page.locator("html").get_attribute("lang") == "hi"
    assert page.get_by_role("button", name="इन सीमाओं के साथ स्वीकार करें").is_visible()
    _shot(page, screenshots, "consumer-consent-request-hi")
    page.get_by_label("भाषा").select_option("en")
    page.locator("form[action='/language'] button").click()

    # Narrow: no export, daily, two fetches a day; then approve.
    page.get_by_label("solar sent to the grid").uncheck()
    page.get_by_label("Granularity").select_option("daily")
    page.locator("#frequency_value").fill("2")
    page.get_by_role("button", name="Approve with these limits").click()
    page.wait_for_url("**?done=approve")
    assert page.locator("#consent-status").inner_text() == "ACTIVE"
    _shot(page, screenshots, "consumer-consent-approved-narrowed")
    held = (
        sandbox.as_console().get(f"{manager}/consumers/{consumer_id}/consents/{consent_id}").json()
    )
    assert held["status"] == "ACTIVE"
    assert held["scope"]["data_types"] == ["interval_consumption", "billing"]
    assert held["scope"]["granularity"] == "daily"
    assert held["scope"]["frequency"] == {"value": 2, "unit": "day"}

    # The bank fetches under the narrowed consent: the discom's gate releases it.
    served = fetch(sandbox.plan, sandbox.http, consent_id, meter)
    assert served["status"].get("code") == "ACTIVE", served

    # The consumer revokes in one click.
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**?done=revoke")
    assert page.locator("#consent-status").inner_text() == "REVOKED"
    _shot(page, screenshots, "consumer-consent-revoked")
    assert (
        sandbox.as_console()
        .get(f"{manager}/consumers/{consumer_id}/consents/{consent_id}")
        .json()["status"]
        == "REVOKED"
    )

    # The bank's next fetch is refused by the discom's consent gate ...
    refused = fetch(sandbox.plan, sandbox.http, consent_id, meter)
    assert refused["status"].get("code") == "REJECTED", refused
    assert "consent" in refused["status"].get("name", ""), refused
    # ... and the consent manager logged the refusal, which the consumer sees.
    audit = sandbox.as_console().get(f"{manager}/consumers/{consumer_id}/audit").json()
    mine = [e for e in audit if e["consent_id"] == consent_id]
    assert [e["kind"] for e in mine if e["kind"].startswith("data_")] == [
        "data_accessed",
        "data_access_refused",
    ]
    page.get_by_role("link", name="Who accessed my data").click()
    rows = page.locator("tbody tr")
    assert rows.count() >= 2
    assert "Refused" in rows.nth(0).inner_text()
    assert "Accessed" in rows.nth(1).inner_text()
    _shot(page, screenshots, "consumer-access-log")

    # Another persona's page is not the consumer's to see.
    assert page.goto(sandbox.console + "/discom/discom-mh/data-requests").status == 403
    page.goto(sandbox.console + "/consumer/mh-1/consents")

    # The discom's operator sees the same fetch served and the next refused, with why.
    operator = sandbox.page(browser, "discom-mh")
    operator.goto(sandbox.console + "/discom/discom-mh/data-requests")
    text = operator.locator("main").inner_text()
    assert "ConsentNotActive" in text
    _shot(operator, screenshots, "discom-data-requests")

    # The message log of the refused transaction, in the network explorer: a back office
    # (issue 15), so the discom's operator sees the discom's own log, and the consumer none.
    for viewer in (operator, page):
        viewer.goto(sandbox.console + "/network")
        viewer.get_by_label("Transaction id").fill(refused["transaction_id"])
        viewer.get_by_role("button", name="Show its message log").click()
    assert operator.locator("tbody tr").count() >= 6  # select/init/confirm and their on_*
    assert page.locator("tbody tr").count() == 0
    _shot(operator, screenshots, "network-transaction")
    operator.close()
    page.close()


PAGES = [
    ("home", "/"),
    ("consumer-consents", "/consumer/mh-2/consents"),
    ("consumer-credentials", "/consumer/mh-2/credentials"),
    ("consumer-usage", "/consumer/mh-3/usage"),
    ("consumer-usage-hi", "/consumer/mh-3/usage?lang=hi"),
    ("discom-onboarding", "/discom/discom-mh"),
    ("discom-identities", "/discom/discom-mh/identities"),
    ("discom-credentials", "/discom/discom-mh/credentials"),
    ("regulator-packs", "/regulator/packs"),
    ("regulator-pack", "/regulator/packs/in-mh/1.0.0"),
    ("network", "/network"),
    ("consumer-trades", "/consumer/mh-3/trades"),
    ("p2p-platform", "/p2p"),
    ("regulator-filings", "/regulator/filings"),
    ("discom-outages", "/discom/discom-mh/outages"),
]


def test_consumer_collects_a_passport_and_shows_it_to_the_bank(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    page = sandbox.page(browser, "mh-2")
    page.goto(sandbox.console + "/consumer/mh-2/credentials")
    page.get_by_role("button", name="Collect my Energy Passport").click()
    page.wait_for_url("**?done=collect")
    assert page.locator("tbody tr").count() == 1
    assert "ElectricityCredential" in page.locator("tbody").inner_text()
    page.get_by_role("button", name="Share with the bank").click()
    page.wait_for_url("**?done=share")
    assert "verified" in page.get_by_role("status").last.inner_text()
    mine = sandbox.signed_in("mh-2")
    shown = mine.get(f"{sandbox.console}/consumer/mh-2/credentials?format=json").json()
    assert shown["shared"]["verified"] is True, shown["shared"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").first.click()
    assert download.value.suggested_filename.startswith("ElectricityCredential")
    _shot(page, screenshots, "consumer-credentials-shared")

    # The discom revokes it; the consumer's page shows the issuer's status.
    page.close()
    page = sandbox.page(browser, "discom-mh")
    page.goto(sandbox.console + "/discom/discom-mh/credentials")
    page.get_by_role("button", name="Apply").first.click()
    page.wait_for_url("**?done=revoked")
    assert "revoked" in page.locator("tbody").inner_text()
    page.close()


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_renders_accessibly_with_a_json_twin(
    sandbox: Sandbox, browser: Any, screenshots: Path, name: str, path: str
) -> None:
    owner = owner_of(path.split("?")[0]) or "mh-2"  # a persona's page, as that persona
    twin = sandbox.signed_in(owner).get(
        sandbox.console + path, headers={"Accept": "application/json"}
    )
    assert twin.status_code == 200, twin.text
    assert isinstance(twin.json(), dict)
    page = sandbox.page(browser, owner)
    response = page.goto(sandbox.console + path)
    assert response is not None
    assert response.status == 200
    assert page.locator("main").count() == 1
    assert page.locator("nav").count() >= 1
    for control in page.locator("select, input:not([type=hidden]), textarea").all():
        assert control.evaluate("c => c.labels.length > 0 || !!c.getAttribute('aria-label')")
    assert _axe(page) == []
    _shot(page, screenshots, name)
    if page.locator("[data-chart]").count():
        assert page.locator(".uplot canvas").count() == 1  # the chart was drawn
    page.close()


def test_the_console_works_on_a_phone(sandbox: Sandbox, browser: Any, screenshots: Path) -> None:
    page = sandbox.page(browser, "mh-1", viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(sandbox.console + "/consumer/mh-1/consents")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.scroll'))"
        ".map(e => e.tagName + '.' + e.className)"
    )
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px): {wide}"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # keyboard first stop
    _shot(page, screenshots, "phone-consumer-consents")
    page.close()


def test_the_regulator_reads_a_filing_the_pack_sent_back_for_corrections(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    """The inbox shows each filing's validation; a filing the pack refused carries the
    rules it broke and the clauses, its feeder losses charted, and its docket shows the
    corrected version that superseded it."""
    regulator = sandbox.plan.member("regulator").url
    filings = sandbox.http.get(f"{regulator}/filings").json()["items"]
    sent_back = [f for f in filings if not f["decision"]["allow"]]
    assert sent_back, "the filing use case left no filing the pack sent back"
    filing = sent_back[0]
    page = sandbox.page(browser, "regulator")
    page.goto(sandbox.console + "/regulator/filings")
    page.wait_for_url("**/regulator/filings")
    assert filing["filing_id"] in page.locator("main").inner_text()
    page.locator(f"a[href='/regulator/filings/{filing['id']}']").click()
    page.wait_for_url(f"**/regulator/filings/{filing['id']}")
    shown = page.locator("main").inner_text()
    assert page.locator("#filing-status").inner_text() == filing["status"]
    for violation in filing["decision"]["violations"]:
        assert violation["code"] in shown
    assert page.locator(".uplot canvas").count() == 1  # the feeder losses chart
    assert _axe(page) == []
    _shot(page, screenshots, "regulator-filing-sent-back")
    page.close()


def test_the_regulator_requests_a_correction_and_the_discom_answers_it(
    sandbox: Sandbox, browser: Any, screenshots: Path
) -> None:
    """Issue 10: the regulator opens an acknowledged filing, sends it back with a reason
    of its own through the page's form; the page shows CORRECTIONS_REQUESTED and the
    reason, the discom reads the request from the inbox, and its corrected filing
    supersedes the one sent back."""
    regulator = sandbox.plan.member("regulator").url
    filings = sandbox.http.get(f"{regulator}/filings", params={"status": "ACKNOWLEDGED"})
    acknowledged = filings.json()["items"]
    assert acknowledged, "the filing use case left no acknowledged filing"
    filing = acknowledged[-1]
    discom = next(m for m in sandbox.plan.discoms() if m.host == filing["licensee"])
    reason = "F1's input is 4 % above the SLDC's boundary meter: re-read SCADA"
    page = sandbox.page(browser, "regulator")
    page.goto(sandbox.console + "/regulator/filings")
    page.locator(f"a[href='/regulator/filings/{filing['id']}']").click()
    page.wait_for_url(f"**/regulator/filings/{filing['id']}")
    assert page.locator("#filing-status").inner_text() == "ACKNOWLEDGED"
    assert _axe(page) == []  # the form too
    page.get_by_label("Field or rule").first.fill("energyAccount/feeders/F1")
    page.get_by_label("What to correct").first.fill(reason)
    _shot(page, screenshots, "regulator-filing-request-correction")
    page.get_by_role("button", name="Request a correction").click()
    page.wait_for_url("**?done=corrections-requested")
    assert page.locator("#filing-status").inner_text() == "CORRECTIONS_REQUESTED"
    assert "energyAccount/feeders/F1" in page.locator("#correction-reasons").inner_text()
    assert reason in page.locator("#correction-reasons").inner_text()
    assert page.locator("#correction-operator").inner_text() == "regulator"
    assert page.get_by_role("button", name="Request a correction").count() == 0
    assert _axe(page) == []
    _shot(page, screenshots, "regulator-filing-correction-requested")
    page.close()

    # The discom's view: its filing in the inbox carries the commission's request.
    seen = sandbox.http.get(f"{regulator}/filings/{filing['id']}").json()
    assert seen["status"] == "CORRECTIONS_REQUESTED"
    assert seen["correction_request"]["reasons"] == [
        {"code": "energyAccount/feeders/F1", "message": reason}
    ]
    assert seen["correction_request"]["requested_by"] == sandbox.plan.member("regulator").host
    # Accountability names a person: the signed-in member of staff, inside the signed ask.
    assert seen["correction_request"]["operator"] == "regulator"
    # The page's JSON twin shows the same filing.
    desk = sandbox.signed_in("regulator")
    twin = desk.get(f"{sandbox.console}/regulator/filings/{filing['id']}?format=json")
    assert twin.json()["filing"]["correction_request"] == seen["correction_request"]
    # Asking again of a filing already sent back changes nothing: the inbox's reason shown.
    again = desk.post(
        f"{sandbox.console}/regulator/filings/{filing['id']}/corrections",
        data={"code": "FIL-003", "message": "another"},
    )
    assert again.status_code == 409, again.text
    assert 'role="alert"' in again.text
    assert sandbox.http.get(f"{regulator}/filings/{filing['id']}").json() == seen

    # The discom answers it as it answers the pack: a filing that supersedes it.
    assert discom.discom_code is not None
    seed = discom_seed(discom.discom_code)
    first, last = hes_window(datetime.now(IST).date())
    networks = feeder_networks(seed.network(), seed.feeders_tags(), seed.dts_per_feeder)
    register = billing_register(networks, net_metered_kwh(networks, first, last), first, last)
    answer = sandbox.http.post(
        f"{discom.url}/back-office/filings",
        json={"billingRegister": register, "supersedes": filing["id"]},
    )
    assert answer.status_code == 200, answer.text
    receipt = answer.json()["receipt"]
    assert (receipt["supersedes"], receipt["status"]) == (filing["id"], "ACKNOWLEDGED")
    history = sandbox.http.get(f"{regulator}/filings/{filing['id']}/versions").json()["items"]
    assert [v["status"] for v in history][-2:] == ["SUPERSEDED", "ACKNOWLEDGED"]
    assert history[-2]["correction_request"] == seen["correction_request"]


def test_an_approval_wider_than_the_request_is_refused_and_changes_nothing(
    sandbox: Sandbox,
) -> None:
    """The browser's form limits the fields, but a hand-made POST can ask for more: the
    consent manager refuses it, the console shows its reason, the consent stays PENDING."""
    consumer_id, meter = _consumer(sandbox, "mh-2")
    consent_id = ask_consent(sandbox.plan, sandbox.http, consumer_id, meter)
    answer = sandbox.signed_in("mh-2").post(
        f"{sandbox.console}/consumer/mh-2/consents/{consent_id}/approve",
        data={"frequency_value": "40", "frequency_unit": "day"},
    )
    assert answer.status_code in (409, 422), answer.text
    assert 'role="alert"' in answer.text
    manager = sandbox.plan.member("consent").url
    held = (
        sandbox.as_console().get(f"{manager}/consumers/{consumer_id}/consents/{consent_id}").json()
    )
    assert held["status"] == "PENDING"
    assert held["scope"] is None
