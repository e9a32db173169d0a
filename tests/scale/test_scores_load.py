"""``credo scores load``: a scores Parquet into the store's score history, one run, all or nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

import credo.scale.load as load_module
from credo.cli.main import app
from credo.errors import CredoError, ErrorCode
from credo.policy.bands import SCORE_MAX, SCORE_MIN, band_of
from credo.policy.reasons import REASON_CODES
from credo.scale.load import check_batch, check_row, load_scores, run_id_of
from credo.scale.score import SCORES_SCHEMA
from credo.store.tables import scores
from tests.scale.store_helpers import enrol, serve

AS_OF = datetime(2026, 12, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
VERSION = "credo-20261115-abc"
R1, R2 = REASON_CODES[0].code, REASON_CODES[1].code
runner = CliRunner()


def row(consumer_id: str, score: int | None = 720, *, status: str | None = None, band: str | None = "auto",
        reasons: list[str] | None = None, as_of: datetime = AS_OF, model_version: str = VERSION) -> dict:
    status = status or ("scored" if score is not None else "not_enough_data")
    if band == "auto":
        band = band_of(score).name if score is not None and SCORE_MIN <= score <= SCORE_MAX else None
    default = [R1] if status == "scored" else []
    return {"consumer_id": consumer_id, "as_of": as_of, "model_version": model_version, "status": status,
            "score": score, "band": band, "reasons": default if reasons is None else reasons}


def write(path: Path, rows: list[dict], schema: pa.Schema = SCORES_SCHEMA) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@pytest.fixture(autouse=True)
def serving(request):  # noqa: ANN001, ANN201
    """The store serves VERSION (tests without a store need none)."""
    if "engine" in request.fixturenames:
        serve(request.getfixturevalue("engine"), VERSION)


def stored(engine) -> list[dict]:  # noqa: ANN001
    with engine.connect() as conn:
        rows = conn.execute(select(scores).order_by(scores.c.consumer_id)).mappings().all()
    return [dict(r) for r in rows]


def test_a_file_becomes_one_run_of_active_consumers(engine, tmp_path):
    enrol(engine, "c1", "c2")
    enrol(engine, "c3", status="closed")
    path = write(tmp_path / "scores.parquet", [
        row("c1", 720, reasons=[R1, R2]), row("c2", None), row("c3", 610), row("c4", 880, reasons=[]),
    ])
    result = load_scores(engine, path, now=NOW)
    assert (result.rows, result.written, result.not_active) == (4, 2, 2)
    assert result.run_id == run_id_of(path) and result.run_id.startswith("batch-") and len(result.run_id) == 38
    assert (result.as_of, result.model_version) == (AS_OF, VERSION)
    got = stored(engine)
    assert [r["consumer_id"] for r in got] == ["c1", "c2"]  # the closed and the unknown consumer: not written
    assert {r["run_id"] for r in got} == {result.run_id}
    c1, c2 = got
    assert (c1["status"], c1["score"], c1["band"], c1["reasons"]) == ("scored", 720, band_of(720).name, [R1, R2])
    assert (c2["status"], c2["score"], c2["band"], c2["reasons"]) == ("not_enough_data", None, None, [])
    assert all(r["model_version"] == VERSION for r in got)
    assert all(r["as_of"].replace(tzinfo=timezone.utc) == AS_OF for r in got)
    assert all(r["scored_at"].replace(tzinfo=timezone.utc) == NOW for r in got)


def test_the_same_file_twice_is_refused_and_writes_nothing(engine, tmp_path):
    enrol(engine, "c1")
    path = write(tmp_path / "scores.parquet", [row("c1", 700)])
    first = load_scores(engine, path, now=NOW)
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path, now=NOW)
    assert caught.value.code is ErrorCode.BATCH_RUN_ALREADY_LOADED
    assert first.run_id in caught.value.message
    assert len(stored(engine)) == 1


BAD_ROWS = [
    (row("c2", SCORE_MAX + 1, band=None), "score"),
    (row("c2", SCORE_MIN - 1, band=None), "score"),
    (row("c2", None, status="scored"), "score"),
    (row("c2", 720, band=band_of(SCORE_MAX).name if band_of(720) != band_of(SCORE_MAX) else band_of(SCORE_MIN).name),
     "band"),
    (row("c2", 720, reasons=["R99-not-a-code"]), "reasons"),
    (row("c2", None, reasons=[R1]), "score"),
    (row("c2", 500, status="not_enough_data"), "score"),
    (row("c2", 720, status="approved"), "status"),
    (row("c1", 720), "consumer_id"),  # c1 twice
    (row("c2", 720, model_version="another-model"), "model_version"),
    (row("c2", 720, as_of=datetime(2026, 11, 1, tzinfo=timezone.utc)), "as_of"),
]


@pytest.mark.parametrize("bad, field", BAD_ROWS)
def test_a_bad_row_rejects_the_whole_file(engine, tmp_path, monkeypatch, bad, field):
    """The rows before the bad one were inserted (one batch per row here): the transaction takes them back."""
    monkeypatch.setattr(load_module, "_READ_ROWS", 1)
    enrol(engine, "c1", "c2")
    path = write(tmp_path / "scores.parquet", [row("c1", 720), bad])
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path, now=NOW)
    assert caught.value.code is ErrorCode.BATCH_SCORES_INVALID
    assert caught.value.field == field and caught.value.rule
    assert stored(engine) == []


def test_a_file_without_a_column_or_with_a_wrong_type_is_refused(engine, tmp_path):
    enrol(engine, "c1")
    no_band = SCORES_SCHEMA.remove(SCORES_SCHEMA.get_field_index("band"))
    path = write(tmp_path / "a.parquet", [{k: v for k, v in row("c1").items() if k != "band"}], no_band)
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path)
    assert (caught.value.code, caught.value.field) == (ErrorCode.BATCH_SCORES_INVALID, "band")
    text_score = SCORES_SCHEMA.set(SCORES_SCHEMA.get_field_index("score"), pa.field("score", pa.string()))
    path = write(tmp_path / "b.parquet", [{**row("c1"), "score": "seven hundred"}], text_score)
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path)
    assert (caught.value.code, caught.value.field) == (ErrorCode.BATCH_SCORES_INVALID, "score")
    path = write(tmp_path / "c.parquet", [])
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path)
    assert caught.value.code is ErrorCode.BATCH_SCORES_INVALID
    assert stored(engine) == []


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=st.integers(min_value=0, max_value=2000))
def test_a_scored_row_is_accepted_exactly_when_its_score_and_band_are_published_ones(score):
    candidate = row("c1", score)
    if SCORE_MIN <= score <= SCORE_MAX:
        check_row(candidate)
    else:
        with pytest.raises(CredoError):
            check_row(candidate)


def test_the_cli_loads_and_refuses_with_the_error_code(store_url, engine, tmp_path):
    enrol(engine, "c1", "c2")
    good = write(tmp_path / "good.parquet", [row("c1", 640), row("c2", None)])
    result = runner.invoke(app, ["scores", "load", str(good), "--db", store_url])
    assert result.exit_code == 0, result.output
    assert "2 scores as of 2026-12-01" in result.output and run_id_of(good) in result.output
    bad = write(tmp_path / "bad.parquet", [row("c1", 990, band=None)])
    result = runner.invoke(app, ["scores", "load", str(bad), "--db", store_url])
    assert result.exit_code == 2
    assert "BATCH_SCORES_INVALID" in result.output and "nothing written" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scores)).scalar_one() == 2


def test_a_directory_of_parts_is_one_run(engine, tmp_path):
    """Spark writes scores/as_of=D/ as several part files: they load as one run, under one id."""
    enrol(engine, "c1", "c2", "c3")
    parts = tmp_path / "scores"
    parts.mkdir()
    write(parts / "part-00000.parquet", [row("c1", 700), row("c2", None)])
    write(parts / "part-00001.parquet", [row("c3", 455)])
    (parts / "_SUCCESS").write_text("")
    result = load_scores(engine, parts, now=NOW)
    assert (result.rows, result.written) == (3, 3)
    assert {r["run_id"] for r in stored(engine)} == {run_id_of(parts)}
    write(parts / "part-00002.parquet", [row("c1", 800)])  # c1 again, in another part
    with pytest.raises(CredoError) as caught:
        load_scores(engine, parts, now=NOW)
    assert (caught.value.code, caught.value.field) == (ErrorCode.BATCH_SCORES_INVALID, "consumer_id")
    assert len(stored(engine)) == 3


def test_what_is_not_a_scores_parquet_is_refused(engine, tmp_path):
    text = tmp_path / "scores.parquet"
    text.write_text("consumer_id,score\nc1,700\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (text, empty):
        with pytest.raises(CredoError) as caught:
            load_scores(engine, path)
        assert (caught.value.code, caught.value.field) == (ErrorCode.BATCH_SCORES_INVALID, "scores")
    assert stored(engine) == []


def test_scores_of_a_model_that_does_not_serve_are_refused(engine, tmp_path):
    enrol(engine, "c1")
    path = write(tmp_path / "scores.parquet", [row("c1", 700, model_version="credo-20261001-old")])
    with pytest.raises(CredoError) as caught:
        load_scores(engine, path, now=NOW)
    assert (caught.value.code, caught.value.field) == (ErrorCode.MODEL_NOT_SERVABLE, "model_version")
    assert VERSION in caught.value.message
    assert stored(engine) == []


def _refusal(rows: list[dict]) -> str | None:
    """check_row's message for the first row it refuses (None: every row passes)."""
    for candidate in rows:
        try:
            check_row(candidate)
        except CredoError as exc:
            return exc.message
    return None


