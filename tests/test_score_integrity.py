"""Score integrity on the whole simulated population: what a consumer is told is true.

One simulated population is trained on (monthly snapshots, out-of-time
validation on the latest dates) with the shipped defaults, then every
consumer is scored as of the end of the data. The checks read each
consumer's own features: a reason's statement must hold for them, a lack of
data is said as a lack of data, the top of the range has no reasons, the
range is used, published odds hold out of time, payment history carries
points, and the published weights are the model's.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credo.features import compute_features, events_from_directory
from credo.features.definitions import FEATURE_NAMES, feature_groups, model_settings
from credo.features.training import first_bad_dates, monthly_dates, training_frame
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.scoring.batch import score_frame
from credo.scoring.training import TrainingRun, with_metrics, fit_bundle
from credo.scoring.weights import weights_record
from credo.simulate import SimulationConfig, simulate_to_directory

END = date(2025, 1, 1)
LATE_COUNTS = ("late_payments_3m", "late_payments_12m", "late_payments_24m", "missed_payments_12m")
CREDIT_USE = ("revolving_utilisation", "balance_to_limit", "average_utilisation_6m", "payment_to_balance_3m",
              "payment_to_balance_6m", "total_credit_limit")
DPD = ("worst_days_past_due_24m", "worst_days_past_due_3m", "days_past_due_now")


def _any(row: pd.Series, names, test) -> bool:  # noqa: ANN001
    return any(pd.notna(row[n]) and test(row[n]) for n in names)


def _none(row: pd.Series, names) -> bool:  # noqa: ANN001
    return any(pd.isna(row[n]) for n in names)


#: What each reason says, written from its text (not from the rules the model uses): the statement
#: must hold for the consumer's own features.
STATEMENT_HOLDS = {
    "R01": lambda r: _any(r, LATE_COUNTS + DPD, lambda v: v > 0) or pd.notna(r["months_since_last_delinquency"]),
    "R02": lambda r: _any(r, DPD, lambda v: v >= 30),
    "R03": lambda r: r["derogatory_records"] > 0,
    "R04": lambda r: _any(r, ("revolving_utilisation", "average_utilisation_6m"), lambda v: v >= 0.3),
    "R05": lambda r: _any(r, ("balance_to_limit",), lambda v: v >= 0.3),
    "R06": lambda r: pd.isna(r["income_band"]),
    "R07": lambda r: _any(r, ("months_since_oldest_account", "average_account_age_months"), lambda v: True),
    "R08": lambda r: _any(r, ("inquiries_6m", "inquiries_12m", "new_accounts_6m"), lambda v: v > 0),
    "R10": lambda r: _any(r, ("bills_on_time_share_12m", "rent_on_time_share_12m"), lambda v: v < 1),
    "R11": lambda r: r["unpaid_rental_fees_12m"] > 0,
    "R12": lambda r: r["identity_level"] < 3,
    "R13": lambda r: r["open_credit_lines"] > 0,
    "R14": lambda r: pd.notna(r["tenure_months"]),
    "R15": lambda r: _none(r, CREDIT_USE),
    "R16": lambda r: _none(r, ("months_since_oldest_account", "average_account_age_months")),
    "R17": lambda r: _none(r, ("bills_on_time_share_12m", "rent_on_time_share_12m")),
    "R18": lambda r: pd.isna(r["rental_returns_on_time_share_12m"]),
    "R19": lambda r: _any(r, ("payment_to_balance_3m", "payment_to_balance_6m"), lambda v: True),
    "R20": lambda r: r["credit_payments_3m"] <= 0,
    "R21": lambda r: pd.notna(r["total_credit_limit"]),
    "R22": lambda r: pd.notna(r["income_band"]),
    "R23": lambda r: _any(r, ("revolving_utilisation", "average_utilisation_6m", "balance_to_limit"),
                          lambda v: v > 0),
    "R24": lambda r: _any(r, ("rental_returns_on_time_share_12m",), lambda v: v < 1),
    "R25": lambda r: r["credit_payments_3m"] > 0,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory: Path = tmp_path_factory.mktemp("population")
    simulate_to_directory(SimulationConfig(consumers=4000, months=24, seed=7), directory)
    events = events_from_directory(directory)
    frame = training_frame(events, monthly_dates(date(2023, 8, 1), date(2023, 12, 1)))
    names = list(FEATURE_NAMES)
    train, valid = frame[frame["sample"] == "train"], frame[frame["sample"] == "validation"]
    bundle = fit_bundle(train[names], train["label"], features=names, source="simulated population",
                        **model_settings())
    run = with_metrics(TrainingRun(bundle, train[names], train["label"], valid[names], valid["label"], ""))
    population = compute_features(events, datetime(END.year, END.month, END.day, tzinfo=timezone.utc))
    population = population[population["is_scorable"]]
    bad = first_bad_dates(events).reindex(population.index)
    already_bad = bad.map(lambda d: d is not None and not pd.isna(d) and d < END).to_numpy(bool)
    return {"run": run, "population": population, "names": names, "already_bad": already_bad}


@pytest.fixture(scope="module", params=["champion", "challenger"])
def scored(request: pytest.FixtureRequest, world: dict) -> tuple[str, pd.DataFrame]:
    model = getattr(world["run"].bundle, request.param)
    return request.param, score_frame(model, world["population"])


def test_every_reason_is_true_for_its_consumer(world: dict, scored) -> None:  # noqa: ANN001
    name, result = scored
    population = world["population"]
    given = false = 0
    examples = []
    for cid, reasons in result["reasons"].items():
        row = population.loc[cid]
        for code in reasons:
            given += 1
            if not STATEMENT_HOLDS[code](row):
                false += 1
                examples.append((cid, code))
    assert given > len(result), f"{name}: too few reasons to judge ({given})"
    assert false == 0, f"{name}: {false} false reasons, e.g. {examples[:5]}"


def test_nothing_lowers_a_score_at_the_top_and_reasons_cost_points(scored) -> None:  # noqa: ANN001
    name, result = scored
    top = result[result["score"] == SCORE_MAX]
    assert all(len(r) == 0 for r in top["reasons"]), f"{name}: reasons given at {SCORE_MAX}"
    below = result[(result["status"] == "scored") & (result["score"] < SCORE_MAX - 50)]
    assert np.mean([len(r) > 0 for r in below["reasons"]]) > 0.9


def test_the_range_is_used_without_piling_up_at_its_ends(world: dict, scored) -> None:  # noqa: ANN001
    """At most 1 % at 350 and at 950, among the consumers the score predicts for: a consumer already
    90+ days past due or charged off is at the floor by design and is left out of the share."""
    name, result = scored
    s = result["score"][~world["already_bad"]].dropna().astype(int)
    assert (s <= SCORE_MIN).mean() <= 0.01 and (s >= SCORE_MAX).mean() <= 0.01, name
    assert s.max() - s.min() >= 400, f"{name}: the population spans only {s.min()}..{s.max()}"
    validation = world["run"].bundle.manifest["validation"][name]
    assert validation["at_floor"] <= 0.01 and validation["at_cap"] <= 0.01
    # the shipped (clamped, integer) score ranks as well as the model's raw total
    assert validation["score"]["auc"] >= validation["raw_total_auc"] - 0.002


def test_published_bad_rates_hold_out_of_time(world: dict) -> None:
    bands = world["run"].bundle.manifest["validation"]["champion"]["bands"]
    misses = [(b["band"], b["n"], round(b["observed_bad_rate"], 4), round(b["expected_bad_rate"], 4))
              for b in bands if not b["holds"]]
    assert not misses, f"bands outside their 95 % interval: {misses}"
    assert sum(b["n"] > 0 for b in bands) >= 4


def test_payment_history_carries_points(world: dict) -> None:
    card = world["run"].bundle.champion
    ranges = card.point_ranges()
    assert ranges["late_payments_24m"] + ranges["late_payments_12m"] + ranges["late_payments_3m"] > 0
    assert ranges["missed_payments_12m"] > 0
    groups = feature_groups()
    assert sum(v for f, v in ranges.items() if groups[f] == "payment_history") >= 0.2 * sum(ranges.values())


def test_removing_late_and_missed_payments_raises_the_score(world: dict, scored) -> None:  # noqa: ANN001
    """The what-if "if my late and missed payments had been on time": the serving scorecard raises
    the score of at least 95 % of those who have them; no model ever lowers one."""
    name, result = scored
    model = getattr(world["run"].bundle, name)
    X = world["population"][world["names"]]
    has = (X[list(LATE_COUNTS)] > 0).any(axis=1).to_numpy() & (result["status"] == "scored").to_numpy()
    assert has.sum() >= 100
    before = model.score(X[has]).to_numpy()
    cleared = X[has].copy()
    cleared[list(LATE_COUNTS)] = 0
    after = model.score(cleared).to_numpy()
    assert (after >= before).all()
    if name == "champion":
        assert np.mean(after > before) >= 0.95, f"{np.mean(after > before):.1%} raised"


def test_published_weights_are_the_serving_models(world: dict) -> None:
    run = world["run"]
    for name in ("champion", "challenger"):
        model = getattr(run.bundle, name)
        published = run.bundle.manifest["published"][name]["weights"]
        again = weights_record(model, feature_groups(), run.X_train)
        assert published == again
        assert abs(sum(published["groups"].values()) - 100) < 0.5
        assert run.bundle.factor_weights(name) == published["groups"]
    card = run.bundle.champion
    total = sum(card.point_ranges().values())
    payment = sum(v for f, v in card.point_ranges().items() if feature_groups()[f] == "payment_history")
    assert run.bundle.factor_weights()["payment_history"] == round(100 * payment / total, 1)
