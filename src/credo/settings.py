"""Every runtime setting, in one object read from the environment (prefix ``CREDO_``).

:class:`Settings` is the only reader of ``CREDO_*`` variables, except the retention period
(``CREDO_RETENTION_MONTHS``), which is policy read by the feature builder and the purge alike
(:mod:`credo.policy.retention`); :meth:`Settings.require_serving` checks it too.

Secrets (the ledger pseudonym secret, the store URL, which may carry a password) are
:class:`~pydantic.SecretStr`: they never show in a repr, a log line or an error message.

A server refuses to start (:meth:`Settings.require_serving`) without a real
``CREDO_LEDGER_SECRET`` and a fixed, absolute ``CREDO_KEY_DIR``, unless ``CREDO_DEV_MODE`` is on:
development mode is for throwaway stores (``credo demo``, tests), where a built-in placeholder secret
and ``./keys`` are acceptable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CREDO_"
#: The one ledger secret development mode uses; refused outside it, as is any shorter than
#: :data:`MIN_SECRET_LENGTH` (``openssl rand -hex 32`` makes a good one).
DEV_LEDGER_SECRET = "credo-development-mode-ledger-secret-not-for-deployments"
#: A placeholder an earlier version used as its default: a deployment still running on it is refused.
_OLD_PLACEHOLDER = "change-me-ledger-pseudonym-secret"
MIN_SECRET_LENGTH = 32
DEV_KEY_DIR = Path("keys")


class SettingsError(ValueError):
    """Settings a process cannot run on; the message names each ``CREDO_*`` variable and what is wrong."""


class Settings(BaseSettings):
    """Every knob a deployment can turn. Defaults suit development; a server needs the secrets too."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # --- the deployment: mode, store, secrets, keys
    dev_mode: bool = Field(False, description=(
        "Development mode: serve without CREDO_LEDGER_SECRET and CREDO_KEY_DIR (a built-in placeholder secret "
        "and ./keys). Only for throwaway stores."))
    database_url: SecretStr = Field(SecretStr("sqlite:///credo.db"),
                                    description="SQLAlchemy URL of the operational store (may carry a password).")
    ledger_secret: SecretStr | None = Field(None, description=(
        f"Secret (at least {MIN_SECRET_LENGTH} characters) keying the pseudonyms of closed accounts in the access "
        "ledger. Losing it loses nothing; leaking it re-identifies closed accounts' ledger entries."))
    key_dir: Path | None = Field(None, description=(
        "Absolute path of the issuer key ring (Ed25519 keys that sign credentials, eligibility answers and "
        "status lists). Created on first start of a fresh store only."))
    issuer: str = Field("https://credo.example", description="Credential issuer URL (iss) and status-list base.")

    # --- the API
    max_batch_events: int = Field(1000, ge=1, le=10000, description="Largest batch POST /v1/events accepts.")
    max_request_bytes: int = Field(8_000_000, ge=1024, description=(
        "Largest request body the API reads (413 REQ_TOO_LARGE beyond); a batch of CREDO_MAX_BATCH_EVENTS "
        "events must fit."))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Level of the JSON log lines; INFO logs one line per request.")

    # --- the score
    model_dir: str = Field("models", description=(
        "Directory credo train writes its bundle and report to (credo score and credo report read it); the "
        "server serves the model published in the store's registry."))
    serving_model: Literal["champion", "challenger"] = Field(
        "champion", description="Which model of the published bundle answers score requests (the gate judges "
                                "this one at publish: credo model publish).")
    model_refresh_seconds: float = Field(2.0, gt=0, description=(
        "How often a server looks at the model registry's serving pointer and switches to a newly published "
        "model (no restart)."))

    # --- consumers, partners, disputes
    session_ttl_minutes: int = Field(720, ge=1, description="Lifetime of a consumer or console session.")
    login_window_minutes: int = Field(15, ge=1, description="Window of the login rate limits.")
    login_max_failures_per_username: int = Field(5, ge=1, description=(
        "Failed logins for one username within the window after which its logins are refused (429)."))
    login_max_failures_per_client: int = Field(20, ge=1, description=(
        "Failed logins from one client address within the window after which its logins are refused (429)."))
    dispute_days: int = Field(30, ge=1, description="Days a partner has to verify a disputed record.")
    dispute_extension_days: int = Field(15, ge=0, le=15, description=(
        "Days the deadline moves, once, when the consumer adds information within dispute_days (FCRA allows "
        "at most 15)."))
    notice_business_days: int = Field(5, ge=1, le=5, description=(
        "Business days (Mon-Fri) within which the furnisher is notified of a dispute and the consumer of "
        "its results."))
    probe_window_minutes: int = Field(1440, ge=1)
    probe_max_thresholds: int = Field(3, ge=1, description="Distinct thresholds per partner and consumer per window.")
    probe_max_checks: int = Field(20, ge=1, description="Eligibility checks per partner and consumer per window.")
    ledger_checkpoint_every: int = Field(250, ge=1, description=(
        "Entries after which the server signs a checkpoint of the access ledger's head (credo.ledger.checkpoints): "
        "GET /v1/ledger/verify walks about this many, plus those of one ledger_checkpoint_seconds."))
    ledger_checkpoint_seconds: float = Field(1.0, gt=0, description=(
        "How often the server looks whether a ledger checkpoint is due (two indexed reads, no lock)."))
    probe_max_thresholds_all_partners: int = Field(4, ge=1, description=(
        "Distinct thresholds answered for one consumer per window, whichever partners asked: two partners "
        "together must not walk the whole ladder (500-750, 6 rungs)."))
    credential_ttl_minutes: int = Field(15, ge=1, le=1440)
    cra_name: str = "Credo Scores Ltd"
    cra_address: str = "1 Example Street, Example City"
    cra_phone: str = "+1-555-0100"

    @property
    def store_url(self) -> str:
        return self.database_url.get_secret_value()

    @property
    def ledger_key(self) -> bytes:
        """The ledger pseudonym secret in force (development mode's placeholder when unset there)."""
        if self.ledger_secret is None:
            if not self.dev_mode:
                raise SettingsError(_problem("ledger_secret", "is not set"))
            return DEV_LEDGER_SECRET.encode()
        return self.ledger_secret.get_secret_value().encode()

    @property
    def key_directory(self) -> Path:
        """The issuer key ring directory in force (``./keys`` in development mode when unset)."""
        if self.key_dir is None:
            if not self.dev_mode:
                raise SettingsError(_problem("key_dir", "is not set"))
            return DEV_KEY_DIR
        return self.key_dir

    def serving_problems(self) -> list[str]:
        """What stops this configuration from serving; empty when it may."""
        from credo.policy.retention import retention_months

        problems = []
        try:
            retention_months()
        except ValueError as exc:
            problems.append(str(exc))
        if self.dev_mode:
            return problems
        secret = self.ledger_secret.get_secret_value() if self.ledger_secret else None
        if secret is None:
            problems.append(_problem("ledger_secret", f"is not set: give a random secret of at least "
                                     f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"))
        elif secret in (DEV_LEDGER_SECRET, _OLD_PLACEHOLDER):
            problems.append(_problem("ledger_secret", "is a published placeholder: anyone could re-identify "
                                     "closed accounts' ledger entries; give a random secret"))
        elif len(secret) < MIN_SECRET_LENGTH:
            problems.append(_problem("ledger_secret", f"has {len(secret)} characters: use at least "
                                     f"{MIN_SECRET_LENGTH}"))
        if self.key_dir is None:
            problems.append(_problem("key_dir", "is not set: give the absolute path of the issuer key ring, the "
                                     "same on every start"))
        elif not self.key_dir.is_absolute():
            problems.append(_problem("key_dir", f"is {str(self.key_dir)!r}, relative to wherever the server "
                                     "starts: give an absolute path"))
        return problems

    def require_serving(self) -> None:
        """Raise :class:`SettingsError` naming every problem, unless this configuration may serve."""
        problems = self.serving_problems()
        if problems:
            raise SettingsError("refusing to serve: " + "; ".join(problems)
                                + f" (or set {ENV_PREFIX}DEV_MODE=1 for a throwaway development store)")


def _problem(name: str, what: str) -> str:
    return f"{ENV_PREFIX}{name.upper()} {what}"


def load_settings() -> Settings:
    """The settings from the environment; :class:`SettingsError` naming each bad variable, never a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(_problem(name, f"is invalid: {err['msg']}"))
        raise SettingsError("; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