any_rows = st.builds(
    lambda i, status, score, band, reasons: {**row(f"c{i}", score, status=status, band=band), "reasons": reasons},
    st.integers(0, 10**6),
    st.sampled_from(["scored", "not_enough_data", "approved"]),
    st.one_of(st.none(), st.sampled_from([SCORE_MIN - 1, SCORE_MIN, 549, 550, 700, SCORE_MAX, SCORE_MAX + 1])),
    st.one_of(st.just("auto"), st.none(), st.sampled_from(["poor", "excellent", "unknown"])),
    st.one_of(st.none(), st.lists(st.one_of(st.sampled_from([R1, R2, "R99-not-a-code"]), st.none()), max_size=3)),
)
#: Rows that pass, few distinct (status, score, band, number of reasons), so a bad row often shares its key.
good_rows = st.one_of(
    st.builds(lambda i, score, reasons: row(f"c{i}", score, reasons=reasons), st.integers(0, 10**6),
              st.sampled_from([SCORE_MIN, 700]), st.lists(st.sampled_from([R1, R2]), max_size=2)),
    st.builds(lambda i, reasons: {**row(f"c{i}", None), "reasons": reasons}, st.integers(0, 10**6),
              st.sampled_from([None, []])),
)


#: One field of a passing row changed, often to a value that breaks a rule while its key stays common.
MUTATIONS = [{"status": "approved"}, {"score": SCORE_MAX + 1}, {"score": None}, {"band": "poor"}, {"band": None},
             {"reasons": None}, {"reasons": ["R99-not-a-code"]}, {"reasons": [R1, None]}, {"reasons": [R2, R1]},
             {"reasons": [R1]}, {"status": "not_enough_data"}]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(good_rows, min_size=1, max_size=30), base=st.integers(0, 29), change=st.sampled_from(MUTATIONS),
       changed_at=st.integers(0, 30), other=st.lists(any_rows, max_size=1), other_at=st.integers(0, 31))
def test_a_batch_is_refused_exactly_when_a_row_is_and_for_the_first_such_row(rows, base, change, changed_at, other,
                                                                             other_at):
    """check_batch runs check_row on a few rows per batch: it must refuse exactly the batches where some row
    fails, with that first failing row's error. The changed row is a copy of a passing row placed after it
    (its status, score, band and number of reasons often still those of a row before it), with one field changed."""
    base %= len(rows)
    after = base + 1 + changed_at % (len(rows) - base)
    rows = rows[:after] + [{**rows[base], "consumer_id": "changed", **change}] + rows[after:]
    rows = rows[:other_at] + other + rows[other_at:]
    batch = pa.RecordBatch.from_pylist(rows, schema=SCORES_SCHEMA)
    expected = _refusal(rows)
    if expected is None:
        assert check_batch(batch) == (AS_OF, VERSION)
    else:
        with pytest.raises(CredoError) as caught:
            check_batch(batch)
        assert caught.value.message == expected
