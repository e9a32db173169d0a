"""One batch's phase-one result as columns: what travels from validation to the store.

Plain lists per field rather than one object per event: bulk loads send these
between processes, and a list of strings pickles and unpickles several times
faster than the same strings spread over tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from credo.ingest.outcomes import Outcome
from credo.ingest.prepare import Prepared


@dataclass(slots=True)
class PreparedBatch:
    """Valid events in :class:`Prepared` field order, one list per field, and the rejections.

    Events are grouped by partner — partners in order of first appearance,
    events in input order within each partner — which is the order the store
    checks and inserts them.
    """

    index: list[int]
    partner_id: list[str]
    event_id: list[str]
    consumer_id: list[str]
    type: list[str]
    occurred_at: list[str]
    received_at: list[str]
    target_event_id: list[str | None]
    content_hash: list[str]
    payload: list[str]
    rejected: list[Outcome]

    def __len__(self) -> int:
        """Records in the batch, valid or rejected."""
        return len(self.index) + len(self.rejected)

    def event(self, i: int) -> Prepared:
        return Prepared(*(getattr(self, name)[i] for name in Prepared._fields))

    def rows(self, start: int, end: int) -> list[tuple]:
        """Rows ``start:end`` in ``credo.store.tables.EVENT_COLUMNS`` order."""
        return list(zip(*(getattr(self, name)[start:end] for name in Prepared._fields[1:])))

    def partner_runs(self) -> Iterator[tuple[str, int, int]]:
        """(partner, start, end) of each partner's events."""
        start = 0
        for pid, run in groupby(self.partner_id):
            end = start + len(list(run))
            yield pid, start, end
            start = end

    @classmethod
    def from_items(cls, items: Sequence[Prepared | Outcome]) -> PreparedBatch:
        """The batch of per-row results (the API's and the reference path)."""
        groups: dict[str, list[Prepared]] = {}
        rejected: list[Outcome] = []
        for item in items:
            if isinstance(item, Outcome):
                rejected.append(item)
            else:
                groups.setdefault(item.partner_id, []).append(item)
        ordered = [ev for group in groups.values() for ev in group]
        columns = [list(c) for c in zip(*ordered)] if ordered else [[] for _ in Prepared._fields]
        return cls(*columns, rejected=rejected)
