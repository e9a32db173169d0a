"""The web app in a real browser (Playwright driving Debian's Chromium), end to end, with an
axe-core accessibility check on every main page and screenshots at desktop and phone widths
(written to ``docs/screenshots/``)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.service.support import PASSWORD
from tests.web.conftest import SCREENSHOTS

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
_axe = Axe()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def shoot(page: Page, name: str) -> None:
    """A screenshot of the page at desktop and at phone width; the page is left at desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, f"{name}: the page scrolls sideways at 360 px ({width} px wide)"
    page.set_viewport_size(DESKTOP)


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    return context.new_page()


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/me$"))


def partner_sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/partner/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/partner$"))


def test_sign_up_with_unticked_consents_shows_a_thin_file_without_a_number(live, browser: Browser) -> None:
    world, server = live
    page = new_page(browser)
    page.goto(f"{server.url}/signup")
    boxes = page.get_by_role("checkbox")
    assert boxes.count() > 0
    assert all(not boxes.nth(i).is_checked() for i in range(boxes.count())), "a consent was pre-ticked"
    accessible(page)
    page.get_by_label("Username").fill("newcomer-web")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("group", name=re.compile("Bike Rental")).get_by_label("rental.started").check()
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/me\?done=welcome$"))
    expect(page.get_by_role("heading", name="Not enough data to score you yet")).to_be_visible()
    assert page.get_by_test_id("score").count() == 0, "a thin file was shown a number"
    page.goto(f"{server.url}/me/consents")
    group = page.locator("form.card", has=page.get_by_role("group", name=re.compile("Bike Rental")))
    expect(group.get_by_text("allowed")).to_have_count(1)


def test_score_reasons_history_and_what_if(live, browser: Browser) -> None:
    world, server = live
    consumer = world.low()
    headers = world.consumer_token(consumer, "low-web")
    api = world.client.get("/v1/me/score", headers=headers).json()
    page = new_page(browser)
    sign_in(page, server.url, "low-web")
    expect(page.get_by_test_id("score")).to_have_text(str(api["score"]))
    reasons = page.locator("ol.reasons > li")
    assert reasons.count() == len(api["reasons"]) > 0
    for i, r in enumerate(api["reasons"]):
        expect(reasons.nth(i)).to_contain_text(r["text"])
    rows = page.get_by_role("table").first.locator("tbody tr")
    assert rows.count() == 5
    accessible(page)
    shoot(page, "consumer-score")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("img", name=re.compile("Your score over time"))).to_be_visible()
    accessible(page)
    shoot(page, "consumer-history")

    page.get_by_role("link", name="What if").click()
    expect(page.get_by_text("An estimate.")).to_be_visible()
    first = page.locator("table.inputs tbody input").first
    first.fill("0")
    page.get_by_role("button", name="Estimate").click()
    expect(page.get_by_test_id("estimate")).to_have_text(re.compile(r"^\d{3}$"))
    estimate = int(page.get_by_test_id("estimate").inner_text())
    assert 350 <= estimate <= 950
    accessible(page)
    shoot(page, "consumer-what-if")


def test_dispute_flags_the_record(live, browser: Browser) -> None:
    world, server = live
    consumer = world.low(1)
    world.consumer_token(consumer, "dispute-web")
    page = new_page(browser)
    sign_in(page, server.url, "dispute-web")
    page.goto(f"{server.url}/me/data")
    record = page.locator("li.record").first
    event_id = record.get_attribute("data-event")
    record.locator("summary").click()
    record.get_by_label("What is wrong with this record?").fill("I never had this account.")
    record.get_by_role("button", name="Dispute this record").click()
    expect(page).to_have_url(re.compile(r"/me/disputes"))
    expect(page.get_by_test_id("dispute-status").first).to_have_text("open")
    page.goto(f"{server.url}/me/data")
    flagged = page.locator(f'li.record[data-event="{event_id}"]')
    expect(flagged.get_by_test_id("disputed")).to_have_text("Disputed")


def test_perk_check_lands_in_the_ledger_and_a_revoked_consent_stops_the_next(live, browser: Browser) -> None:
    world, server = live
    consumer = world.high(2)
    score = world.client.get("/v1/me/score", headers=world.consumer_token(consumer, "perk-web")).json()["score"]
    me = new_page(browser)
    sign_in(me, server.url, "perk-web")
    me.goto(f"{server.url}/me/consents")
    credo_id = me.get_by_test_id("consumer-id").inner_text()
    assert credo_id == consumer
    me.get_by_label("Business").select_option("bikes")
    me.get_by_label("Purpose").select_option("deposit_waiver")
    me.get_by_label("May see").last.select_option("eligibility")
    me.get_by_role("button", name="Grant").click()
    expect(me.get_by_text("Consent granted.")).to_be_visible()
    accessible(me)

    partner = new_page(browser)
    partner_sign_in(partner, server.url, world.keys["bikes"])
    partner.get_by_label("Programme id").fill("deposit-free")
    partner.get_by_label("Name").fill("Deposit-free bike rental")
    partner.get_by_label("Purpose").select_option("deposit_waiver")
    partner.get_by_label("Threshold").select_option("650")
    partner.get_by_role("button", name="Register").click()
    expect(partner.get_by_text("Programme registered.")).to_be_visible()
    accessible(partner)
    partner.get_by_role("link", name="Eligibility check").click()
    partner.get_by_label("Customer's Credo id").fill(credo_id)
    partner.get_by_role("button", name="Check").click()
    expect(partner.get_by_test_id("answer")).to_have_text(re.compile("^(Yes|No|Not enough)"))
    answer_box = partner.locator("section.card", has=partner.get_by_test_id("answer"))
    assert str(score) not in answer_box.inner_text(), "the partner was shown the score"
    accessible(partner)
    shoot(partner, "partner-console")
    partner.goto(f"{server.url}/partner")
    expect(partner.get_by_test_id("checks-deposit-free")).to_have_text("1")

    me.get_by_role("link", name="Who looked").click()
    row = me.get_by_role("row", name=re.compile("Bike Rental"))
    expect(row.first).to_contain_text("eligibility:650")
    expect(row.first).to_contain_text("deposit waiver")
    accessible(me)
    shoot(me, "consumer-ledger")

    me.get_by_role("link", name="Consents").click()
    me.get_by_role("button", name=re.compile("Revoke consent .* for Bike Rental")).first.click()
    expect(me.get_by_text("Consent revoked.")).to_be_visible()
    partner.goto(f"{server.url}/partner/check")
    partner.get_by_label("Customer's Credo id").fill(credo_id)
    partner.get_by_role("button", name="Check").click()
    expect(partner.get_by_role("alert")).to_contain_text("ACCESS_CONSENT_REVOKED")


