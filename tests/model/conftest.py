"""Fixtures for the model tests."""

from __future__ import annotations

import pytest

from credo_model_synth import make_data

SPECIALS = {"bureau_risk": [-9.0, -8.0]}
CODES = {"late_payments": "R01", "utilisation": "R04", "history_months": "R07", "inquiries": "R08",
         "bureau_risk": "R02", "housing": "R10"}


@pytest.fixture(scope="session")
def data():
    return make_data()


@pytest.fixture(scope="session")
def fitted_scorecard(data):
    from credo.model import Scorecard

    X, y = data
    return Scorecard(categorical_features=["housing"], special_values=SPECIALS, reason_codes=CODES,
                     inquiry_feature="inquiries").fit(X, y)


@pytest.fixture(scope="session")
def numeric_scorecard(data):
    from credo.model import Scorecard

    X, y = data
    return Scorecard(features=["late_payments", "utilisation", "history_months", "inquiries", "bureau_risk"],
                     special_values=SPECIALS, n_jobs=2).fit(X, y)


@pytest.fixture(scope="session")
def fitted_challenger(data):
    from credo.model import MonotoneChallenger

    X, y = data
    return MonotoneChallenger(categorical_features=["housing"], special_values=SPECIALS, reason_codes=CODES,
                              inquiry_feature="inquiries", n_estimators=300, learning_rate=0.1,
                              early_stopping_rounds=30, n_jobs=1,
                              monotone_constraints={"late_payments": 1, "history_months": -1}).fit(X, y)
