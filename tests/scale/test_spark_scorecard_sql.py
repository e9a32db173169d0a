"""The scorecard's SQL form (credo.scale.scorecard_sql) on DuckDB equals Scorecard.score exactly.

Property test over feature values that hit every way a value meets a bin: NULL, NaN, the special
values, every cut point and the doubles either side of it, ±inf, -0.0 and arbitrary doubles.
The Spark run of the same text is in test_spark_parity.py.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.model import Scorecard
from credo.policy.bands import BANDS, band_index
from credo.scale.scorecard_sql import double, scoring_sql, to_spark
from credo.scoring.batch import score_frame

FEATURES = ["late", "utilisation", "tenure", "bureau"]
SPECIALS = {"bureau": [-9.0, -8.0], "utilisation": [0.0]}


def training_data(seed: int = 7, n: int = 4000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    late = rng.poisson(0.6, n).astype(float)
    utilisation = rng.beta(2, 3, n)
    utilisation[rng.random(n) < 0.1] = 0.0
    tenure = rng.gamma(3, 20, n)
    bureau = rng.normal(0, 1, n)
    bureau[rng.random(n) < 0.05] = -9.0
    bureau[rng.random(n) < 0.05] = -8.0
    tenure[rng.random(n) < 0.1] = np.nan
    logit = -2.0 + 0.8 * late + 1.5 * utilisation - 0.01 * np.nan_to_num(tenure, nan=10.0) - 0.5 * bureau
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"late": late, "utilisation": utilisation, "tenure": tenure, "bureau": bureau}), y


def synthetic_scorecard() -> Scorecard:
    """A scorecard with special values, a null value and an own bin (every kind of bin the SQL has)."""
    X, y = training_data()
    return Scorecard(features=FEATURES, special_values=SPECIALS, null_values={"late": 0.0},
                     own_bins={"late": [0.0]}, binning_params={"max_n_prebins": 20, "min_prebin_size": 0.05},
                     monotone_constraints={"late": 1, "tenure": -1}).fit(X, y)


@pytest.fixture(scope="module")
def model() -> Scorecard:
    return synthetic_scorecard()


def _duckdb_scores(model: Scorecard, frame: pd.DataFrame) -> pd.DataFrame:
    """Run the SQL over an Arrow table (NaN kept as NaN, None as NULL) and return it by ``consumer_id``."""
    table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    con = duckdb.connect()
    try:
        con.register("features", table)
        rows = con.sql(scoring_sql(model, "features")).to_arrow_table().to_pylist()
    finally:
        con.close()
    # from Python values (None stays None) rather than pandas' NaN for a missing band
    return pd.DataFrame(rows, dtype=object).set_index("consumer_id").loc[frame.index]


def _values(column: pd.Series) -> list:
    """Python values, every kind of missing (None, NaN, pd.NA) as None."""
    return [None if pd.isna(v) else v for v in column.tolist()]


def edge_values(model: Scorecard) -> list[float]:
    values: list[float] = [math.nan, math.inf, -math.inf, -0.0, 0.0]
    for f in FEATURES:
        b = model.binnings_[f]
        values += list(b.specials)
        for cut in b.splits:
            values += [cut, math.nextafter(cut, -math.inf), math.nextafter(cut, math.inf)]
    return values


def test_the_model_has_specials_cuts_and_a_fill(model: Scorecard) -> None:
    """The property below is only worth something if the model has every kind of bin."""
    assert all(model.binnings_[f].splits for f in FEATURES)
    assert model.binnings_["bureau"].specials == [-9.0, -8.0]
    assert len(set(model.points_["bureau"].tolist())) > 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_duckdb_sql_equals_scorecard_score(model: Scorecard, data: st.DataObject) -> None:
    value = st.one_of(st.sampled_from(edge_values(model)), st.floats(allow_nan=True, allow_infinity=True),
                      st.integers(-20, 200).map(float), st.none())
    rows = data.draw(st.lists(st.fixed_dictionaries({f: value for f in FEATURES}), min_size=1, max_size=40))
    scorable = data.draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=len(rows), max_size=len(rows)))
    frame = pd.DataFrame(rows, columns=FEATURES, dtype=float)
    frame.index = pd.Index([f"c{i:03d}" for i in range(len(rows))], name="consumer_id")
    frame["is_scorable"] = pd.array(scorable, dtype="boolean")

    got = _duckdb_scores(model, frame)
    expected = score_frame(model, frame.assign(is_scorable=frame["is_scorable"].fillna(False).astype(bool)))
    assert got["status"].tolist() == expected["status"].tolist()
    assert _values(got["score"]) == _values(expected["score"])
    assert _values(got["band"]) == _values(expected["band"])
    # the unmasked score is Scorecard.score itself, for every row
    everyone = _duckdb_scores(model, frame.assign(is_scorable=True))
    assert everyone["score"].tolist() == model.score(frame[FEATURES]).tolist()
    names = np.array([b.name for b in BANDS], dtype=object)
    assert everyone["band"].tolist() == names[band_index(everyone["score"].to_numpy(np.int64))].tolist()


def test_null_and_nan_both_take_the_missing_bin_and_a_fill_its_value_bin(model: Scorecard) -> None:
    base = {"late": 1.0, "utilisation": 0.3, "tenure": 50.0, "bureau": 0.5}
    rows = [base, {**base, "tenure": None}, {**base, "tenure": math.nan}, {**base, "late": None},
            {**base, "late": 0.0}, {**base, "bureau": -9.0}, {**base, "utilisation": 0.0}]
    frame = pd.DataFrame(rows, dtype=float, index=pd.Index([f"c{i}" for i in range(len(rows))], name="consumer_id"))
    frame["is_scorable"] = True
    got = _duckdb_scores(model, frame)["score"].tolist()
    assert got == model.score(frame[FEATURES]).tolist()
    assert got[1] == got[2]  # NULL and NaN score alike
    assert got[3] == got[4]  # a missing "late" is read as 0, its null value


def test_literals_are_exact_doubles_on_both_engines() -> None:
    values = [0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e-7, 5e-324]
    con = duckdb.connect()
    try:
        got = con.execute("SELECT " + ", ".join(double(v) for v in values)).fetchone()
    finally:
        con.close()
    assert list(got) == values  # type: ignore[arg-type]
    assert "CAST('0.1' AS DOUBLE)" in to_spark(f"SELECT {double(0.1)}")


def test_categorical_features_are_refused_by_name() -> None:
    X, y = training_data()
    X["kind"] = np.where(X["late"] > 0, "a", "b")
    model = Scorecard(features=["late", "kind"], categorical_features=["kind"],
                      binning_params={"max_n_prebins": 20, "min_prebin_size": 0.05}).fit(X, y)
    with pytest.raises(ValueError, match="'kind'"):
        scoring_sql(model)
