"""Audit-only attributes can never reach features or training: the code that computes them cannot name the
audit store, and what it computes is byte-identical whatever the audit store holds."""

from __future__ import annotations

import ast
import io
import pkgutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, func, select

import credo
from credo.fairness import attributes
from credo.features import compute_features, events_from_store, feature_query
from credo.features.training import monthly_dates, training_frame_from_store
from tests.service.support import NOW, World

#: The packages a score, a feature or a training row is computed in.
SCORING_PACKAGES = ("features", "scoring", "model", "ingest", "tabular", "registry", "events", "service")
#: The one module among them allowed to touch the audit store: account closure deletes a consumer's rows.
CLOSURE = "credo.service.mydata"


def _modules() -> list[tuple[str, Path]]:
    root = Path(credo.__file__).parent
    out = []
    for package in SCORING_PACKAGES:
        for info in pkgutil.walk_packages([str(root / package)], prefix=f"credo.{package}."):
            path = root / package / Path(*info.name.split(".")[2:])
            out.append((info.name, path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"))
    return out


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return found


def test_no_scoring_or_training_module_names_the_audit_store() -> None:
    modules = _modules()
    assert len(modules) > 40
    for name, path in modules:
        source = path.read_text()
        tree = ast.parse(source)
        reaching = {i for i in _imports(tree) if i.startswith("credo.fairness")}
        if name == CLOSURE:
            assert reaching <= {"credo.fairness", "credo.fairness.attributes"}
            calls = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                     and isinstance(n.value, ast.Name) and n.value.id == "attributes"}
            assert calls == {"forget"}, f"{name} may only delete audit attributes, it uses {calls}"
            continue
        assert not reaching, f"{name} imports {reaching}"
        assert "audit_attributes" not in source, f"{name} names the audit table"


def test_the_feature_and_training_paths_do_not_even_load_the_audit_store() -> None:
    code = ("import sys, credo.features, credo.features.training, credo.scoring, credo.model, credo.ingest, "
            "credo.tabular; print(sorted(m for m in sys.modules if m.startswith('credo.fairness')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
    query = feature_query(NOW)
    assert "audit" not in query.sql().lower() and "audit" not in query.to_spark_sql().lower()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buffer)
    return buffer.getvalue()


def _features_and_training(world: World) -> tuple[bytes, bytes]:
    features = compute_features(events_from_store(world.engine), NOW)
    training = training_frame_from_store(world.engine, monthly_dates(date(2023, 9, 1), date(2023, 9, 1)))
    return _parquet(features), _parquet(training)


def test_features_and_training_rows_are_byte_identical_whatever_the_audit_store_holds(world: World) -> None:
    with world.engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(attributes.audit_attributes)).scalar_one()
    assert held == 2 * 300  # the simulation's group and age band of its 300 consumers
    as_simulated = _features_and_training(world)
    with world.engine.begin() as conn:
        conn.execute(delete(attributes.audit_attributes))
    everyone = world.scored.index.to_series().rename("consumer_id").reset_index(drop=True).to_frame()
    everyone["SEX"], everyone["AGE"] = 2, 23  # other attributes, for everyone scored
    attributes.load(world.engine, everyone, source="test", now=NOW)
    assert _features_and_training(world) == as_simulated


def test_closing_an_account_deletes_its_audit_attributes_and_evaluation_rows(world: World) -> None:
    from credo.governance import registry
    from credo.store.tables import model_evaluation
    from tests.service.support import PASSWORD

    with world.engine.connect() as conn:
        version = registry.listing(conn)[0].version
        cid = registry.evaluation(conn, version)["subject_id"].iloc[0]
    headers = world.consumer_token(cid)
    closed = world.client.post("/v1/me/close", json={"password": PASSWORD}, headers=headers)
    assert closed.status_code == 200, closed.text
    with world.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(attributes.audit_attributes)
                            .where(attributes.audit_attributes.c.subject_id == cid)).scalar_one()
        rows = conn.execute(select(func.count()).select_from(model_evaluation)
                            .where(model_evaluation.c.subject_id == cid)).scalar_one()
        others = conn.execute(select(func.count()).select_from(attributes.audit_attributes)).scalar_one()
    assert left == rows == 0 and others == 2 * 299
