"""Stable error codes. Every rejection anywhere in Credo carries one of these.

Codes never change meaning once published; add new ones, never reuse.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Machine-readable reason for a rejection; the value is the public code."""

    UNKNOWN_EVENT_TYPE = "EVT_UNKNOWN_TYPE"
    MISSING_FIELD = "EVT_MISSING_FIELD"
    UNKNOWN_FIELD = "EVT_UNKNOWN_FIELD"
    INVALID_VALUE = "EVT_INVALID_VALUE"
    MONEY_PRECISION = "EVT_MONEY_PRECISION"
    RECEIVED_AT_SERVER_ASSIGNED = "EVT_RECEIVED_AT_SERVER_ASSIGNED"
    FORBIDDEN_CATEGORY = "POLICY_FORBIDDEN_CATEGORY"
    PARTNER_UNKNOWN = "PARTNER_UNKNOWN"
    PARTNER_MISMATCH = "PARTNER_MISMATCH"
    EVENT_TYPE_NOT_PERMITTED = "PARTNER_EVENT_TYPE_NOT_PERMITTED"
    CONSUMER_NOT_ENROLLED = "CONSENT_CONSUMER_NOT_ENROLLED"
    CONSENT_NOT_GIVEN = "CONSENT_NOT_GIVEN"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    TARGET_NOT_FOUND = "EVT_TARGET_NOT_FOUND"
    TARGET_MISMATCH = "EVT_TARGET_MISMATCH"
    BATCH_TOO_LARGE = "REQ_BATCH_TOO_LARGE"
    MALFORMED_REQUEST = "REQ_MALFORMED"
    AUTH_MISSING = "AUTH_MISSING_CREDENTIALS"
    AUTH_INVALID = "AUTH_INVALID_CREDENTIALS"
    NOT_FOUND = "NOT_FOUND"
    INVALID_REGISTRATION = "REG_INVALID"
    # Verifiable band credentials (credo.credentials): why a presentation was refused.
    CRED_MALFORMED = "CRED_MALFORMED"
    CRED_ALG_NOT_ALLOWED = "CRED_ALG_NOT_ALLOWED"
    CRED_UNKNOWN_KEY = "CRED_UNKNOWN_KEY"
    CRED_TAMPERED = "CRED_TAMPERED"
    CRED_WRONG_TYPE = "CRED_WRONG_TYPE"
    CRED_WRONG_ISSUER = "CRED_WRONG_ISSUER"
    CRED_EXPIRED = "CRED_EXPIRED"
    CRED_NOT_YET_VALID = "CRED_NOT_YET_VALID"
    CRED_KEY_BINDING_MISSING = "CRED_KEY_BINDING_MISSING"
    CRED_WRONG_AUDIENCE = "CRED_WRONG_AUDIENCE"
    CRED_WRONG_NONCE = "CRED_WRONG_NONCE"
    CRED_PRESENTATION_STALE = "CRED_PRESENTATION_STALE"
    CRED_REVOKED = "CRED_REVOKED"
    CRED_STATUS_UNAVAILABLE = "CRED_STATUS_UNAVAILABLE"
    # Access ledger (credo.ledger): why a chain failed verification.
    LEDGER_ENTRY_EDITED = "LEDGER_ENTRY_EDITED"
    LEDGER_ENTRY_MISSING = "LEDGER_ENTRY_MISSING"
    LEDGER_CHAIN_BROKEN = "LEDGER_CHAIN_BROKEN"
    LEDGER_PSEUDONYM_UNBOUND = "LEDGER_PSEUDONYM_UNBOUND"
    LEDGER_HEAD_MISMATCH = "LEDGER_HEAD_MISMATCH"


class CredoError(Exception):
    """A rejection with a stable code, the offending field and the rule broken."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.rule = rule
