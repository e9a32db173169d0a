"""Table definitions of the operational store (SQLAlchemy Core).

Core tables rather than ORM classes: ingestion writes in bulk and the
migrations are the schema's source of truth, so plain ``Table`` objects keep
both honest. ``migrations/versions`` must match this file; a test checks it.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Auto-increment big integers everywhere, INTEGER on SQLite (its rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")

partners = Table(
    "partners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False, index=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
)

report_consents = Table(
    "report_consents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Index("ix_report_consents_partner_consumer", "partner_id", "consumer_id"),
)

#: One row whose version increases with every change to consumers or consent,
#: so bulk ingestion may cache consent states and still see a withdrawal at once.
registry_version = Table(
    "registry_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("target_event_id", String(128)),
    Column("content_hash", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    UniqueConstraint("partner_id", "event_id", name="uq_events_partner_event"),
    Index("ix_events_consumer", "consumer_id"),
)

#: One row per consumer per scoring run: the score history consumers see.
scores = Table(
    "scores",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("model_version", String(80), nullable=False),
    Column("score", Integer),
    Column("band", String(16)),
    Column("status", String(24), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    # online scores: the highest events.seq of the consumer the score saw (a later one makes it stale)
    Column("events_seq", BigInteger),
    UniqueConstraint("run_id", "consumer_id", name="uq_scores_run_consumer"),
    Index("ix_scores_consumer_as_of", "consumer_id", "as_of"),
)

EVENT_COLUMNS = (
    "partner_id", "event_id", "consumer_id", "type", "occurred_at",
    "received_at", "target_event_id", "content_hash", "payload",
)
#: The two times keep their first 26 characters (see insert_events), cut by SQLite itself.
_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, substr(?, 1, 26), substr(?, 1, 26), ?, ?, ?)"
)


_SQLITE_STORED = (
    "SELECT event_id, content_hash, type, consumer_id FROM events"
    " WHERE partner_id = ? AND event_id IN (SELECT value FROM json_each(?))"
)


def stored_events(conn: Connection, partner_id: str, ids: list[str]) -> dict[str, tuple[str, str, str]]:
    """event_id → (content hash, type, consumer) of what ``partner_id`` already stored under ``ids``.

    On SQLite the ids travel as one JSON array: an ``IN`` list of thousands of
    bound parameters costs more to build in the SQL layer than the look-ups.
    """
    if not ids:
        return {}
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(_SQLITE_STORED, (partner_id, orjson.dumps(ids).decode()))
        return {event_id: (digest, etype, consumer) for event_id, digest, etype, consumer in rows}
    found: dict[str, tuple[str, str, str]] = {}
    for start in range(0, len(ids), 5000):
        rows = conn.execute(
            select(events.c.event_id, events.c.content_hash, events.c.type, events.c.consumer_id).where(
                events.c.partner_id == partner_id, events.c.event_id.in_(ids[start : start + 5000])
            )
        )
        found.update({event_id: (digest, etype, consumer) for event_id, digest, etype, consumer in rows})
    return found


def insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    """Insert event rows, given as tuples in :data:`EVENT_COLUMNS` order, with the two
    times as ``YYYY-MM-DD HH:MM:SS.ffffff+00:00`` text (UTC); the number inserted.

    SQLite stores the first 26 characters, the naive-UTC text SQLAlchemy's
    DateTime type writes and reads back; PostgreSQL parses the offset.

    On SQLite the rows go straight to the driver's ``executemany``: the
    per-row bind processing of the SQL layer costs more than the insert. One
    writer at a time (``BEGIN IMMEDIATE``), so every row is inserted.

    On PostgreSQL concurrent transactions may insert the same ``(partner_id, event_id)``.
    Rows are written in key order, so two writers of overlapping batches queue on the
    first key they share instead of each waiting for a key the other holds (a deadlock);
    and with ``ON CONFLICT DO NOTHING``, so a key another transaction committed first is
    skipped instead of aborting this one. Fewer rows than given are then inserted: the
    caller decides the batch again (``ingest.service.store_batch``). ``seq`` keeps the input
    order: the values are drawn first, in one statement, and handed out in input order.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, rows)
        return len(rows)
    drawn = conn.execute(_DRAW_SEQ, {"n": len(rows)}).scalars().all()
    values = [{"seq": seq, **dict(zip(EVENT_COLUMNS, row))} for seq, row in zip(sorted(drawn), rows)]
    values.sort(key=lambda v: (v["partner_id"], v["event_id"]))
    stmt = pg_insert(events).on_conflict_do_nothing(index_elements=["partner_id", "event_id"])
    return len(conn.execute(stmt.returning(events.c.seq), values).all())


