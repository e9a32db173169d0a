"""A small loan book written as real files are: percent and currency strings, a text
outcome, an id, a masked zip code and a state column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

STATES = ["CA", "NY", "TX", "FL", "WA", "IL", "OH", "GA"]


def loan_book(rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """Risk rises with the interest rate and falls with income; zip and state carry none."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(5, 30, rows)
    income = rng.lognormal(11, 0.5, rows)
    logit = -2.0 + 0.12 * (rate - 15) - 0.8 * (np.log(income) - 11)
    bad = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({
        "member_id": [f"M{100000 + i}" for i in range(rows)],
        "int_rate": [f"{r:.2f}%" for r in rate],
        "annual_inc": [f"${v:,.2f}" for v in income],
        "term": rng.choice([" 36 months", " 60 months"], rows),
        "zip_code": [f"{z:03d}xx" for z in rng.integers(100, 160, rows)],
        "addr_state": rng.choice(STATES, rows),
        "loan_status": np.where(bad, "Charged Off", "Fully Paid"),
    })


@pytest.fixture
def loans() -> pd.DataFrame:
    return loan_book()
