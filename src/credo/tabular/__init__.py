"""A user's own table: read it, parse numbers written as text, decide which columns feed the model.

``read`` (CSV with a sniffed separator, or Parquet) → ``guard.plan_table``
(column types, the column rules of :mod:`credo.policy.columns`, the target) →
a :class:`~credo.tabular.plan.TablePlan` stored with the bundle, so that
``credo score --data`` reads a file exactly as training did.
"""

from credo.tabular.errors import TableError
from credo.tabular.guard import plan_table
from credo.tabular.plan import ColumnPlan, TablePlan
from credo.tabular.read import ReadOptions, read_table, separator
from credo.tabular.report import column_report, notices

__all__ = [
    "ColumnPlan", "ReadOptions", "TableError", "TablePlan", "column_report", "notices", "plan_table",
    "read_table", "separator",
]
