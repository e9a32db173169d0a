"""The lock (requirements/constraints.txt) pins everything the project needs at the version installed
here, so a fresh clone installs what was tested; requirements/lock.py says what is missing or differs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("credo_lock", ROOT / "requirements" / "lock.py")
assert _spec and _spec.loader
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)


def test_the_lock_pins_every_need_at_the_installed_version() -> None:
    assert lock.problems(lock.needed(), lock.read_lock()) == []


def test_needs_follow_extras_and_environment_markers() -> None:
    needs = lock.needed()
    assert {"uvloop", "httptools", "websockets"} <= set(needs)  # uvicorn[standard] on Linux
    assert "psycopg-binary" in needs  # psycopg[binary]
    assert {"pytest", "ruff", "mypy"} <= set(needs)  # the test extra
    assert "colorama" not in needs  # pytest needs it on Windows only
    assert "credo" not in needs


def test_a_missing_or_different_pin_is_named() -> None:
    installed = {"alpha": "1.0", "beta": "2.0"}
    assert lock.problems(installed, {"alpha": "1.0"}) == ["beta 2.0 is needed but not locked"]
    assert lock.problems(installed, {"alpha": "1.1", "beta": "2.0", "gamma": "3"}) == [
        "alpha is locked at 1.1 but 1.0 is installed"]
    assert lock.read_lock(ROOT / "requirements" / "constraints.txt")  # the file parses


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in readme.splitlines() if line.startswith("python3 -m venv") and "pytest" in line)
    assert "-c requirements/constraints.txt" in command
    assert command in ci