def test_share_then_verify_and_a_revoked_share_fails(live, browser: Browser) -> None:
    world, server = live
    world.consumer_token(world.high(4), "share-web")
    me = new_page(browser)
    sign_in(me, server.url, "share-web")
    me.get_by_role("link", name="Share", exact=True).click()

    def share() -> str:
        me.get_by_label("Who will check it").select_option("bikes")
        me.get_by_label("What to show").select_option("band")
        me.get_by_role("button", name="Create a share").click()
        expect(me.locator(".qr svg")).to_be_visible()
        return me.locator("section.shared").get_attribute("data-credential"), me.get_by_test_id("share-link").get_attribute("href")

    _, first = share()
    accessible(me)
    shoot(me, "consumer-share")
    partner = new_page(browser)
    partner_sign_in(partner, server.url, world.keys["bikes"])
    partner.goto(first)
    expect(partner.get_by_label("Share link or token")).not_to_have_value("")
    partner.get_by_role("button", name="Verify").click()
    expect(partner.get_by_test_id("verify-result")).to_have_text("Valid")
    expect(partner.get_by_text(re.compile("^Band:"))).to_be_visible()
    accessible(partner)

    second_id, second = share()
    me.goto(f"{server.url}/me/credentials")
    me.locator(f'tr[data-credential="{second_id}"]').get_by_role("button", name=re.compile("^Revoke")).click()
    expect(me.get_by_text("Credential revoked.")).to_be_visible()
    partner.goto(second)
    expect(partner.get_by_label("Share link or token")).to_have_value(second)
    partner.get_by_role("button", name="Verify").click()
    expect(partner.get_by_test_id("verify-result")).to_have_text("Not valid")
    expect(partner.locator(".code")).to_contain_text("CRED_REVOKED")


def test_close_account(live, browser: Browser) -> None:
    world, server = live
    world.consumer_token(world.low(3), "close-web")
    page = new_page(browser)
    sign_in(page, server.url, "close-web")
    page.get_by_role("link", name="Close account").click()
    accessible(page)
    page.get_by_label("Confirm with your password").fill(PASSWORD)
    page.get_by_role("button", name="Close my account for good").click()
    expect(page.get_by_test_id("closed")).to_contain_text("records deleted")
    page.goto(page.url.rsplit("/me", 1)[0] + "/me")
    expect(page).to_have_url(re.compile(r"/login\?next=/me$"))


@pytest.mark.parametrize("path", ["/", "/signup", "/login", "/partner/login", "/operator/login", "/docs"])
def test_public_pages_are_accessible_and_load_nothing_from_elsewhere(live, browser: Browser, path: str) -> None:
    world, server = live
    page = new_page(browser)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server.url, "data:")) else None)
    page.goto(f"{server.url}{path}")
    page.wait_for_load_state("networkidle")
    assert outside == []
    if path != "/docs":  # Swagger UI's own markup is not ours to fix
        accessible(page)


def test_operator_pages(live, browser: Browser) -> None:
    world, server = live
    from credo.scoring import score_population
    from credo.service import console

    bundle = world.svc.model_bundle()
    score_population(world.engine, bundle.champion, bundle.version, world.clock[0])  # a nightly run to show
    with world.engine.begin() as conn:
        console.add_operator(conn, "op-web", "an operator password", world.clock[0])
    page = new_page(browser)
    page.goto(f"{server.url}/operator/login")
    page.get_by_label("Username").fill("op-web")
    page.get_by_label("Password").fill("an operator password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/operator$"))
    expect(page.get_by_text(world.svc.model_bundle().version).first).to_be_visible()
    accessible(page)
    shoot(page, "operator-overview")
    for path, name in (("/operator/model", "operator-model"), ("/operator/scores", "operator-scores"),
                       ("/operator/runs", None), ("/operator/models", None), ("/operator/log", None),
                       ("/operator/monitor", None), ("/operator/ledger", None)):
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        accessible(page)
        if name:
            shoot(page, name)


def test_every_consumer_page_is_accessible_and_fits_a_phone(live, browser: Browser) -> None:
    world, server = live
    world.consumer_token(world.low(4), "every-page-web")
    page = new_page(browser)
    sign_in(page, server.url, "every-page-web")
    page.set_viewport_size(PHONE)
    for path in ("/me", "/me/history", "/me/what-if", "/me/data", "/me/ledger", "/me/consents", "/me/disputes",
                 "/me/notices", "/me/credentials", "/me/close"):
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{path} scrolls sideways at 360 px ({width} px)"
        accessible(page)
