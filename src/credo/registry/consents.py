"""Consent to report: per consumer, per partner, per event type, opt-in only.

There is no default and no wildcard: a partner may report an event type about
a consumer only while an explicit, unwithdrawn grant for exactly that
(consumer, partner, event type) exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum

from sqlalchemy import Connection, and_, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.registry.clock import utcnow
from credo.store.tables import consumers, partners, registry_version, report_consents


def bump_registry_version(conn: Connection) -> None:
    """Record, in the caller's transaction, that consumers or consents changed."""
    conn.execute(update(registry_version).where(registry_version.c.id == 1).values(version=registry_version.c.version + 1))


def current_registry_version(conn: Connection) -> int:
    return conn.execute(select(registry_version.c.version).where(registry_version.c.id == 1)).scalar_one()


class ConsentState(Enum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


def grant_report_consent(conn: Connection, consumer_id: str, partner_id: str, event_types: Iterable[str]) -> None:
    """Record the consumer's explicit grant for each listed event type."""
    allowed = conn.execute(select(partners.c.event_types).where(partners.c.id == partner_id)).scalar_one_or_none()
    if allowed is None:
        raise CredoError(ErrorCode.PARTNER_UNKNOWN, f"no partner {partner_id!r}", "partner_id")
    types = sorted(set(event_types))
    outside = [t for t in types if t not in allowed]
    if outside:
        raise CredoError(
            ErrorCode.EVENT_TYPE_NOT_PERMITTED, f"partner does not report {outside}", "event_types"
        )
    current = report_consent_states(conn, partner_id, [consumer_id]).get(consumer_id, {})
    now = utcnow()
    new = [t for t in types if current.get(t) is not ConsentState.GIVEN]
    if new:
        conn.execute(
            insert(report_consents),
            [dict(consumer_id=consumer_id, partner_id=partner_id, event_type=t, granted_at=now) for t in new],
        )
        bump_registry_version(conn)


def withdraw_report_consent(
    conn: Connection, consumer_id: str, partner_id: str, event_types: Iterable[str] | None = None
) -> int:
    """Withdraw consent (all types of that partner when ``event_types`` is None).

    Takes effect for the next event ingested: ingestion reads consent inside
    the same transaction that writes the events.
    """
    condition = and_(
        report_consents.c.consumer_id == consumer_id,
        report_consents.c.partner_id == partner_id,
        report_consents.c.withdrawn_at.is_(None),
    )
    if event_types is not None:
        condition = and_(condition, report_consents.c.event_type.in_(list(event_types)))
    count = conn.execute(update(report_consents).where(condition).values(withdrawn_at=utcnow())).rowcount
    bump_registry_version(conn)
    return count


def report_consent_states(
    conn: Connection, partner_id: str, consumer_ids: Iterable[str]
) -> dict[str, dict[str, ConsentState]]:
    """consumer → event type → state, for the consumers that are enrolled and active.

    Consumers absent from the result are not enrolled (or closed).
    """
    ids = list(set(consumer_ids))
    states: dict[str, dict[str, ConsentState]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for (cid,) in conn.execute(
            select(consumers.c.id).where(consumers.c.id.in_(chunk), consumers.c.status == "active")
        ):
            states[cid] = {}
        # Whether a grant is withdrawn, not when: reading the time back costs more than the query.
        rows = conn.execute(
            select(
                report_consents.c.consumer_id, report_consents.c.event_type, report_consents.c.withdrawn_at.is_(None)
            ).where(report_consents.c.partner_id == partner_id, report_consents.c.consumer_id.in_(chunk))
        )
        for cid, etype, active in rows:
            if cid not in states:
                continue
            if active:
                states[cid][etype] = ConsentState.GIVEN
            else:
                states[cid].setdefault(etype, ConsentState.WITHDRAWN)
    return states


def partner_given_pairs(conn: Connection, partner_id: str, max_pairs: int) -> set[tuple[str, str]] | None:
    """Every (active consumer, event type) pair with consent given to ``partner_id``, in one
    query; None if there are more than ``max_pairs``."""
    rows = conn.execute(
        select(report_consents.c.consumer_id, report_consents.c.event_type)
        .select_from(report_consents.join(consumers, consumers.c.id == report_consents.c.consumer_id))
        .where(report_consents.c.partner_id == partner_id, report_consents.c.withdrawn_at.is_(None),
               consumers.c.status == "active")
        .limit(max_pairs + 1)
    ).all()
    return None if len(rows) > max_pairs else {(consumer, etype) for consumer, etype in rows}


class ConsentCache:
    """Consent states remembered across the batches of one bulk load.

    Entries are valid only while the registry version is unchanged: every
    batch reads the version inside its own transaction, so a grant,
    withdrawal or enrolment committed mid-load takes effect from the next
    batch, exactly as without the cache.
    """

    def __init__(self, max_entries: int = 500_000, whole_partner_from: int = 1000) -> None:
        self.max_entries = max_entries
        self.whole_partner_from = whole_partner_from
        self._version: int | None = None
        self._size = 0
        #: partner → consumer → states; None for a consumer who is not enrolled.
        self._entries: dict[str, dict[str, dict[str, ConsentState] | None]] = {}
        #: partner → the (consumer, event type) pairs with consent given.
        self._given: dict[str, set[tuple[str, str]]] = {}
        #: partners whose given pairs were all read at once (complete), or found too many to be.
        self._whole: dict[str, bool] = {}

    def _current(self, conn: Connection, adding: int) -> None:
        """Forget everything if the registry changed since, or if ``adding`` entries would overflow."""
        version = current_registry_version(conn)
        if version != self._version or self._size + adding > self.max_entries:
            self._entries.clear()
            self._given.clear()
            self._whole.clear()
            self._version, self._size = version, 0

    def given_for(self, conn: Connection, partner_id: str, consumer_ids: Sequence[str]) -> set[tuple[str, str]]:
        """The (consumer, event type) pairs with consent given, complete at least for
        ``consumer_ids``. A bulk load meets thousands of new consumers at once: then the
        partner's given pairs are read in one query (if they fit), and full states are left
        for the few events without consent (:meth:`states`)."""
        missing = set(consumer_ids)
        self._current(conn, len(missing))
        if self._whole.get(partner_id):
            return self._given[partner_id]
        missing.difference_update(self._entries.get(partner_id, ()))
        if len(missing) >= self.whole_partner_from and partner_id not in self._whole:
            pairs = partner_given_pairs(conn, partner_id, self.max_entries - self._size)
            self._whole[partner_id] = pairs is not None
            if pairs is not None:
                self._given[partner_id] = pairs
                self._size += len(pairs)
                return pairs
        self._remember(conn, partner_id, missing)
        return self.given(partner_id)

    def states(
        self, conn: Connection, partner_id: str, consumer_ids: Iterable[str]
    ) -> Mapping[str, dict[str, ConsentState] | None]:
        """consumer → event type → state for at least ``consumer_ids``: the answer of
        :func:`report_consent_states`, from memory where possible. A consumer who
        is absent or maps to None is not enrolled. The mapping is the cache's own:
        read it, do not keep it beyond the batch."""
        missing = set(consumer_ids)
        self._current(conn, len(missing))
        return self._remember(conn, partner_id, missing)

    def _remember(
        self, conn: Connection, partner_id: str, missing: set[str]
    ) -> Mapping[str, dict[str, ConsentState] | None]:
        """:meth:`states` once the registry version is checked: fetch the consumers not yet known."""
        known = self._entries.setdefault(partner_id, {})
        missing.difference_update(known)
        if missing:
            fetched = report_consent_states(conn, partner_id, missing)
            known.update((consumer_id, fetched.get(consumer_id)) for consumer_id in missing)
            self._given.setdefault(partner_id, set()).update(given_pairs(fetched))
            self._size += len(missing)
        return known

    def given(self, partner_id: str) -> set[tuple[str, str]]:
        """The (consumer, event type) pairs with consent given, as of the last
        :meth:`states` for this partner (which covers the consumers asked about)."""
        return self._given.get(partner_id, set())


def given_pairs(states: Mapping[str, dict[str, ConsentState] | None]) -> set[tuple[str, str]]:
    """The (consumer, event type) pairs of ``states`` with consent given."""
    return {(consumer, etype) for consumer, types in states.items() if types
            for etype, state in types.items() if state is ConsentState.GIVEN}
