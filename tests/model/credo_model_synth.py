"""Synthetic credit data for the model tests (small and fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_data(n: int = 4000, seed: int = 0, index_offset: int = 10_000, intercept: float = -2.2):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "late_payments": rng.poisson(0.6, n).astype(float),          # risk up
        "utilisation": rng.beta(2, 3, n),                              # risk up
        "history_months": rng.gamma(3, 20, n),                         # risk down
        "inquiries": rng.poisson(1.0, n).astype(float),                # risk up
        "bureau_risk": rng.normal(0, 1, n),                            # risk up, has specials
        "housing": np.array(["own", "rent", "free"])[rng.integers(0, 3, n)],
    })
    X.loc[rng.random(n) < 0.08, "history_months"] = np.nan
    X.loc[rng.random(n) < 0.05, "bureau_risk"] = -9.0
    X.loc[rng.random(n) < 0.03, "bureau_risk"] = -8.0
    lo = (intercept + 0.7 * X.late_payments + 2.0 * X.utilisation - 0.012 * X.history_months.fillna(20)
          + 0.25 * X.inquiries + 0.5 * X.bureau_risk.where(X.bureau_risk > -5, 1.0)
          + 0.4 * (X.housing == "rent"))
    y = (rng.random(n) < 1 / (1 + np.exp(-lo))).astype(int)
    X.index = pd.RangeIndex(index_offset, index_offset + n)[rng.permutation(n)]  # non-trivial index
    return X, pd.Series(np.asarray(y), index=X.index)


