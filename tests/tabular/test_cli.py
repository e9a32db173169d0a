"""`credo train --data` and `credo score --data` on files written as real ones are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from credo.cli.main import app
from credo.policy.bands import SCORE_MAX, SCORE_MIN, band_of
from credo.scoring import ModelBundle
from credo.tabular import TablePlan
from tests.tabular.conftest import loan_book

runner = CliRunner()
BAD = "Charged Off"


def _train(path: Path, models: Path, *extra: str):  # noqa: ANN202
    return runner.invoke(app, ["train", "--data", str(path), "--target", "loan_status", "--bad-value", BAD,
                               "--models", str(models), "--no-challenger", *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    directory = tmp_path_factory.mktemp("loans")
    path = directory / "loans.csv"
    loan_book().to_csv(path, index=False)
    result = _train(path, directory / "models")
    assert result.exit_code == 0, result.output
    return path, directory / "models", result.output


def _columns(models: Path) -> dict[str, dict]:
    manifest = json.loads((models / "manifest.json").read_text())
    return {c["name"]: c for c in manifest["inputs"]["columns"]}


def test_a_text_target_trains_with_bad_value(trained: tuple[Path, Path, str]) -> None:
    _, models, _ = trained
    manifest = ModelBundle.load(models).manifest
    assert manifest["inputs"]["target"] == "loan_status" and manifest["inputs"]["bad_value"] == BAD
    assert manifest["inputs"]["source"] == "loans.csv"
    assert _columns(models)["loan_status"]["decision"] == "target"
    assert manifest["validation"]["bad_rate"] == pytest.approx((loan_book()["loan_status"] == BAD).mean(), abs=0.02)
    assert manifest["validation"]["champion"]["auc"] > 0.65


def test_percent_and_currency_strings_are_numbers(trained: tuple[Path, Path, str]) -> None:
    _, models, output = trained
    columns = _columns(models)
    assert columns["int_rate"]["type"] == "numeric" and "percent" in columns["int_rate"]["parsed_as"]
    assert columns["annual_inc"]["type"] == "numeric" and "currency $" in columns["annual_inc"]["parsed_as"]
    champion = ModelBundle.load(models).champion
    assert champion.binnings_["int_rate"].dtype == "numerical"
    splits = champion.binnings_["int_rate"].splits
    assert splits and 5 <= min(splits) and max(splits) <= 30  # percent points, as written in the file
    assert "int_rate" in output and "percent" in output  # the column report was printed


def test_zip_state_and_id_are_left_out_with_a_notice(trained: tuple[Path, Path, str]) -> None:
    _, models, output = trained
    columns = _columns(models)
    assert {name: columns[name]["rule"] for name in ("zip_code", "addr_state", "member_id")} == {
        "zip_code": "geography", "addr_state": "geography", "member_id": "identifier"}
    assert all(columns[n]["decision"] == "excluded" for n in ("zip_code", "addr_state", "member_id"))
    features = set(ModelBundle.load(models).champion.features_)
    assert features == {"int_rate", "annual_inc", "term"}
    for name, rule in (("zip_code", "geography"), ("addr_state", "geography"), ("member_id", "identifier")):
        assert any(line.startswith(f"left out '{name}': rule {rule}") for line in output.splitlines()), output
    assert ModelBundle.load(models).manifest["allowed_exceptions"] == []


def test_an_allowed_zip_code_is_an_input_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    loan_book(rows=300).to_csv(path, index=False)
    because = "three-digit zip prefix; audited for disparate impact in report FR-12"
    result = _train(path, tmp_path / "m", "--allow-column", "zip_code", "--because", because)
    assert result.exit_code == 0, result.output
    bundle = ModelBundle.load(tmp_path / "m")
    assert "zip_code" in bundle.champion.features_ and "addr_state" not in bundle.champion.features_
    assert bundle.manifest["allowed_exceptions"] == [{"column": "zip_code", "rule": "geography", "because": because}]
    zip_column = _columns(tmp_path / "m")["zip_code"]
    assert (zip_column["decision"], zip_column["rule"], zip_column["because"]) == ("input", "geography", because)
    assert f"allowed 'zip_code' despite rule geography — because: {because}" in result.output


def test_separator_and_no_header(tmp_path: Path) -> None:
    path = tmp_path / "loans.txt"
    loan_book(rows=300).to_csv(path, index=False, header=False, sep=";")
    result = runner.invoke(app, ["train", "--data", str(path), "--sep", ";", "--no-header", "--target", "c7",
                                 "--bad-value", BAD, "--models", str(tmp_path / "m"), "--no-challenger"])
    assert result.exit_code == 0, result.output
    columns = _columns(tmp_path / "m")
    assert list(columns) == [f"c{i}" for i in range(1, 8)]
    # no names to go by: the zip codes, state codes and ids are caught by their values
    assert {n: columns[n]["rule"] for n in ("c1", "c5", "c6")} == {"c1": "identifier", "c5": "geography",
                                                                   "c6": "geography"}
    assert ModelBundle.load(tmp_path / "m").champion.features_ == ["c2", "c3", "c4"]


def test_score_a_table_round_trip(trained: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, models, _ = trained
    frame = loan_book(rows=40, seed=99).drop(columns=["loan_status"]).iloc[::-1].reset_index(drop=True)
    frame.loc[5, ["int_rate", "annual_inc", "term"]] = ""  # nothing to score on
    frame.loc[7, "int_rate"] = "n/a"  # one input missing: still scored
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    for out in (tmp_path / "scores.csv", tmp_path / "scores.parquet"):
        result = runner.invoke(app, ["score", "--data", str(path), "--models", str(models), "--out", str(out)])
        assert result.exit_code == 0, result.output
        scored = pd.read_csv(out, keep_default_na=False, na_values=[""]) if out.suffix == ".csv" else pd.read_parquet(out)
        assert len(scored) == len(frame) and scored["row"].tolist() == list(range(1, len(frame) + 1))
        assert scored["member_id"].tolist() == frame["member_id"].tolist()  # order kept, ids to join back
        assert scored["score"].isna().tolist() == [i == 5 for i in range(len(frame))]
        ok = scored.drop(index=5)
        assert ok["score"].between(SCORE_MIN, SCORE_MAX).all()
        assert ok["band"].tolist() == [band_of(int(s)).name for s in ok["score"]]
        assert pd.isna(scored.loc[5, "band"]) or scored.loc[5, "band"] in ("", None)
    bundle = ModelBundle.load(models)
    expected = bundle.champion.score(TablePlan.model_validate(bundle.manifest["inputs"]).apply(frame))
    assert scored.drop(index=5)["score"].astype(int).tolist() == expected.drop(index=5).tolist()
    reasons = bundle.champion.reasons(TablePlan.model_validate(bundle.manifest["inputs"]).apply(frame))
    first = [c for c in reasons.iloc[0].tolist() if c is not None]
    assert scored.loc[0, "reasons"] == ";".join(first)
    assert scored.loc[0, "reason_texts"].count(" | ") == len(first) - 1


def _one_line_error(result, problem: str) -> None:  # noqa: ANN001
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and problem in errors[0], result.output


BAD_TRAINING = [
    ("missing target", ["--target", "nope"], "target column 'nope' is not in the data"),
    ("two text values", ["--target", "loan_status"], "holds 'Charged Off' and 'Fully Paid', not 0/1"),
    ("bad value absent", ["--target", "loan_status", "--bad-value", "Default"], "--bad-value 'Default' does not occur"),
    ("constant target", ["--target", "term", "--bad-value", "36 months", "--exclude", "loan_status"], None),
    ("unknown allowed", ["--target", "loan_status", "--bad-value", BAD, "--allow-column", "nope", "--because", "x"],
     "--allow-column: no column 'nope'"),
    ("unknown excluded", ["--target", "loan_status", "--bad-value", BAD, "--exclude", "int_rate,nope"],
     "--exclude: no column 'nope'"),
    ("allowed without reason", ["--target", "loan_status", "--bad-value", BAD, "--allow-column", "zip_code"],
     "1 --allow-column but 0 --because"),
    ("nothing to allow", ["--target", "loan_status", "--bad-value", BAD, "--allow-column", "term", "--because", "x"],
     "--allow-column 'term': no rule leaves it out"),
    ("no target", [], "--data needs --target"),
    ("bad special values", ["--target", "loan_status", "--bad-value", BAD, "--special-values", "-9,x"],
     "--special-values '-9,x'"),
]


@pytest.mark.parametrize(("args", "problem"), [case[1:] for case in BAD_TRAINING], ids=[c[0] for c in BAD_TRAINING])
def test_bad_training_input_is_a_one_line_error(tmp_path: Path, args: list[str], problem: str | None) -> None:
    path = tmp_path / "loans.csv"
    book = loan_book(rows=60)
    if problem is None:  # a target with one value: every loan the same term
        book["term"] = "36 months"
        problem = "target 'term' is constant: every row is bad"
    book.to_csv(path, index=False)
    result = runner.invoke(app, ["train", "--data", str(path), "--models", str(tmp_path / "m"), "--no-challenger",
                                 *args])
    _one_line_error(result, problem)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("empty.csv", b"", "the file is empty"),
    ("header-only.csv", b"a,b,loan_status\n", "no data rows"),
    ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "a binary file"),
    ("junk.parquet", b"not parquet", "not a readable Parquet file"),
])
def test_unreadable_files_are_one_line_errors(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, ["train", "--data", str(path), "--target", "loan_status", "--models",
                                 str(tmp_path / "m")])
    _one_line_error(result, problem)
    missing = runner.invoke(app, ["train", "--data", str(tmp_path / "nope.csv"), "--target", "y"])
    _one_line_error(missing, "no such file")


def test_bad_scoring_input_is_a_one_line_error(trained: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, models, _ = trained
    path = tmp_path / "new.csv"
    loan_book(rows=20).drop(columns=["int_rate", "term"]).to_csv(path, index=False)
    out = tmp_path / "s.csv"
    score = ["score", "--models", str(models), "--data", str(path)]
    _one_line_error(runner.invoke(app, [*score, "--out", str(out)]),
                    "the data lacks input columns the model needs: int_rate, term")
    assert not out.exists()
    _one_line_error(runner.invoke(app, score), "--data needs --out FILE.csv or FILE.parquet")
    _one_line_error(runner.invoke(app, [*score, "--out", str(tmp_path / "s.json")]), "--out FILE.csv")
    _one_line_error(runner.invoke(app, [*score, "--out", str(out), "--as-of", "2025-01-01"]),
                    "--as-of applies to scoring the store")
    _one_line_error(runner.invoke(app, ["score", "--models", str(tmp_path / "none"), "--data", str(path), "--out",
                                        str(out)]), "no trained model")


def test_the_same_cells_read_the_same_at_training_and_scoring(trained: tuple[Path, Path, str]) -> None:
    """Scoring the training file through the stored plan gives the frame the model was fitted on."""
    path, models, _ = trained
    bundle = ModelBundle.load(models)
    plan = TablePlan.model_validate(bundle.manifest["inputs"])
    from credo.tabular import ReadOptions, read_table

    X = plan.apply(read_table(path, ReadOptions()))
    assert list(X.columns) == ["int_rate", "annual_inc", "term"]
    raw = loan_book()
    assert np.allclose(X["int_rate"], raw["int_rate"].str.rstrip("%").astype(float))
    assert set(X["term"]) == {"36 months", "60 months"}
