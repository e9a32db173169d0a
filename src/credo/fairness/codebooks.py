"""What the audit-only columns of each source mean: raw codes → labelled groups.

Each source keeps its protected attributes in its own codes. They are decoded once, when loaded into
the audit store (:mod:`credo.fairness.attributes`), into the attributes the audit reports by:

* **Taiwan** (UCI #350, the dataset's documentation): ``SEX`` 1 male, 2 female; ``EDUCATION`` 1 graduate
  school, 2 university, 3 high school, 4 others, 0/5/6 unknown (undocumented codes); ``MARRIAGE`` 1
  married, 2 single, 3 others, 0 unknown; ``AGE`` in years → an age band.
* **German credit** (UCI Statlog #144, ``german.doc``): attribute 9 (``c9`` when read without a
  header), personal status and sex: A91 male divorced/separated, A92 female divorced/separated/married,
  A93 male single, A94 male married/widowed, A95 female single → ``sex`` and ``personal_status``;
  attribute 13 (``c13``) age in years → an age band; attribute 20 (``c20``) foreign worker A201 yes,
  A202 no.
* **The simulator** (:meth:`credo.simulate.engine._Chunk.audit`): ``group`` and ``age_band``, already
  labelled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

AGE_EDGES = (25, 35, 45, 55)
AGE_BANDS = ("under 25", "25-34", "35-44", "45-54", "55 and over")
UNKNOWN = "unknown"


def age_band(years: pd.Series) -> pd.Series:
    """Age in years → the band it falls in (``unknown`` when missing)."""
    values = pd.to_numeric(years, errors="coerce").to_numpy(dtype=float)
    index = np.searchsorted(np.array(AGE_EDGES, dtype=float), values, side="right")
    labels = np.array(AGE_BANDS, dtype=object)[np.minimum(index, len(AGE_BANDS) - 1)]
    return pd.Series(np.where(np.isnan(values), UNKNOWN, labels), index=years.index, dtype=object)


def _codes(mapping: dict[object, str]) -> Callable[[pd.Series], pd.Series]:
    def decode(values: pd.Series) -> pd.Series:
        keys = values.map(lambda v: str(v).strip())
        table = {str(k): v for k, v in mapping.items()}
        return keys.map(lambda k: table.get(k, UNKNOWN))
    return decode


_GERMAN_STATUS = {"A91": ("male", "divorced or separated"), "A92": ("female", "divorced, separated or married"),
                  "A93": ("male", "single"), "A94": ("male", "married or widowed"), "A95": ("female", "single")}

#: Source column → [(attribute, decoder)]. A column may give more than one attribute (German c9).
DECODERS: dict[str, list[tuple[str, Callable[[pd.Series], pd.Series]]]] = {
    # Taiwan
    "SEX": [("sex", _codes({1: "male", 2: "female"}))],
    "EDUCATION": [("education", _codes({1: "graduate school", 2: "university", 3: "high school", 4: "others"}))],
    "MARRIAGE": [("marriage", _codes({1: "married", 2: "single", 3: "others"}))],
    "AGE": [("age_band", age_band)],
    # German credit, read without a header (c1..c21)
    "c9": [("sex", _codes({k: v[0] for k, v in _GERMAN_STATUS.items()})),
           ("personal_status", _codes({k: v[1] for k, v in _GERMAN_STATUS.items()}))],
    "c13": [("age_band", age_band)],
    "c20": [("foreign_worker", _codes({"A201": "yes", "A202": "no"}))],
    # the simulator
    "group": [("group", lambda v: v.astype(str))],
    "age_band": [("age_band", lambda v: v.astype(str))],
}


def decode(frame: pd.DataFrame, subject: str = "consumer_id") -> pd.DataFrame:
    """``frame`` (one row per subject, raw audit columns) → long form ``subject_id, attribute, value``.

    Raises ValueError naming any column no codebook knows: an audit column is never stored undecoded."""
    unknown = [c for c in frame.columns if c != subject and c not in DECODERS]
    if unknown:
        raise ValueError(f"no codebook for audit column(s) {', '.join(unknown)}: known are {', '.join(DECODERS)}")
    parts = []
    for column in frame.columns:
        if column == subject:
            continue
        for attribute, decoder in DECODERS[column]:
            parts.append(pd.DataFrame({"subject_id": frame[subject].astype(str).to_numpy(), "attribute": attribute,
                                       "value": decoder(frame[column]).to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["subject_id", "attribute", "value"])
    return pd.concat(parts, ignore_index=True)


__all__ = ["AGE_BANDS", "AGE_EDGES", "DECODERS", "UNKNOWN", "age_band", "decode"]
