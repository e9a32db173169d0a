"""The model registry: every trained model as a candidate, and the pointer to the one that serves.

``credo train`` registers what it trained (:func:`register_run`): the bundle's files exactly as written to
the model directory, their SHA-256, and seeded samples of the training and the out-of-time validation
rows (subject, observation date, label, features; at most
:data:`~credo.policy.governance.EVALUATION_SAMPLE_ROWS` each) that the publication gate, the fairness
audit and drift monitoring judge the model on. Only :mod:`credo.governance.gate` moves the serving pointer
(``model_serving``), in the transaction that appends the publish or rollback to the operator log. Servers
read the pointer and load the bundle from here (:class:`credo.service.serving.ServingModel`), so every
process of every host serves what was published, without a restart.

A model trained on the store's events (``kind = "store"``) may serve; one trained on a user's own table
(``kind = "table"``) scores files only, and is registered to be audited (German credit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, update

from credo.errors import CredoError, ErrorCode
from credo.governance import oplog
from credo.ledger.hashing import as_utc, content_hash
from credo.policy.governance import EVALUATION_SAMPLE_ROWS
from credo.scoring import ModelBundle, TrainingRun
from credo.store.tables import model_evaluation, model_serving, models

STORE, TABLE = "store", "table"
SERVING_SLOT = "serving"
SAMPLES = ("train", "validation")
_CHUNK = 2000


@dataclass(frozen=True)
class RegisteredModel:
    version: str
    registered_at: datetime
    registered_by: str
    kind: str
    digest: str
    manifest: dict[str, Any]

    @property
    def servable(self) -> bool:
        return self.kind == STORE


def digest_of(files: dict[str, str]) -> str:
    """SHA-256 over the SHA-256 of each of the bundle's files, by name."""
    return content_hash({name: content_hash(text) for name, text in sorted(files.items())})


def kind_of(bundle: ModelBundle) -> str:
    return TABLE if "inputs" in bundle.manifest else STORE


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def evaluation_rows(run: TrainingRun, *, seed: int = 0) -> pd.DataFrame:
    """Seeded samples of the run's training and validation rows: ``sample, subject_id, observed_on, bad``
    and the features, at most ``EVALUATION_SAMPLE_ROWS`` per sample, in their original order."""
    parts = []
    for sample, X, y in (("train", run.X_train, run.y_train), ("validation", run.X_valid, run.y_valid)):
        keys = run.keys.get(sample)
        if keys is None or len(keys) != len(X):
            raise ValueError(f"the training run does not say who its {sample} rows are")
        frame = X.reset_index(drop=True).copy()
        frame.insert(0, "bad", np.asarray(y, dtype=int))
        frame.insert(0, "observed_on", keys["observed_on"].to_numpy())
        frame.insert(0, "subject_id", keys["subject_id"].to_numpy())
        frame.insert(0, "sample", sample)
        if len(frame) > EVALUATION_SAMPLE_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(frame), EVALUATION_SAMPLE_ROWS, replace=False))
            frame = frame.iloc[keep]
        parts.append(frame.reset_index(drop=True))
    return pd.concat(parts, ignore_index=True)


def register(conn: Connection, bundle: ModelBundle, evaluation: pd.DataFrame, *, operator: str, reason: str,
             at: datetime, detail: dict[str, Any] | None = None) -> RegisteredModel:
    """Register ``bundle`` as a candidate with its evaluation rows (as :func:`evaluation_rows` gives them);
    logged as ``register``. Registering the same files twice is a no-op; other files under a version
    already registered are refused."""
    files = bundle.files()
    digest = digest_of(files)
    existing = conn.execute(select(models.c.digest).where(models.c.version == bundle.version)).scalar_one_or_none()
    if existing is not None:
        if existing != digest:
            raise CredoError(ErrorCode.INVALID_VALUE, f"model {bundle.version} is registered with other files",
                             field="version", rule="a version names one bundle")
        return get(conn, bundle.version)
    kind = kind_of(bundle)
    conn.execute(insert(models).values(
        version=bundle.version, registered_at=as_utc(at), registered_by=operator, kind=kind, digest=digest,
        manifest=files["manifest.json"], champion=files["champion.json"], challenger=files.get("challenger.json")))
    features = [c for c in evaluation.columns if c not in ("sample", "subject_id", "observed_on", "bad")]
    rows = []
    for sample in SAMPLES:
        part = evaluation[evaluation["sample"] == sample]
        for i, rec in enumerate(part.to_dict("records")):
            observed = rec["observed_on"]
            rows.append({"version": bundle.version, "sample": sample, "row": i, "subject_id": str(rec["subject_id"]),
                         "observed_on": None if observed is None or pd.isna(observed) else as_utc(
                             pd.Timestamp(observed).to_pydatetime()),
                         "bad": int(rec["bad"]), "features": {f: _json_value(rec[f]) for f in features}})
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(model_evaluation), rows[start:start + _CHUNK])
    oplog.append(conn, operator=operator, action=oplog.Action.REGISTER, reason=reason, at=at,
                 model_version=bundle.version,
                 detail={"digest": digest, "kind": kind, "source": bundle.manifest.get("source"),
                         "evaluation_rows": {s: int((evaluation["sample"] == s).sum()) for s in SAMPLES},
                         **(detail or {})})
    return get(conn, bundle.version)


