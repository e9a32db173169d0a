"""Score now (online), score history, and the dispute rule (the what-if is :mod:`credo.service.whatif`).

Online scoring runs the production feature SQL (:func:`credo.features.compute_features`)
on one consumer's events and the serving model, as of the read itself: every event
accepted up to the read counts (:func:`online_as_of`). While a dispute is open the
consumer gets ``max(score with the record, score without it)``: opening a
dispute never lowers a score. Every computed score is a score-history row.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BindParameter, Connection, Select, bindparam, func, insert, select

from credo.features import compute_features, events_from_store, feature_query
from credo.features.definitions import SCORING_CRITERIA, feature_groups
from credo.features.events_table import derive_keys
from credo.features.horizon import unchanged_until
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.policy.reasons import FACTOR_GROUPS, reason
from credo.scoring import score_frame
from credo.service.runtime import Service, utc
from credo.store.prepared import Prepared
from credo.store.tables import disputes, events, scores, suppressions

SCORED, NOT_ENOUGH_DATA = "scored", "not_enough_data"
_WITHOUT = "\x1fwithout-disputed"


@dataclass
class ScoreResult:
    consumer_id: str
    as_of: datetime
    model_version: str
    status: str
    score: int | None
    band: str | None
    reasons: list[str]
    groups: list[dict[str, Any]] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)
    dispute_adjusted: bool = False
    #: The highest ``events.seq`` of the consumer when the score was computed (None: no events).
    events_seq: int | None = None
    #: Until when (exclusive) the same events give the same features, and so this result, as of any
    #: later read (:func:`credo.features.horizon.unchanged_until`; None: not computed here).
    unchanged_until: datetime | None = None

    def reason_details(self) -> list[dict[str, str]]:
        return [{"code": c, "text": reason(c).text, "action": reason(c).action, "group": reason(c).group}
                for c in self.reasons]

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status, "score": self.score, "band": self.band, "score_range": [SCORE_MIN, SCORE_MAX],
            "as_of": self.as_of, "model_version": self.model_version, "factor_groups": self.groups,
            "reasons": self.reason_details(), "dispute_adjusted": self.dispute_adjusted,
        }
        if self.status == NOT_ENOUGH_DATA:
            out["how_to_become_scorable"] = SCORING_CRITERIA.describe()
        return out


def _grade(share: float) -> str:
    for cut, grade in ((0.9, "A"), (0.75, "B"), (0.5, "C"), (0.25, "D")):
        if share >= cut:
            return grade
    return "E"


def factor_groups(svc: Service, features: pd.DataFrame) -> list[dict[str, Any]]:
    """Points and grade of the five groups, from the scorecard's points per feature."""
    bundle = svc.model_bundle()
    card = bundle.champion
    pts = card.points(features[list(card.features_)]).iloc[0]
    groups = feature_groups()
    weights = bundle.factor_weights(svc.settings.serving_model)
    out = []
    for g in FACTOR_GROUPS:
        names = [f for f in card.features_ if groups.get(f) == g.code]
        got = int(sum(int(pts[f]) for f in names))
        best = int(sum(int(card.points_[f].max()) for f in names))
        out.append({"group": g.code, "name": g.name, "weight": weights.get(g.code), "points": got, "max_points": best,
                    "grade": _grade(got / best) if best > 0 else "A"})
    return out


def _exclude(table: pa.Table, keys: Iterable[tuple[str, str]]) -> pa.Table:
    keys = list(keys)
    if not keys or table.num_rows == 0:
        return table
    sep = "\x1f"
    wanted = pa.array([f"{p}{sep}{e}" for p, e in keys])
    own = pc.binary_join_element_wise(table["partner_id"], table["event_id"], sep)
    target = pc.binary_join_element_wise(table["partner_id"], table["target_event_id"], sep)
    drop = pc.or_(pc.is_in(own, wanted), pc.fill_null(pc.is_in(target, wanted), False))
    return derive_keys(table.filter(pc.invert(drop)))


def result_from_features(svc: Service, cid: str, as_of: datetime, feats: pd.DataFrame,
                         with_groups: bool) -> ScoreResult:
    """The serving model's answer for one row of features (a computed or a hypothetical one)."""
    bundle = svc.model_bundle()
    row = score_frame(bundle.model(svc.settings.serving_model), feats).iloc[0]
    scored = row["status"] == SCORED
    values = {k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
              for k, v in feats.iloc[0].items()}
    return ScoreResult(
        consumer_id=cid, as_of=as_of, model_version=bundle.version, status=str(row["status"]),
        score=int(row["score"]) if scored else None, band=row["band"] if scored else None,
        reasons=list(row["reasons"]), groups=factor_groups(svc, feats) if (with_groups and scored) else [],
        features=values,
    )


def open_disputed_records(conn: Connection, consumer_id: str) -> list[tuple[str, str]]:
    return [(p, e) for p, e in conn.execute(
        select(disputes.c.partner_id, disputes.c.event_id).where(disputes.c.consumer_id == consumer_id,
                                                                 disputes.c.status == "open"))]


def online_as_of(now: datetime) -> datetime:
    """The as-of instant of an online score read at ``now``: one microsecond (the store's time
    resolution) after it.

    Features count only events received strictly before their as-of instant (an event stamped
    exactly D belongs to the next as-of), so a score as of ``now`` itself would leave out an event
    accepted at the same instant; as of the next microsecond it counts every event accepted up to
    and including the read, and a batch run as of that instant gives the same features."""
    return now + timedelta(microseconds=1)


