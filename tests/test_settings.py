"""One settings object, validated at start-up: a server refuses placeholder secrets and a floating key directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credo.api import create_app
from credo.cli.main import app as cli
from credo.settings import DEV_LEDGER_SECRET, Settings, SettingsError, load_settings

REAL_SECRET = "0123456789abcdef0123456789abcdef-real"
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CREDO_LEDGER_SECRET", "CREDO_KEY_DIR", "CREDO_DEV_MODE", "CREDO_MAX_BATCH_EVENTS",
                 "CREDO_DATABASE_URL", "CREDO_RETENTION_MONTHS", "CREDO_RETENTION_YEARS"):
        monkeypatch.delenv(name, raising=False)


def test_a_server_refuses_to_run_without_a_real_secret_and_a_fixed_key_directory(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings().require_serving()
    assert "CREDO_LEDGER_SECRET is not set" in str(refused.value)
    assert "CREDO_KEY_DIR is not set" in str(refused.value)
    for secret, why in (("change-me-ledger-pseudonym-secret", "placeholder"), (DEV_LEDGER_SECRET, "placeholder"),
                        ("short-but-not-empty", "characters")):
        with pytest.raises(SettingsError, match=f"CREDO_LEDGER_SECRET .*{why}"):
            Settings(ledger_secret=secret, key_dir=tmp_path).require_serving()
    with pytest.raises(SettingsError, match="CREDO_KEY_DIR is 'keys', relative"):
        Settings(ledger_secret=REAL_SECRET, key_dir=Path("keys")).require_serving()
    Settings(ledger_secret=REAL_SECRET, key_dir=tmp_path).require_serving()
    # the app factory applies the same check, so no code path serves on defaults
    with pytest.raises(SettingsError, match="refusing to serve"):
        create_app(Settings(database_url="sqlite://"))


def test_development_mode_is_explicit_and_says_what_it_uses() -> None:
    dev = Settings(dev_mode=True)
    dev.require_serving()
    assert dev.ledger_key == DEV_LEDGER_SECRET.encode() and dev.key_directory == Path("keys")
    with pytest.raises(SettingsError, match="CREDO_LEDGER_SECRET is not set"):
        _ = Settings().ledger_key


def test_credo_serve_refuses_in_one_line_without_starting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "CREDO_LEDGER_SECRET is not set" in result.output and "CREDO_DEV_MODE=1" in result.output


def test_a_bad_variable_is_named_not_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREDO_MAX_BATCH_EVENTS", "lots")
    with pytest.raises(SettingsError, match="CREDO_MAX_BATCH_EVENTS is invalid"):
        load_settings()
    monkeypatch.setenv("CREDO_MAX_BATCH_EVENTS", "100")
    monkeypatch.setenv("CREDO_RETENTION_MONTHS", "0")
    problems = Settings(dev_mode=True).serving_problems()
    assert len(problems) == 1 and "CREDO_RETENTION_MONTHS" in problems[0]


def test_secrets_never_show() -> None:
    settings = Settings(ledger_secret=REAL_SECRET, database_url="postgresql+psycopg://credo:hunter2-db@db/credo")
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    assert REAL_SECRET not in shown and "hunter2-db" not in shown
    assert settings.store_url.endswith("hunter2-db@db/credo")


def test_the_readme_lists_every_setting_a_deployment_must_set() -> None:
    section = README.read_text().split("## Deploying", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(CREDO_[A-Z_]+)", section))
    assert {"CREDO_LEDGER_SECRET", "CREDO_KEY_DIR", "CREDO_DATABASE_URL", "CREDO_ISSUER"} <= named
    fields = {f"CREDO_{name.upper()}" for name in Settings.model_fields} | {"CREDO_RETENTION_MONTHS"}
    assert named <= fields, named - fields
