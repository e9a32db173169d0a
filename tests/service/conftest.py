from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.support import World, make_world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path, tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    """The simulated, trained world on each backend (PostgreSQL: a schema per test)."""
    w = make_world(tmp_path, tmp_path_factory.getbasetemp() / "service-world", backend=request.param)
    yield w
    w.close()
