"""Drift monitoring: a scoring run against the model's training population and against the previous run.

For a batch run (``credo score``: one score-history row per consumer, as of one instant) this computes:

* the PSI of the score and of every input the model uses, against the model's registered training sample
  and against the previous run (each run's inputs recomputed from the store's events as of its instant,
  for the consumers it scored);
* the band migration matrix: consumers scored in both runs, previous band → current band;
* the bad rate by band, once the run's outcome horizon has passed (labels by the one published outcome
  definition, with hindsight; consumers already bad at the run are left out);

each PSI rated ``ok`` / ``warning`` / ``alert`` at :data:`~credo.policy.governance.PSI_WARNING` /
:data:`~credo.policy.governance.PSI_ALERT`. An input is *flagged* when its distribution moved since the
previous run (a warning or an alert: a partner's feed changed, a bug, a shock), or, for a first run, since
training. The comparison with training is levelled and shown for every run too: it also moves as the
population ages after the model was trained, which calls for retraining rather than for a look at a feed.
The report's level is the worst of the flagged comparison's levels (inputs and score). PSI bins are the
reference's deciles (:data:`~credo.policy.governance.PSI_BINS`), missing values a bin of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from credo.features import compute_features
from credo.features.builder import add_months
from credo.features.training import data_end, first_bad_dates
from credo.model.metrics import calibration_by_band, psi
from credo.policy import governance as rules
from credo.policy.bands import BANDS
from credo.policy.outcome import HORIZON_MONTHS

LEVELS = ("ok", "warning", "alert")


@dataclass(frozen=True)
class RunData:
    """One batch run as the monitor reads it: its scored consumers' scores, bands and inputs."""

    run_id: str
    as_of: datetime
    model_version: str
    scores: pd.DataFrame  # index consumer_id: score, band
    features: pd.DataFrame  # index consumer_id: the model's inputs as of the run


def run_data(events: pa.Table, run_id: str, as_of: datetime, model_version: str, scored: pd.DataFrame,
             inputs: list[str]) -> RunData:
    """``scored``: the run's scored rows (``consumer_id``, ``score``, ``band``); inputs recomputed as of the run."""
    scored = scored.set_index("consumer_id")
    features = compute_features(events, as_of, consumers=list(scored.index))
    return RunData(run_id, as_of, model_version, scored[["score", "band"]], features.reindex(scored.index)[inputs])


@dataclass
class DriftReport:
    run_id: str
    as_of: datetime
    model_version: str
    previous_run_id: str | None
    previous_as_of: datetime | None
    consumers: int
    score_psi: dict[str, float | None]
    features: pd.DataFrame  # feature, psi_training, level_training, psi_previous, level_previous, flagged
    migration: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    outcome_note: str

    @property
    def flagged(self) -> list[str]:
        return list(self.features.loc[self.features["flagged"], "feature"])

    @property
    def against(self) -> str:
        """What the flags compare with: the previous run when there is one, else training."""
        return "previous" if self.previous_run_id is not None else "training"

    @property
    def level(self) -> str:
        levels = [*self.features[f"level_{self.against}"], rules.psi_level(self.score_psi[self.against] or 0.0)]
        return max(levels, key=LEVELS.index, default="ok")

    def summary(self) -> dict[str, Any]:
        def num(v: Any) -> float | None:
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), 6)

        return {
            "run_id": self.run_id, "as_of": self.as_of.isoformat(), "model_version": self.model_version,
            "previous_run_id": self.previous_run_id,
            "previous_as_of": self.previous_as_of.isoformat() if self.previous_as_of else None,
            "consumers": self.consumers, "level": self.level, "flagged": self.flagged, "flagged_against": self.against,
            "limits": {"warning": rules.PSI_WARNING, "alert": rules.PSI_ALERT, "bins": rules.PSI_BINS},
            "score_psi": {k: num(v) for k, v in self.score_psi.items()},
            "features": [{"feature": r["feature"], "psi_training": num(r["psi_training"]),
                          "level_training": r["level_training"], "psi_previous": num(r["psi_previous"]),
                          "level_previous": r["level_previous"], "flagged": bool(r["flagged"])}
                         for _, r in self.features.iterrows()],
            "migration": None if self.migration is None else {
                str(a): {str(b): int(n) for b, n in row.items()} for a, row in self.migration.iterrows()},
            "outcomes": None if self.outcomes is None else [
                {k: (num(v) if isinstance(v, float) else (int(v) if isinstance(v, (int, np.integer)) else v))
                 for k, v in r.items()} for r in self.outcomes.to_dict("records")],
            "outcome_note": self.outcome_note,
        }


