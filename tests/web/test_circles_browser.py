"""Circles in a real browser (Playwright driving Debian's Chromium): invite → accept (both yeses) →
show band → guess → leaderboard → hide band → leave, two people in two browsers, with an axe-core check
on every page and screenshots at desktop and phone widths in docs/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.web.test_browser import accessible, new_page, shoot, sign_in


def _members(page: Page) -> dict[str, tuple[str, str]]:
    rows = page.locator("table.members tbody tr")
    out = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        out[cells.nth(0).inner_text().replace(" (you)", "")] = (cells.nth(1).inner_text(), cells.nth(2).inner_text())
    return out


def test_invite_accept_show_guess_leaderboard_hide_and_leave(live, browser: Browser) -> None:
    world, server = live
    alice_id, bob_id = world.high(), world.low()
    world.consumer_token(alice_id, "alice-circle")
    bob_api = world.consumer_token(bob_id, "bob-circle")
    bob_band = world.client.get("/v1/me/score", headers=bob_api).json()["band"]

    alice = new_page(browser)
    sign_in(alice, server.url, "alice-circle")
    alice.get_by_role("link", name="Circles", exact=True).click()
    expect(alice.get_by_role("heading", name="Circles", exact=True)).to_be_visible()
    alice.get_by_label("Circle name").fill("Book club")
    alice.get_by_label("Your name in it").fill("Alice")
    alice.get_by_role("button", name="Start the circle").click()
    expect(alice.get_by_role("heading", name="Book club")).to_be_visible()
    circle_url = alice.url.split("?")[0]
    # invite: a code and a link, shown once
    alice.get_by_label("For how many people").fill("1")
    alice.get_by_role("button", name="Create an invitation").click()
    code = alice.get_by_test_id("invite-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    link = alice.get_by_test_id("invite-link").get_attribute("href")
    assert link and link.endswith(f"/me/circles/join#{code}")
    accessible(alice)
    shoot(alice, "consumer-circle-invite")

    # accept: Bob opens the link (the code comes from the fragment), looks, and says yes
    bob = new_page(browser)
    sign_in(bob, server.url, "bob-circle")
    bob.goto(link)
    expect(bob.get_by_label("Invitation code")).to_have_value(code)
    bob.get_by_role("button", name="Look at the invitation").click()
    expect(bob.get_by_role("heading", name=re.compile("Alice invites you to “Book club”"))).to_be_visible()
    accessible(bob)
    shoot(bob, "consumer-circle-join")
    bob.get_by_label("Your name in this circle").fill("Bob")
    bob.get_by_role("button", name="Say yes").click()
    expect(bob.get_by_text("You are in once the person who invited you says yes too.")).to_be_visible()
    expect(bob.locator("li[data-request]")).to_contain_text("Book club")
    # ... and Alice says yes too
    alice.goto(circle_url)
    alice.get_by_role("button", name="Yes, let them in (Bob)").click()
    expect(alice.get_by_text("They are in the circle now.")).to_be_visible()
    assert _members(alice) == {"Alice": ("—", "—"), "Bob": ("nothing", "—")}

    # show band: Bob lets the circle see it; Alice sees the band, never the number
    bob.goto(circle_url)
    bob.get_by_label("Show my band (never the number)").check()
    bob.get_by_role("button", name="Save").click()
    expect(bob.get_by_text("Saved. It applies from now on.")).to_be_visible()
    alice.goto(circle_url)
    assert _members(alice)["Bob"] == ("their band", bob_band)
    assert not re.search(r"\b[3-9]\d\d\b", alice.locator("table.members").inner_text())
    accessible(alice)
    shoot(alice, "consumer-circle")
    # Alice plays "guess my band"
    alice.get_by_label(re.compile("^Let them guess it")).check()
    alice.get_by_role("button", name="Save").click()
    expect(alice.get_by_text("Saved. It applies from now on.")).to_be_visible()

    # guess: Bob guesses Alice's band and learns only how close he was
    bob.get_by_role("link", name="Guess my band").click()
    bob.get_by_label("Alice's band").select_option("excellent")
    bob.get_by_role("button", name="Guess Alice's band").click()
    feedback = bob.get_by_test_id("guess-feedback")
    expect(feedback).to_contain_text("for guessing Alice is “excellent”")
    points = int(bob.get_by_test_id("my-points").inner_text())
    assert points in (0, 1, 3)
    expect(bob.locator("[data-target]")).to_have_text("Alice: guessed this month.")
    accessible(bob)
    shoot(bob, "consumer-guess")

    # leaderboard: game points, Alice 2 for inviting Bob
    bob.get_by_role("link", name="Leaderboard").click()
    rows = bob.locator("table.leaderboard tbody tr")
    board = {rows.nth(i).locator("td").nth(1).inner_text().replace(" (you)", ""):
             int(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count())}
    assert board == {"Alice": 2, "Bob": points}
    accessible(bob)
    shoot(bob, "consumer-leaderboard")

    # hide band: from Alice's next look on, nothing
    bob.goto(circle_url)
    bob.get_by_label("Nothing", exact=True).check()
    bob.get_by_role("button", name="Save").click()
    expect(bob.get_by_text("Saved. It applies from now on.")).to_be_visible()
    alice.goto(circle_url)
    assert _members(alice)["Bob"] == ("nothing", "—")

    # Who looked: Bob's ledger names Alice by her name in the circle
    bob.get_by_role("link", name="Who looked").click()
    expect(bob.get_by_text("Alice (Book club)").first).to_be_visible()

    # leave: everything of Bob's goes from the circle, points included
    bob.goto(circle_url)
    bob.get_by_role("button", name="Leave this circle").click()
    expect(bob.get_by_text("You left the circle. Nothing of yours is left in it.")).to_be_visible()
    expect(bob.get_by_text("You are not in any circle yet.")).to_be_visible()
    accessible(bob)
    shoot(bob, "consumer-circles")
    alice.goto(circle_url)
    assert list(_members(alice)) == ["Alice"]
    alice.get_by_role("link", name="Leaderboard").click()
    expect(alice.locator("table.leaderboard tbody tr")).to_have_count(1)
    expect(alice.locator("table.leaderboard tbody tr td").nth(2)).to_have_text("0")

    # badges: only Alice sees hers
    alice.goto(f"{server.url}/me/badges")
    expect(alice.get_by_test_id("streak")).to_have_text(re.compile(r"^\d+$"))
    accessible(alice)
    shoot(alice, "consumer-badges")
