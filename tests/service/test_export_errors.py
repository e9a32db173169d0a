"""The export tolerates exactly one thing, a missing model; any other failure surfaces (issue 11, finding 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from credo.service import mydata
from credo.service import scores as scoring
from tests.service.support import NOW, World


def test_without_a_model_the_export_still_carries_the_data(world: World, tmp_path: Path) -> None:
    world.svc.bundle = None
    world.svc.settings.model_dir = str(tmp_path / "no-model-here")
    cid = world.high()
    out = mydata.export(world.svc, cid, NOW)
    assert out["features"] is None and len(out["events"]) == len(world.events_of(cid))


def test_any_other_failure_is_not_swallowed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise ZeroDivisionError("a bug in the feature code")

    monkeypatch.setattr(scoring, "compute", broken)
    with pytest.raises(ZeroDivisionError):
        mydata.export(world.svc, world.high(), NOW)