def register_run(engine: Engine, run: TrainingRun, *, operator: str, at: datetime) -> RegisteredModel:
    """Register what ``credo train`` trained, as a candidate."""
    validation = run.bundle.manifest.get("validation", {})
    auc = {name: validation[name]["score"]["auc"] for name in ("champion", "challenger") if name in validation}
    with engine.begin() as conn:
        return register(conn, run.bundle, evaluation_rows(run), operator=operator, at=at,
                        reason=f"trained: {run.description}", detail={"validation_auc": auc})


def _record(row: Any) -> RegisteredModel:
    return RegisteredModel(version=row.version, registered_at=as_utc(row.registered_at),
                           registered_by=row.registered_by, kind=row.kind, digest=row.digest,
                           manifest=json.loads(row.manifest))


_SUMMARY = select(models.c.version, models.c.registered_at, models.c.registered_by, models.c.kind, models.c.digest,
                  models.c.manifest)


def get(conn: Connection, version: str) -> RegisteredModel:
    row = conn.execute(_SUMMARY.where(models.c.version == version)).first()
    if row is None:
        raise CredoError(ErrorCode.MODEL_NOT_FOUND, f"no registered model {version!r} (see credo model list)",
                         field="version")
    return _record(row)


def listing(conn: Connection) -> list[RegisteredModel]:
    """Every registered model, newest first."""
    rows = conn.execute(_SUMMARY.order_by(models.c.registered_at.desc(), models.c.version.desc()))
    return [_record(r) for r in rows]


def load_bundle(conn: Connection, version: str) -> ModelBundle:
    """The registered bundle, its files checked against the digest recorded at registration."""
    row = conn.execute(select(models).where(models.c.version == version)).first()
    if row is None:
        raise CredoError(ErrorCode.MODEL_NOT_FOUND, f"no registered model {version!r}", field="version")
    files = {"champion.json": row.champion, "manifest.json": row.manifest}
    if row.challenger is not None:
        files["challenger.json"] = row.challenger
    if digest_of(files) != row.digest:
        raise CredoError(ErrorCode.MODEL_UNAVAILABLE, f"model {version}: its stored files do not match their digest",
                         field="version", rule="registered files are never edited")
    return ModelBundle.from_files(files)


def evaluation(conn: Connection, version: str, sample: str = "validation") -> pd.DataFrame:
    """The registered rows of one sample: ``subject_id, observed_on, bad`` and the features."""
    rows = conn.execute(select(model_evaluation.c.subject_id, model_evaluation.c.observed_on, model_evaluation.c.bad,
                               model_evaluation.c.features)
                        .where(model_evaluation.c.version == version, model_evaluation.c.sample == sample)
                        .order_by(model_evaluation.c.row)).all()
    keys = pd.DataFrame({"subject_id": [r.subject_id for r in rows],
                         "observed_on": [None if r.observed_on is None else as_utc(r.observed_on) for r in rows],
                         "bad": np.array([r.bad for r in rows], dtype=int)})
    features = pd.DataFrame.from_records([r.features for r in rows]) if rows else pd.DataFrame()
    for column in features.columns:
        if features[column].map(lambda v: v is None or isinstance(v, (int, float))).all():
            features[column] = pd.to_numeric(features[column], errors="coerce").astype(float)
    return pd.concat([keys, features], axis=1)


@dataclass(frozen=True)
class Serving:
    """What serves: the bundle's version and which of its models the gate judged."""

    version: str
    model: str
    since: datetime
    log_seq: int


def serving(conn: Connection) -> Serving | None:
    row = conn.execute(select(model_serving.c.version, model_serving.c.model, model_serving.c.since,
                              model_serving.c.log_seq).where(model_serving.c.slot == SERVING_SLOT)).first()
    return None if row is None else Serving(row.version, row.model, as_utc(row.since), int(row.log_seq))


def evaluation_samples(conn: Connection, version: str) -> pd.DataFrame:
    """Both samples of a registered model's rows, in :func:`evaluation_rows`' layout (to register a model
    derived from it, judged on the same rows)."""
    parts = [evaluation(conn, version, sample).assign(sample=sample) for sample in SAMPLES]
    return pd.concat(parts, ignore_index=True)


def serving_version(conn: Connection) -> str | None:
    current = serving(conn)
    return None if current is None else current.version


def set_serving(conn: Connection, version: str, model: str, *, at: datetime, log_seq: int) -> None:
    """Point the serving slot at ``version``'s ``model`` (only the gate's publish and rollback call this)."""
    values = {"version": version, "model": model, "since": as_utc(at), "log_seq": log_seq}
    done = conn.execute(update(model_serving).where(model_serving.c.slot == SERVING_SLOT).values(**values)).rowcount
    if not done:
        conn.execute(insert(model_serving).values(slot=SERVING_SLOT, **values))


def forget_subject(conn: Connection, subject_id: str) -> int:
    """Delete a subject's evaluation rows (their account is closed)."""
    return conn.execute(delete(model_evaluation).where(model_evaluation.c.subject_id == subject_id)).rowcount


__all__ = [
    "RegisteredModel", "SAMPLES", "SERVING_SLOT", "STORE", "Serving", "TABLE", "digest_of", "evaluation", "evaluation_rows",
    "evaluation_samples",
    "forget_subject", "get", "kind_of", "listing", "load_bundle", "register", "register_run", "serving",
    "serving_version", "set_serving",
]
