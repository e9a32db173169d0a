"""Candidates for the gate: the world's registered model, and copies of it broken one way each."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from credo.governance import gate, registry
from credo.scoring import ModelBundle
from credo.service import perks
from tests.service.support import NOW, World

OPERATOR = "ops-grace"
#: The perk threshold the gate tests register (the world's partner "bikes" offers it).
THRESHOLD = 600


def candidate(world: World) -> str:
    """The version `credo train` registered when the world was built."""
    with world.engine.connect() as conn:
        return registry.listing(conn)[-1].version


def register_programme(world: World, threshold: int = THRESHOLD) -> None:
    with world.engine.begin() as conn:
        perks.register_programme(conn, "bikes", f"perk-{threshold}", "Deposit-free bike", "deposit_waiver", threshold,
                                 NOW)


def derived(engine: Engine, version: str, suffix: str, edit: Callable[[dict[str, Any]], None] | None = None,
            manifest: Callable[[dict[str, Any]], None] | None = None, at: datetime = NOW) -> str:
    """Register a copy of ``version`` whose champion JSON went through ``edit`` (and manifest through
    ``manifest``), judged on the same registered rows; returns its version."""
    with engine.connect() as conn:
        files = registry.load_bundle(conn, version).files()
        rows = registry.evaluation_samples(conn, version)
    champion = json.loads(files["champion.json"])
    if edit is not None:
        edit(champion)
    info = json.loads(files["manifest.json"])
    info["version"] = f"{version}-{suffix}"
    if manifest is not None:
        manifest(info)
    bundle = ModelBundle.from_files({"champion.json": json.dumps(champion), "manifest.json": json.dumps(info)})
    with engine.begin() as conn:
        registry.register(conn, bundle, rows, operator=OPERATOR, reason=f"test candidate ({suffix})", at=at)
    return bundle.version


def register_fitted(engine: Engine, bundle: ModelBundle, rows: pd.DataFrame, at: datetime = NOW) -> str:
    with engine.begin() as conn:
        registry.register(conn, bundle, rows, operator=OPERATOR, reason="test candidate", at=at)
    return bundle.version


def publish(world: World, version: str, *, at: datetime | None = None, **kwargs: Any) -> gate.Decision:
    return gate.publish(world.engine, version, model="champion", operator=OPERATOR, reason="test publish",
                        at=at or NOW + timedelta(minutes=1), **kwargs)


def failed(decision: gate.Decision) -> list[str]:
    return [r.rule for r in decision.report.failed]
