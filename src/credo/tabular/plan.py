"""The reading plan of a user's table, kept in the bundle so scoring reads as training did.

A :class:`TablePlan` records, for every column, how it was read (numeric or
text, and how the numbers were written), what it looked like (missing share,
number of distinct values) and the decision: a model input, left out (and by
which rule of :mod:`credo.policy.columns`), or the target. It is stored as
``bundle.manifest["inputs"]``; :meth:`TablePlan.apply` turns any table with the
same columns into exactly the frame the models saw.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from credo.tabular.errors import TableError
from credo.tabular.parse import CATEGORICAL, NUMERIC, apply_type
from credo.tabular.target import bad_labels

ColumnType = Literal["numeric", "categorical", "text"]
Decision = Literal["input", "excluded", "target"]


class ColumnPlan(BaseModel):
    """One column: how it is read and whether it is an input."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: ColumnType
    parsed_as: str
    missing_share: float
    levels: int
    decision: Decision
    rule: str | None = None  # a credo.policy.columns rule id ("excluded" for --exclude)
    because: str | None = None  # the reason given with --allow-column


class TablePlan(BaseModel):
    """How a table becomes model inputs and labels."""

    source: str
    target: str
    bad_value: str | None = None
    columns: list[ColumnPlan]

    @property
    def inputs(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.decision == "input"]

    @property
    def input_names(self) -> list[str]:
        return [c.name for c in self.inputs]

    @property
    def categorical(self) -> list[str]:
        """Inputs binned as categories (text inputs are categories too, when allowed)."""
        return [c.name for c in self.inputs if c.type != NUMERIC]

    @property
    def allowed_exceptions(self) -> list[dict[str, Any]]:
        """Inputs that a rule would leave out, kept on the trainer's word."""
        return [{"column": c.name, "rule": c.rule, "because": c.because}
                for c in self.inputs if c.rule is not None]

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model inputs of ``frame``, read as at training (index kept).

        Raises :class:`TableError` naming the input columns ``frame`` lacks.
        """
        missing = [name for name in self.input_names if name not in frame.columns]
        if missing:
            raise TableError(f"the data lacks input column{'s' if len(missing) > 1 else ''} the model needs: "
                             f"{', '.join(missing)}")
        return pd.DataFrame({c.name: apply_type(frame[c.name], NUMERIC if c.type == NUMERIC else CATEGORICAL)
                             for c in self.inputs}, index=frame.index)

    def labels(self, frame: pd.DataFrame) -> pd.Series:
        """1 = bad, 0 = good, NaN where the target is empty."""
        return bad_labels(frame[self.target], self.target, self.bad_value)


__all__ = ["ColumnPlan", "ColumnType", "Decision", "TablePlan"]
