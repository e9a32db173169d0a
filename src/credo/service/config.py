"""Knobs of the score service (environment prefix ``CREDO_``), beside :class:`credo.settings.Settings`.

The retention period is not here: it is one setting for the features and the purge,
``CREDO_RETENTION_MONTHS`` (:mod:`credo.policy.retention`).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDO_", extra="ignore")

    key_dir: str = Field("keys", description="Issuer key ring directory (created on first use).")
    issuer: str = Field("https://credo.example", description="Credential issuer URL (iss) and status-list base.")
    ledger_secret: str = Field(
        "change-me-ledger-pseudonym-secret", min_length=16,
        description="Secret for the keyed pseudonyms of closed accounts in the access ledger.")
    session_ttl_minutes: int = Field(720, ge=1)
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
    credential_ttl_minutes: int = Field(15, ge=1, le=1440)
    cra_name: str = "Credo Scores Ltd"
    cra_address: str = "1 Example Street, Example City"
    cra_phone: str = "+1-555-0100"
