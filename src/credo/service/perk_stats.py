"""How a partner's perk programmes are used: checks run and the share answered yes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from credo.store.tables import eligibility_checks


def programme_stats(conn: Connection, partner_id: str) -> dict[str, dict[str, Any]]:
    """Per programme id: checks by answer, the total, and the approval rate among decided checks
    (yes / (yes + no); not-enough-data and refused checks are counted but never treated as a no)."""
    rows = conn.execute(select(eligibility_checks.c.programme_id, eligibility_checks.c.result, func.count())
                        .where(eligibility_checks.c.partner_id == partner_id)
                        .group_by(eligibility_checks.c.programme_id, eligibility_checks.c.result))
    out: dict[str, dict[str, Any]] = {}
    for programme_id, result, n in rows:
        entry = out.setdefault(programme_id, {"checks": 0, "by_answer": {}})
        entry["checks"] += n
        entry["by_answer"][result] = n
    for entry in out.values():
        yes, no = entry["by_answer"].get("yes", 0), entry["by_answer"].get("no", 0)
        entry["approval_rate"] = yes / (yes + no) if yes + no else None
    return out