def compute(svc: Service, consumer_id: str, now: datetime, *, with_groups: bool = True) -> ScoreResult:
    """The consumer's score read at ``now`` (as of :func:`online_as_of`), from every event accepted
    so far; with open disputes, the higher of with/without the records.

    The feature query is built once for every instant (:mod:`credo.features.builder`), so the
    exact read time costs nothing extra."""
    as_of = online_as_of(now)
    with svc.engine.connect() as conn:
        disputed = open_disputed_records(conn, consumer_id)
        # read before the events: an event committed in between only makes the score look stale
        seen = conn.execute(_MAX_SEQ, {"consumer_id": consumer_id}).scalar_one_or_none()
    table = events_from_store(svc.engine, consumer_id)
    population = [consumer_id]
    if disputed:
        without = _exclude(table, disputed)
        renamed = without.set_column(without.schema.get_field_index("consumer_id"), "consumer_id",
                                     pa.array([consumer_id + _WITHOUT] * without.num_rows, pa.string()))
        table = pa.concat_tables([table, renamed])
        population.append(consumer_id + _WITHOUT)
    feats = compute_features(table, as_of, consumers=population)
    until = unchanged_until(feature_query(as_of), table)
    base = result_from_features(svc, consumer_id, as_of, feats.loc[[consumer_id]], with_groups)
    base.events_seq, base.unchanged_until = seen, until
    if disputed:
        alt_feats = feats.loc[[consumer_id + _WITHOUT]].rename(index={consumer_id + _WITHOUT: consumer_id})
        alt = result_from_features(svc, consumer_id, as_of, alt_feats, with_groups)
        alt.events_seq, alt.unchanged_until = seen, until
        if base.status == SCORED and alt.status == SCORED and (alt.score or 0) > (base.score or 0):
            alt.dispute_adjusted = True
            return alt
    return base


def persist(conn: Connection, result: ScoreResult, now: datetime) -> None:
    """One score-history row (run id ``online-…``)."""
    conn.execute(insert(scores).values(
        run_id=f"online-{uuid.uuid4().hex}", consumer_id=result.consumer_id, as_of=result.as_of,
        model_version=result.model_version, score=result.score, band=result.band, status=result.status,
        reasons=result.reasons, scored_at=now, events_seq=result.events_seq))


def _latest_with_changes() -> Select:
    """The consumer's latest score-history row and, beside it, what can have moved the score
    since: the consumer's highest event ``seq`` (an event received later has a higher one; an
    index probe) and the latest dispute opened or resolved and record suppressed. One statement,
    built once (it is on every partner read)."""
    cid: BindParameter[str] = bindparam("consumer_id")
    one = disputes.c.consumer_id == cid
    latest = (select(scores.c.id).where(scores.c.consumer_id == cid)
              .order_by(scores.c.scored_at.desc(), scores.c.id.desc()).limit(1).scalar_subquery())
    return select(
        scores.c.run_id, scores.c.as_of, scores.c.model_version, scores.c.score, scores.c.band, scores.c.status,
        scores.c.reasons, scores.c.scored_at, scores.c.events_seq,
        _MAX_SEQ.scalar_subquery().label("events_seq_now"),
        select(func.max(disputes.c.opened_at)).where(one).scalar_subquery().label("opened_at"),
        select(func.max(disputes.c.resolved_at)).where(one).scalar_subquery().label("resolved_at"),
        select(func.max(suppressions.c.suppressed_at)).where(suppressions.c.consumer_id == cid)
        .scalar_subquery().label("suppressed_at"),
    ).where(scores.c.id == latest)


_MAX_SEQ = select(func.max(events.c.seq)).where(events.c.consumer_id == bindparam("consumer_id"))
_LATEST_WITH_CHANGES = Prepared(_latest_with_changes())


def current(svc: Service, consumer_id: str, now: datetime) -> tuple[ScoreResult, bool]:
    """The score a partner answer uses: the latest history row if nothing changed since it was
    computed today with the serving model, else a fresh one. Returns (result, fresh)."""
    with svc.engine.connect() as conn:
        hit = cached(svc, conn, consumer_id, now)
    if hit is not None:
        return hit, False
    return compute(svc, consumer_id, now, with_groups=False), True


def cached(svc: Service, conn: Connection, consumer_id: str, now: datetime) -> ScoreResult | None:
    """The latest history row, if computed online today with the serving model and nothing that
    can move the score changed (at or before ``now``) since."""
    version = svc.model_bundle().version
    row = _LATEST_WITH_CHANGES.first(conn, consumer_id=consumer_id)
    if row is None or row.model_version != version or not row.run_id.startswith("online-"):
        return None
    if row.events_seq_now is not None and (row.events_seq is None or row.events_seq_now > row.events_seq):
        return None  # an event arrived after the score was computed
    scored_at, as_of = utc(row.scored_at), utc(row.as_of)
    stamps = (row.opened_at, row.resolved_at, row.suppressed_at)
    changed = [t for t in (utc(s) for s in stamps if s is not None) if t <= now]
    if as_of.date() == now.date() and scored_at <= now and all(t <= scored_at for t in changed):
        return ScoreResult(consumer_id, as_of, version, row.status, row.score, row.band, list(row.reasons),
                           events_seq=row.events_seq)
    return None


def history(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(scores).where(scores.c.consumer_id == consumer_id)
                        .order_by(scores.c.scored_at, scores.c.id)).mappings()
    return [{"as_of": utc(r["as_of"]), "scored_at": utc(r["scored_at"]), "score": r["score"], "band": r["band"],
             "status": r["status"], "model_version": r["model_version"],
             "kind": "online" if r["run_id"].startswith("online-") else "batch"} for r in rows]
