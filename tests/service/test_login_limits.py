"""Consumer logins are rate-limited per username and per client, in the store (issue 11, finding 12)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.service.support import NOW, PASSWORD, World


def _limits(world: World) -> None:
    """Small limits keep the test quick (each failed attempt is a real argon2 check)."""
    world.svc.settings.login_max_failures_per_username = 3
    world.svc.settings.login_max_failures_per_client = 5


def _login(client: TestClient, username: str, password: str) -> tuple[int, str | None]:
    r = client.post("/v1/sessions", json={"username": username, "password": password})
    return r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else None


def test_a_username_is_locked_after_its_failures_until_they_leave_the_window(world: World) -> None:
    _limits(world)
    world.consumer_token(world.high(), "victim")
    limit = world.svc.settings.login_max_failures_per_username
    for _ in range(limit):
        assert _login(world.client, "victim", "guess-password") == (401, "AUTH_INVALID_CREDENTIALS")
    # the right password does not get through while the username is locked, and costs no argon2 check
    assert _login(world.client, "victim", PASSWORD) == (429, "RATE_LOGIN_LIMITED")
    # other usernames from another client are not affected; unknown usernames are limited the same way
    other = TestClient(world.client.app, client=("203.0.113.9", 5000))
    for _ in range(limit):
        assert _login(other, "nobody-at-all", "guess-password")[0] == 401
    assert _login(other, "nobody-at-all", "guess-password") == (429, "RATE_LOGIN_LIMITED")
    world.at(NOW + timedelta(minutes=world.svc.settings.login_window_minutes, seconds=1))
    assert _login(world.client, "victim", PASSWORD) == (201, None)
    # a success forgives the username's failures
    for _ in range(limit - 1):
        assert _login(world.client, "victim", "guess-password")[0] == 401
    assert _login(world.client, "victim", PASSWORD) == (201, None)


def test_a_client_spraying_many_usernames_is_refused(world: World) -> None:
    _limits(world)
    world.consumer_token(world.high(), "someone")
    sprayer = TestClient(world.client.app, client=("198.51.100.7", 4000))
    limit = world.svc.settings.login_max_failures_per_client
    for i in range(limit):
        assert _login(sprayer, f"user-{i}", "guess-password")[0] == 401
    assert _login(sprayer, "someone", PASSWORD) == (429, "RATE_LOGIN_LIMITED")
    assert _login(world.client, "someone", PASSWORD) == (201, None)  # another client gets in
