"""The column report printed before fitting, and the notices for columns left out."""

from __future__ import annotations

from rich.table import Table

from credo.policy.columns import AUDIT_ONLY, EXCLUDED, RULES_BY_ID
from credo.tabular.plan import TablePlan

_STYLE = {"input": "green", "excluded": "red", "target": "cyan"}


def column_report(plan: TablePlan) -> Table:
    """One row per column: type, how it was read, missing share, distinct values, decision and rule."""
    table = Table("column", "type", "read as", "missing", "levels", "decision", title=f"Columns of {plan.source}")
    for c in plan.columns:
        if c.decision == "target":
            decision = f"target (bad = {plan.bad_value})" if plan.bad_value is not None else "target (1 = bad)"
        elif c.decision == "excluded":
            decision = "excluded (--exclude)" if c.rule == EXCLUDED.id else f"excluded: {c.rule}"
        else:
            decision = f"input, allowed: {c.rule}" if c.rule else "input"
        table.add_row(c.name, c.type, c.parsed_as, f"{c.missing_share:.1%}", f"{c.levels:,}",
                      f"[{_STYLE[c.decision]}]{decision}[/]")
    return table


def notices(plan: TablePlan) -> list[str]:
    """A line for each column a rule leaves out or the trainer allowed, naming the rule and why
    (columns left out with ``--exclude`` are the trainer's own choice and get none)."""
    lines = []
    for c in plan.columns:
        if c.rule is None or c.rule == EXCLUDED.id:
            continue
        if c.rule == AUDIT_ONLY.id:
            lines.append(f"kept apart {c.name!r}: rule {c.rule} — {RULES_BY_ID[c.rule].text}")
        elif c.decision == "excluded":
            lines.append(f"left out {c.name!r}: rule {c.rule} — {RULES_BY_ID[c.rule].text} "
                         f'(to use it anyway: --allow-column {c.name} --because "…")')
        else:
            lines.append(f"allowed {c.name!r} despite rule {c.rule} — because: {c.because}")
    return lines


__all__ = ["column_report", "notices"]
