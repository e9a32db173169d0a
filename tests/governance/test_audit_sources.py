"""Where audit-only attributes come from: the simulator's synthetic groups (correlated with behaviour, apart
from events), Taiwan's SEX, EDUCATION, MARRIAGE and AGE through `credo import taiwan`, German credit's
personal status and sex, age and foreign worker through `credo train --data … --audit`; and a fairness
report on each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from sqlalchemy import select
from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.fairness.attributes import audit_attributes
from credo.governance import registry
from credo.simulate import SimulationConfig, simulate_chunk
from credo.store import create_store_engine

runner = CliRunner()
DATA = Path(__file__).parent.parent / "data"


def test_the_simulators_groups_follow_circumstances_and_never_become_events() -> None:
    chunk = simulate_chunk(SimulationConfig(consumers=4000, months=12, seed=5, chunk_size=4000), 0)
    audit = chunk.audit.to_pandas().set_index("consumer_id")
    truth = chunk.consumers.to_pandas().set_index("consumer_id")
    joined = truth.join(audit)
    b, a = joined[joined["group"] == "B"], joined[joined["group"] == "A"]
    assert 0.25 < len(b) / len(joined) < 0.5
    # B is more often at lower incomes, so less creditworthy on average: something for the audit to find
    assert a["latent_creditworthiness"].mean() - b["latent_creditworthiness"].mean() > 0.3
    assert (joined[joined["thin_file"]]["age_band"].isin(["under 25", "25-34"])).mean() > \
        (joined[~joined["thin_file"]]["age_band"].isin(["under 25", "25-34"])).mean()
    fields = {c.lower() for c in chunk.events.column_names}
    assert not fields & {"group", "age_band"} and pc.sum(pc.is_valid(chunk.events.column("type"))).as_py() > 0


def _audit(url: str) -> dict[str, dict[str, str]]:
    engine = create_store_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(audit_attributes.c.subject_id, audit_attributes.c.attribute,
                                   audit_attributes.c.value)).all()
    engine.dispose()
    out: dict[str, dict[str, str]] = {}
    for subject, attribute, value in rows:
        out.setdefault(attribute, {})[subject] = value
    return out


def test_taiwan_attributes_go_to_the_audit_store_and_into_a_fairness_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tw.db'}"
    out = tmp_path / "tw"
    imported = runner.invoke(cli, ["import", "taiwan", str(DATA / "taiwan_default_credit_card.csv"), "--out",
                                   str(out), "--db", url, "--limit", "800"])
    assert imported.exit_code == 0, imported.output
    audit = _audit(url)
    assert set(audit) == {"sex", "education", "marriage", "age_band"}
    assert len(audit["sex"]) == 800 and set(audit["sex"].values()) == {"male", "female"}
    assert audit["sex"]["tw-00001"] == "female" and audit["age_band"]["tw-00001"] == "under 25"  # row 1: SEX 2, AGE 24
    trained = runner.invoke(cli, ["train", "--db", url, "--models", str(tmp_path / "m"), "--labels",
                                  str(out / "labels.parquet"), "--as-of", "2005-10-01", "--no-challenger"])
    assert trained.exit_code == 0, trained.output
    engine = create_store_engine(url)
    with engine.connect() as conn:
        (model,) = registry.listing(conn)
    engine.dispose()
    report = runner.invoke(cli, ["fairness", "--model-version", model.version, "--db", url, "--out",
                                 str(tmp_path / "fair"), "--operator", "ops-tw"])
    assert report.exit_code == 0, report.output
    summary = json.loads((tmp_path / "fair" / "fairness.json").read_text())
    assert set(summary["attributes"]) == {"sex", "education", "marriage", "age_band"}
    assert summary["rows"] == len(registry_rows(url, model.version))
    assert "<img" in (tmp_path / "fair" / "fairness.html").read_text()


def registry_rows(url: str, version: str) -> list[str]:
    engine = create_store_engine(url)
    with engine.connect() as conn:
        rows = registry.evaluation(conn, version)["subject_id"].tolist()
    engine.dispose()
    return rows


def test_german_audit_columns_are_kept_apart_and_the_table_model_never_serves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'de.db'}"
    trained = runner.invoke(cli, ["train", "--data", str(DATA / "german.data"), "--no-header", "--target", "c21",
                                  "--bad-value", "2", "--audit", "c9,c13,c20", "--db", url, "--models",
                                  str(tmp_path / "m"), "--no-challenger"])
    assert trained.exit_code == 0, trained.output
    audit = _audit(url)
    assert set(audit) == {"sex", "personal_status", "age_band", "foreign_worker"}
    assert len(audit["sex"]) == 1000 and audit["sex"]["german.data#1"] == "male"  # row 1: A93, 67 years, A201
    assert audit["age_band"]["german.data#1"] == "55 and over" and audit["foreign_worker"]["german.data#1"] == "yes"
    engine = create_store_engine(url)
    with engine.connect() as conn:
        (model,) = registry.listing(conn)
        bundle = registry.load_bundle(conn, model.version)
    engine.dispose()
    assert model.kind == "table" and not {"c9", "c13", "c20"} & set(bundle.champion.features_)
    plan = {c["name"]: c for c in bundle.manifest["inputs"]["columns"]}
    assert all(plan[c]["rule"] == "audit-only" and plan[c]["decision"] == "excluded" for c in ("c9", "c13", "c20"))
    report = runner.invoke(cli, ["fairness", "--model-version", model.version, "--db", url, "--out",
                                 str(tmp_path / "fair")])
    assert report.exit_code == 0, report.output
    summary = json.loads((tmp_path / "fair" / "fairness.json").read_text())
    assert summary["attributes"]["sex"]["groups"] and np.isclose(
        sum(summary["attributes"]["sex"]["groups"].values()), summary["rows"])
    refused = runner.invoke(cli, ["model", "publish", model.version, "--reason", "try", "--db", url])
    assert refused.exit_code == 1 and "MODEL_NOT_SERVABLE" in refused.output
