"""Operations: request-size limit, framework errors in the envelope, JSON request logs, health and readiness."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from credo.api import create_app
from credo.api.logs import JsonFormatter
from credo.service import Service
from tests.service.support import deployment_settings

SECRET_TOKEN = "credo_0123456789abcdef_sup3r-s3cret-partner-key-material"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("credo")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    settings = deployment_settings(engine.url.render_as_string(hide_password=False), key_dir=tmp_path / "keys",
                                   max_request_bytes=100_000)
    return TestClient(create_app(settings, engine, Service(engine, settings)))


def test_framework_errors_use_the_envelope(client: TestClient) -> None:
    r = client.get("/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.delete("/v1/health")
    assert r.status_code == 405 and r.json()["error"]["code"] == "REQ_METHOD_NOT_ALLOWED"
    assert r.headers["allow"] == "GET"
    r = client.post("/v1/sessions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "REQ_MALFORMED"


def test_bodies_over_the_limit_are_413_whether_declared_or_streamed(client: TestClient) -> None:
    big = b'{"events": [{"junk": "' + b"x" * 200_000 + b'"}]}'
    r = client.post("/v1/events", content=big, headers={"content-type": "application/json", "X-API-Key": "x"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "REQ_TOO_LARGE"

    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(30):
            yield b"y" * 10_000
        yield b'", "password": "x"}'

    r = client.post("/v1/sessions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "REQ_TOO_LARGE"
    padded = b'{"username": "nobody", "password": "wrong password"' + b" " * 90_000 + b"}"
    r = client.post("/v1/sessions", content=padded, headers={"content-type": "application/json"})
    assert r.status_code == 401  # under the limit: read and answered as usual


def test_one_json_line_per_request_without_secrets(client: TestClient, logs: _Lines) -> None:
    client.get("/v1/me", headers={"Authorization": f"Bearer {SECRET_TOKEN}", "X-Request-ID": "req-42"})
    client.post("/v1/eligibility", headers={"X-API-Key": SECRET_TOKEN},
                json={"consumer_id": "c-secret-person", "threshold": 600})
    client.post("/v1/sessions", json={"username": "alice.private", "password": "hunter2-password"})
    lines = [orjson.loads(x) for x in logs.lines if '"msg":"request"' in x]
    assert len(lines) == 3
    me, elig, login = lines
    assert me["request_id"] == "req-42" and me["caller"] == "consumer" and me["route"] == "/v1/me"
    assert me["status"] == 401 and me["outcome"] == "AUTH_INVALID_CREDENTIALS" and me["latency_ms"] >= 0
    assert elig["caller"] == "partner" and elig["outcome"] == "AUTH_INVALID_CREDENTIALS"
    assert login["caller"] == "anonymous" and login["route"] == "/v1/sessions"
    text = "\n".join(logs.lines)
    for secret in (SECRET_TOKEN, "sup3r", "c-secret-person", "alice.private", "hunter2"):
        assert secret not in text


def test_health_and_readiness(client: TestClient, engine: Engine, tmp_path: Path) -> None:
    assert client.get("/v1/health").json()["status"] == "ok"
    r = client.get("/v1/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"store": "ok", "schema": "ok", "issuer_keys": "ok", "model": "unavailable"}
    # the key ring moved away: not ready, and the answer says which check failed
    settings = deployment_settings(engine.url.render_as_string(hide_password=False), key_dir=tmp_path / "moved")
    moved = TestClient(create_app(settings, engine, Service(engine, settings)))
    r = moved.get("/v1/ready")
    assert r.status_code == 503 and r.json()["status"] == "not_ready"
    assert r.json()["checks"]["issuer_keys"] == "failed" and r.json()["checks"]["store"] == "ok"


def test_an_unexpected_error_is_500_in_the_envelope_and_logged_without_its_message(
        client: TestClient, logs: _Lines, monkeypatch: pytest.MonkeyPatch) -> None:
    from credo.service import accounts

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("Key (username)=(alice.private) already exists")

    monkeypatch.setattr(accounts, "login", boom)
    r = TestClient(client.app, raise_server_exceptions=False).post(
        "/v1/sessions", json={"username": "alice.private", "password": "whatever-password"})
    assert r.status_code == 500 and r.json()["error"]["code"] == "INTERNAL_ERROR"
    assert r.headers["x-request-id"] in r.json()["error"]["message"]
    text = "\n".join(logs.lines)
    assert "builtins.RuntimeError" in text and "alice.private" not in text


def test_a_page_request_is_logged_with_the_kind_of_session_cookie_it_carried(client: TestClient, logs: _Lines) -> None:
    for name, value in (("credo_session", SECRET_TOKEN), ("credo_console", SECRET_TOKEN), ("some_other", "x")):
        client.cookies.clear()
        client.cookies.set(name, value)
        client.get("/partner" if name == "credo_console" else "/me", follow_redirects=False)
    client.cookies.clear()
    lines = [orjson.loads(x) for x in logs.lines if '"msg":"request"' in x]
    assert [line["caller"] for line in lines] == ["consumer", "console", "anonymous"]
    assert SECRET_TOKEN not in "\n".join(logs.lines)
