"""Shared fixtures: a fresh store on SQLite and, when configured, on PostgreSQL.

Set ``CREDO_TEST_POSTGRES_URL`` (``.ci/run`` does) to run every storage test
against PostgreSQL as well; each test gets its own schema, dropped afterwards.
Without it the PostgreSQL variants are skipped, so a user without PostgreSQL
still runs everything else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from schemathesis.pytest.plugin import SchemathesisFunction

from credo.store import create_store_engine, upgrade_schema

POSTGRES_URL = os.environ.get("CREDO_TEST_POSTGRES_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis operation test its own node id.

    schemathesis 4 names the item of each API operation ``test[GET /v1/…]`` but passes the bare
    function name as ``originalname``, from which pytest 9 builds node ids: every operation of a test
    got the same id, and pytest-xdist (the suite runs on 2 workers) then ran only the first operation
    of the 62. The operation label becomes the id's parameter, as pytest's own parametrisation does.
    """
    for item in items:
        if not isinstance(item, SchemathesisFunction) or item.parent is None:
            continue
        bare = item.parent.id.child(item.originalname)
        if item.nodeid == str(bare):
            item._id = bare.with_params(item.name.removeprefix(f"{item.originalname}[").removesuffix("]"))


def _postgres_store() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set CREDO_TEST_POSTGRES_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """URL of an empty store, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _postgres_store()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated, empty store on each backend."""
    eng = create_store_engine(store_url)
    upgrade_schema(eng)
    yield eng
    eng.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    """With CREDO_FAIL_ON_SKIP=1 (as in CI) a skipped test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CREDO_FAIL_ON_SKIP") == "1" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"unexpected skip in CI: {report.longrepr}"