#: ``n`` values of the events' ``seq`` sequence (PostgreSQL).
_DRAW_SEQ = text("SELECT nextval(pg_get_serial_sequence('events', 'seq')) FROM generate_series(1, :n)")


#: Append-only, hash-chained record of every read of a consumer's score, band,
#: eligibility or credential (see credo.ledger for the chain and pseudonymisation design).
access_ledger = Table(
    "access_ledger",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_kind", String(16), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("consumer_ref", String(128), nullable=False),
    Column("consumer_salt", String(32)),
    Column("consumer_commit", String(64), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_ref", String(128), nullable=False),
    Column("actor_salt", String(32)),
    Column("actor_commit", String(64)),
    Column("purpose", String(64), nullable=False),
    Column("consent_id", String(64)),
    Column("disclosed", String(200), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("reason_code", String(64)),
    Column("covers", JSON),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("prev_hash", name="uq_access_ledger_prev_hash"),
    UniqueConstraint("hash", name="uq_access_ledger_hash"),
    Index("ix_access_ledger_consumer_ref", "consumer_ref", "seq"),
)

#: Signed checkpoints of the ledger's head (credo.ledger.checkpoints): ``signature`` is a compact JWS
#: by the issuer key ring over ``{seq, hash, iat}``.
ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("signature", Text, nullable=False),
)


# ---------------------------------------------------------------- the score service (issue 4)

#: Consumer accounts: a login (argon2 password hash) linked to one consumer id.
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    UniqueConstraint("username", name="uq_accounts_username"),
    UniqueConstraint("consumer_id", name="uq_accounts_consumer_id"),
)

#: Bearer session tokens (random, stored as SHA-256), expiring and revocable.
sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Consent to access: which partner may see what of the score, for which purpose, until when.
access_consents = Table(
    "access_consents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("scope", String(32), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_access_consents_consumer_partner", "consumer_id", "partner_id"),
)

