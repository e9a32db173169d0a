from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.support import World, make_world


@pytest.fixture
def world(tmp_path, tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    """The simulated, trained world (its `credo train` registered a candidate; its simulation loaded the
    synthetic audit groups), copied for each test."""
    w = make_world(tmp_path, tmp_path_factory.getbasetemp() / "service-world")
    yield w
    w.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_world(request: pytest.FixtureRequest, tmp_path, tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    """The world on each backend (PostgreSQL with CREDO_TEST_POSTGRES_URL: a schema per test)."""
    w = make_world(tmp_path, tmp_path_factory.getbasetemp() / "service-world", backend=request.param)
    yield w
    w.close()