def _psi(reference: pd.Series, current: pd.Series) -> float:
    return psi(pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float),
               pd.to_numeric(current, errors="coerce").to_numpy(dtype=float), bins=rules.PSI_BINS)


def migration_matrix(previous: RunData, current: RunData) -> pd.DataFrame:
    """Consumers scored in both runs: rows the previous band, columns the current band (counts)."""
    both = previous.scores[["band"]].rename(columns={"band": "band_previous"}).join(current.scores[["band"]],
                                                                                    how="inner")
    names = [b.name for b in BANDS]
    table = pd.crosstab(pd.Categorical(both["band_previous"], names), pd.Categorical(both["band"], names),
                        dropna=False)
    table.index.name, table.columns.name = "previous band", "current band"
    return table


def outcomes_by_band(events: pa.Table, run: RunData, published: list[dict] | None) -> tuple[pd.DataFrame | None, str]:
    """Observed bad rate per band of the run, once its horizon is covered by the data; else why not."""
    end = data_end(events)
    horizon_end = add_months(run.as_of, HORIZON_MONTHS)
    if end is None or end < horizon_end - timedelta(days=1):
        return None, (f"outcomes not known yet: the {HORIZON_MONTHS}-month horizon of a run as of "
                      f"{run.as_of:%Y-%m-%d} ends {horizon_end:%Y-%m-%d}; the data ends "
                      f"{end:%Y-%m-%d}" if end else "no events")
    first = first_bad_dates(events)
    dates = first.reindex(run.scores.index)
    start, stop = run.as_of.date(), horizon_end.date()
    already = dates.map(lambda d: d is not None and not pd.isna(d) and d < start).to_numpy(bool)
    bad = dates.map(lambda d: d is not None and not pd.isna(d) and start <= d < stop).to_numpy(int)
    keep = ~already
    table = calibration_by_band(run.scores["score"].to_numpy()[keep], bad[keep], published)
    return table[["band", "n", "bad", "observed_bad_rate", "expected_bad_rate", "holds"]], (
        f"{int(keep.sum()):,} consumers with known outcomes ({int(already.sum()):,} already bad at the run left out)")


def compare(reference: pd.DataFrame, reference_scores: np.ndarray, current: RunData, previous: RunData | None,
            *, inputs: list[str], outcomes: pd.DataFrame | None = None, outcome_note: str = "") -> DriftReport:
    """``reference``: the model's training rows (its inputs); ``reference_scores``: the model's scores on them."""
    rows = []
    for f in inputs:
        p_train = _psi(reference[f], current.features[f])
        p_prev = _psi(previous.features[f], current.features[f]) if previous is not None else None
        level_train = rules.psi_level(p_train)
        level_prev = rules.psi_level(p_prev) if p_prev is not None else None
        rows.append({"feature": f, "psi_training": p_train, "level_training": level_train,
                     "psi_previous": p_prev if p_prev is not None else np.nan, "level_previous": level_prev,
                     "flagged": (level_prev if previous is not None else level_train) != "ok"})
    features = pd.DataFrame(rows)
    score_psi = {"training": _psi(pd.Series(reference_scores), current.scores["score"]),
                 "previous": _psi(previous.scores["score"], current.scores["score"]) if previous is not None else None}
    return DriftReport(
        run_id=current.run_id, as_of=current.as_of, model_version=current.model_version,
        previous_run_id=previous.run_id if previous else None, previous_as_of=previous.as_of if previous else None,
        consumers=len(current.scores), score_psi=score_psi, features=features,
        migration=migration_matrix(previous, current) if previous is not None else None,
        outcomes=outcomes, outcome_note=outcome_note)


__all__ = ["DriftReport", "LEVELS", "RunData", "compare", "migration_matrix", "outcomes_by_band", "run_data"]
