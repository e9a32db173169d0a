"""The pages over HTTP without a browser: what they show equals the API, what they record, and
the guards around sessions and forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from credo.store.tables import access_consents, access_ledger, api_keys
from tests.service.support import PASSWORD, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(tmp_path_factory.mktemp("pages"), tmp_path_factory.getbasetemp() / "service-world")
    yield w
    w.close()


def _sign_in(world: World, consumer_id: str, username: str) -> dict[str, str]:
    headers = world.consumer_token(consumer_id, username)
    world.client.cookies.clear()
    r = world.client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    return headers


def _count(world: World, table, **where) -> int:  # noqa: ANN001
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with world.engine.connect() as conn:
        return conn.execute(q).scalar_one()


def test_session_cookie_is_httponly_and_same_site_strict(world: World) -> None:
    world.consumer_token(world.low(5), "cookie-page")
    world.client.cookies.clear()
    r = world.client.post("/login", data={"username": "cookie-page", "password": PASSWORD}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


def test_score_page_shows_the_api_score_and_reasons_and_is_ledgered(world: World) -> None:
    consumer = world.low(6)
    headers = _sign_in(world, consumer, "score-page")
    before = _count(world, access_ledger)
    page = world.client.get("/me")
    api = world.client.get("/v1/me/score", headers=headers).json()
    assert re.search(r'data-testid="score">(\d+)<', page.text).group(1) == str(api["score"])
    for r in api["reasons"]:
        assert r["text"] in page.text and r["action"] in page.text
    for g in api["factor_groups"]:
        assert g["name"] in page.text
    assert api["model_version"] in page.text
    assert _count(world, access_ledger) == before + 2  # the page's read and the API's read, each recorded


def test_thin_file_page_says_how_to_become_scorable_and_shows_no_number(world: World) -> None:
    world.client.cookies.clear()
    r = world.client.post("/signup", data={"username": "thin-page", "password": "a long enough password"},
                          follow_redirects=True)
    assert r.status_code == 200
    assert "Not enough data to score you yet" in r.text
    assert 'data-testid="score"' not in r.text
    assert "What would make you scorable" in r.text


def test_a_form_post_from_another_site_is_refused_and_writes_nothing(world: World) -> None:
    consumer = world.high(5)
    _sign_in(world, consumer, "csrf-page")
    before = _count(world, access_consents, consumer_id=consumer)
    r = world.client.post("/me/consents/access", headers={"origin": "https://evil.example"},
                          data={"partner_id": "lender", "purpose": "credit_application", "scope": "score_with_reasons",
                                "days": "30"})
    assert r.status_code == 403
    assert _count(world, access_consents, consumer_id=consumer) == before
    same = world.client.post("/me/consents/access", headers={"origin": str(world.client.base_url)},
                             data={"partner_id": "lender", "purpose": "credit_application", "scope": "band",
                                   "days": "30"}, follow_redirects=False)
    assert same.status_code == 303
    assert _count(world, access_consents, consumer_id=consumer) == before + 1


def test_sign_in_never_redirects_off_site(world: World) -> None:
    world.consumer_token(world.low(7), "next-page")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        world.client.cookies.clear()
        r = world.client.post("/login", data={"username": "next-page", "password": PASSWORD, "next": target},
                              follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/me", target
    world.client.cookies.clear()
    r = world.client.post("/login", data={"username": "next-page", "password": PASSWORD, "next": "/me/ledger"},
                          follow_redirects=False)
    assert r.headers["location"] == "/me/ledger"


def test_pages_need_the_right_kind_of_session(world: World) -> None:
    world.client.cookies.clear()
    for path, login in (("/me", "/login"), ("/me/ledger", "/login"), ("/partner", "/partner/login"),
                        ("/partner/keys", "/partner/login"), ("/operator", "/operator/login")):
        r = world.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith(f"{login}?next="), path
    _sign_in(world, world.low(8), "kinds-page")
    assert world.client.get("/partner", follow_redirects=False).status_code == 303  # a consumer is not a partner


def test_revoking_the_key_a_console_signed_in_with_ends_the_session(world: World) -> None:
    world.client.cookies.clear()
    with world.engine.begin() as conn:
        from credo.registry import issue_api_key

        key = issue_api_key(conn, "lender")
    r = world.client.post("/partner/login", data={"api_key": key}, follow_redirects=False)
    assert r.status_code == 303
    assert world.client.get("/partner/keys").status_code == 200
    key_id = key.split("_")[1]
    r = world.client.post(f"/partner/keys/{key_id}/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert _count(world, api_keys, key_id=key_id) == 1
    assert world.client.get("/partner/keys", follow_redirects=False).status_code == 303


def test_a_partner_cannot_revoke_another_partners_key(world: World) -> None:
    world.client.cookies.clear()
    world.client.post("/partner/login", data={"api_key": world.keys["bikes"]})
    lender_key_id = world.keys["lender"].split("_")[1]
    r = world.client.post(f"/partner/keys/{lender_key_id}/revoke")
    assert r.status_code == 404 and "NOT_FOUND" in r.text
    assert world.client.get("/v1/partners/programmes", headers=world.partner("lender")).status_code == 200


def test_a_new_api_key_is_shown_once_and_not_cached(world: World) -> None:
    world.client.cookies.clear()
    world.client.post("/partner/login", data={"api_key": world.keys["bikes"]})
    r = world.client.post("/partner/keys")
    key = re.search(r'data-testid="new-key">([^<]+)<', r.text).group(1)
    assert r.headers["cache-control"] == "no-store"
    assert key not in world.client.get("/partner/keys").text
    assert world.client.get("/v1/partners/programmes", headers={"X-API-Key": key}).status_code == 200


def test_no_page_refers_to_another_host(world: World) -> None:
    _sign_in(world, world.high(6), "hosts-page")
    for path in ("/", "/signup", "/login", "/me", "/me/history", "/me/what-if", "/me/ledger", "/me/consents",
                 "/me/credentials", "/docs"):
        html = world.client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_a_declined_check_shows_the_partner_no_score_and_the_consumer_the_notice(world: World) -> None:
    consumer = world.low(9)
    headers = _sign_in(world, consumer, "declined-page")
    score = world.client.get("/v1/me/score", headers=headers).json()["score"]
    assert score < 700
    world.client.post("/me/consents/access", data={"partner_id": "bikes", "purpose": "deposit_waiver",
                                                   "scope": "eligibility", "days": "30"})
    world.client.cookies.clear()
    world.client.post("/partner/login", data={"api_key": world.keys["bikes"]})
    world.client.post("/partner/programmes", data={"programme_id": "deposit-700", "name": "Deposit-free at 700",
                                                   "purpose": "deposit_waiver", "threshold": "700"})
    answer = world.client.post("/partner/check", data={"consumer_id": consumer, "programme_id": "deposit-700"})
    assert "No — does not qualify" in answer.text
    assert f">{score}<" not in answer.text and f" {score} " not in answer.text
    link = re.search(r'data-testid="notice-link"[^>]*>|href="([^"]+)" data-testid="notice-link"', answer.text).group(1)
    link = link.replace("&amp;", "&")
    assert world.client.get(link, follow_redirects=False).status_code == 303  # the partner's session cannot open it

    _sign_in(world, world.low(10), "other-declined-page")
    assert world.client.get(link).status_code == 404  # another consumer: no such notice

    world.client.cookies.clear()
    world.client.post("/login", data={"username": "declined-page", "password": PASSWORD})
    notices = world.client.get("/me/notices")
    assert "declined you after checking your score" in notices.text and f"<strong>{score}</strong>" in notices.text
    printable = world.client.get(link)
    assert printable.status_code == 200 and f"<strong>{score}</strong>" in printable.text
    assert "free copy of your report" in printable.text


def test_a_missing_page_is_a_page_and_a_missing_api_path_the_envelope(world: World) -> None:
    page = world.client.get("/me/nowhere")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "Page not found" in page.text
    api = world.client.get("/v1/nowhere")
    assert api.status_code == 404 and api.json()["error"]["code"] == "NOT_FOUND"


def test_console_sign_ins_are_rate_limited(world: World) -> None:
    world.client.cookies.clear()
    codes = [world.client.post("/operator/login", data={"username": "nobody-op", "password": f"wrong {i}"}).status_code
             for i in range(world.svc.settings.login_max_failures_per_username + 1)]
    assert codes[:-1] == [401] * (len(codes) - 1)
    last = world.client.post("/operator/login", data={"username": "nobody-op", "password": "wrong again"})
    assert last.status_code == 429 and "RATE_LOGIN_LIMITED" in last.text


def test_a_form_field_outside_its_rule_gets_a_page_naming_it_and_writes_nothing(world: World) -> None:
    world.client.cookies.clear()
    world.client.post("/partner/login", data={"api_key": world.keys["lender"]})
    before = _count(world, access_ledger)
    r = world.client.post("/partner/check", data={"consumer_id": "a" * 300, "programme_id": "x"})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert "consumer_id" in r.text and "REQ_MALFORMED" in r.text
    assert _count(world, access_ledger) == before
    api = world.client.post("/v1/eligibility", json={"consumer_id": "a" * 300}, headers=world.partner("lender"))
    assert api.status_code == 422 and api.json()["error"]["code"] == "REQ_MALFORMED"