#: Perk programmes: a partner's threshold from the fixed ladder, registered in advance.
perk_programmes = Table(
    "perk_programmes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Every eligibility check (for probing detection and the check id).
eligibility_checks = Table(
    "eligibility_checks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("consumer_id", String(128), nullable=False),
    Column("programme_id", String(64), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("result", String(24), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Index("ix_eligibility_checks_partner_consumer", "partner_id", "consumer_id", "checked_at", "threshold"),
    Index("ix_eligibility_checks_consumer_threshold", "consumer_id", "threshold", "checked_at"),
)

#: Adverse-action notices (FCRA §615(a)): after a "no", the score used, key factors and rights go to
#: the consumer, never to the partner. ``id`` is the reference the partner gets; ``link_token_sha256``
#: the hash of the token in the printable-copy link the partner may hand over (credo.service.notices).
adverse_action_notices = Table(
    "adverse_action_notices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("consumer_id", String(128), nullable=False, index=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("check_id", String(32), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("link_token_sha256", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    UniqueConstraint("check_id", name="uq_adverse_action_notices_check_id"),
)

#: Disputes a consumer opens on a record (an event), and how the reporting partner resolved them.
disputes = Table(
    "disputes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False, index=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False, index=True),
    Column("event_id", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution_note", Text),
    # FCRA §611(a)(1)(B): information the consumer added within the first 30 days, which extends
    # ``due_at`` once by up to 15 days (``due_at`` is always the deadline in force).
    Column("information", Text),
    Column("information_at", DateTime(timezone=True)),
)

#: Notices about a dispute: to the reporting partner (furnisher: opened, consumer's added information,
#: record suppressed) and to the consumer (the results), each with when it was sent and its deadline.
dispute_notices = Table(
    "dispute_notices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dispute_id", BigId, ForeignKey("disputes.id"), nullable=False, index=True),
    Column("consumer_id", String(128), nullable=False, index=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=False),
    Column("recipient", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("notified_at", DateTime(timezone=True), nullable=False),
    Column("due_by", DateTime(timezone=True), nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_dispute_notices_partner_recipient", "partner_id", "recipient", "id"),
)

#: Records excluded from features and disclosure (unverified disputes, retracted, retention).
suppressions = Table(
    "suppressions",
    metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("consumer_id", String(128)),
    Column("reason", String(16), nullable=False),
    Column("suppressed_at", DateTime(timezone=True), nullable=False),
)

#: Band credentials issued (the status-list index survives account closure, revoked).
issued_credentials = Table(
    "issued_credentials",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("consumer_id", String(128)),
    Column("status_idx", Integer, nullable=False),
    Column("band", String(16)),
    Column("kid", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", String(32)),
    UniqueConstraint("status_idx", name="uq_issued_credentials_status_idx"),
    Index("ix_issued_credentials_consumer", "consumer_id"),
)

# ---------------------------------------------------------------- the web app (issue 10)

#: Operators: read-only staff of the score platform (model card, distribution, ledger status).
operators = Table(
    "operators",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("username", name="uq_operators_username"),
)

#: Browser sessions of the partner console and the operator pages (random token, stored as SHA-256).
#: ``role`` is ``partner`` (subject: partner id, api_key_id: the key signed in with, so revoking
#: the key ends the session) or ``operator`` (subject: operator id).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("api_key_id", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# ---------------------------------------------------------------- hardening (issue 11)

#: Issuer key ids this store has signed with (credentials, eligibility answers, status lists). A key ring
#: that lacks the latest of them is refused, never replaced silently (``credo.service.issuer_keys``).
issuer_keys = Table(
    "issuer_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

#: Presentations verified online, by the digest of (audience, nonce): a second one is a replay. Kept until
#: a presentation carrying that nonce could no longer be fresh.
used_nonces = Table(
    "used_nonces",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("used_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_used_nonces_expires_at", "expires_at"),
)

#: Failed consumer logins within the rate-limit window (username and client address stored as SHA-256).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username_sha256", String(64), nullable=False),
    Column("client_sha256", String(64), nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_username", "username_sha256", "failed_at"),
    Index("ix_login_failures_client", "client_sha256", "failed_at"),
    Index("ix_login_failures_failed_at", "failed_at"),
)


# ---------------------------------------------------------------- friends circles and the game (issue 14)
# Apart from everything a score is computed from: no feature reads these tables (credo.policy.circles).

#: A circle of friends or family; it lives as long as it has members.
circles = Table(
    "circles",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: A consumer in a circle, known there only by a random member id and the name they chose. ``sharing``:
#: what the circle sees of their band (``nothing`` / ``guess`` / ``band``); ``badges``: the badges they
#: chose to show; ``invited_by``: the member whose invitation they came in with (while both are in).
circle_members = Table(
    "circle_members",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("circle_id", String(16), ForeignKey("circles.id"), nullable=False),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False, index=True),
    Column("display_name", String(40), nullable=False),
    Column("sharing", String(8), nullable=False),
    Column("badges", JSON, nullable=False),
    Column("invited_by", String(16)),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("circle_id", "consumer_id", name="uq_circle_members_circle_consumer"),
)

#: Invitations by link or code: only the code's SHA-256 is kept; expiring, for ``max_uses`` members.
circle_invitations = Table(
    "circle_invitations",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("circle_id", String(16), ForeignKey("circles.id"), nullable=False, index=True),
    Column("inviter_id", String(16), ForeignKey("circle_members.id"), nullable=False, index=True),
    Column("code_sha256", String(64), nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("code_sha256", name="uq_circle_invitations_code_sha256"),
)

#: A consumer's yes to an invitation, waiting for the inviter's yes (then a membership, and this row goes).
circle_join_requests = Table(
    "circle_join_requests",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("invitation_id", String(16), ForeignKey("circle_invitations.id"), nullable=False, index=True),
    Column("circle_id", String(16), ForeignKey("circles.id"), nullable=False),
    Column("consumer_id", String(128), ForeignKey("consumers.id"), nullable=False, index=True),
    Column("display_name", String(40), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("circle_id", "consumer_id", name="uq_circle_join_requests_circle_consumer"),
)

#: One guess of a member's band by another, once per period, with how close it was and its points.
circle_guesses = Table(
    "circle_guesses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("circle_id", String(16), ForeignKey("circles.id"), nullable=False, index=True),
    Column("guesser_id", String(16), ForeignKey("circle_members.id"), nullable=False),
    Column("target_id", String(16), ForeignKey("circle_members.id"), nullable=False, index=True),
    Column("period", String(7), nullable=False),
    Column("guessed_band", String(16), nullable=False),
    Column("feedback", String(8), nullable=False),
    Column("points", Integer, nullable=False),
    Column("guessed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("guesser_id", "target_id", "period", name="uq_circle_guesses_guesser_target_period"),
)

#: A consumer's block of another: neither sees the other's band or badges nor can guess them, and the
#: blocker never gets a membership with them through their own invitations. ``label``: the blocker's note.
circle_blocks = Table(
    "circle_blocks",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("blocker_id", String(128), ForeignKey("consumers.id"), nullable=False),
    Column("blocked_id", String(128), ForeignKey("consumers.id"), nullable=False, index=True),
    Column("label", String(40), nullable=False),
    Column("blocked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("blocker_id", "blocked_id", name="uq_circle_blocks_blocker_blocked"),
)

#: Rate-limited circle actions (invitations made, guesses, invitation codes that opened nothing), kept
#: for the longest limit window (credo.policy.circles.LIMITS).
circle_actions = Table(
    "circle_actions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("consumer_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_circle_actions_consumer_kind", "consumer_id", "kind", "at"),
)


# ---------------------------------------------------------------- model governance (issue 12)

#: Every registered model (``credo train`` registers a candidate): the bundle's files as they are written
#: (``champion.json``, ``challenger.json``, ``manifest.json``) and the SHA-256 over them. ``kind`` is
#: ``store`` (trained on the store's events: may serve) or ``table`` (a user's table: scores files only).
models = Table(
    "models",
    metadata,
    Column("version", String(80), primary_key=True),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("manifest", Text, nullable=False),
    Column("champion", Text, nullable=False),
    Column("challenger", Text),
)

#: The rows a registered model is judged on: seeded samples of its training rows and of its out-of-time
#: validation rows, each with its subject (consumer id, or ``<table>#<row>``), label and features.
model_evaluation = Table(
    "model_evaluation",
    metadata,
    Column("version", String(80), ForeignKey("models.version"), primary_key=True),
    Column("sample", String(16), primary_key=True),
    Column("row", Integer, primary_key=True, autoincrement=False),
    Column("subject_id", String(200), nullable=False),
    Column("observed_on", DateTime(timezone=True)),
    Column("bad", Integer, nullable=False),
    Column("features", JSON, nullable=False),
    Index("ix_model_evaluation_subject_id", "subject_id"),
)

#: The serving pointer (one row, ``slot`` = ``serving``): the model every score request uses (the bundle's
#: version and which of its models, champion or challenger, the gate judged), since when, and the
#: operator-log entry that put it there.
model_serving = Table(
    "model_serving",
    metadata,
    Column("slot", String(16), primary_key=True),
    Column("version", String(80), ForeignKey("models.version"), nullable=False),
    Column("model", String(16), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("log_seq", BigInteger, nullable=False),
)

#: The operator log (credo.governance.oplog): append-only and hash-chained like the access ledger. Every
#: publish, refusal, rollback, fairness run, alternative chosen and read of audit-only attributes.
operator_log = Table(
    "operator_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("operator", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("model_version", String(80)),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("prev_hash", name="uq_operator_log_prev_hash"),
)

#: Drift reports (``credo monitor``): one per comparison, the newest shown in the operator pages.
monitor_reports = Table(
    "monitor_reports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("previous_run_id", String(40)),
    Column("model_version", String(80), nullable=False),
    Column("level", String(16), nullable=False),
    Column("summary", JSON, nullable=False),
    Index("ix_monitor_reports_created_at", "created_at"),
)
