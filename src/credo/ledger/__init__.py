"""Append-only, hash-chained access ledger (PRODUCT.md §1: "see every access to their score").

See :mod:`credo.ledger.chain` for the chain and pseudonymisation design.
"""

from credo.ledger.chain import (
    GENESIS_HASH,
    ActorKind,
    EntryKind,
    LedgerEntry,
    LedgerError,
    Outcome,
    PseudonymisationResult,
    VerificationReport,
    append_entry,
    entries_for,
    entry_hash,
    head,
    pseudonym_of,
    pseudonymise,
    verify_chain,
)

__all__ = [
    "GENESIS_HASH", "ActorKind", "EntryKind", "LedgerEntry", "LedgerError", "Outcome", "PseudonymisationResult",
    "VerificationReport", "append_entry", "entries_for", "entry_hash", "head", "pseudonym_of", "pseudonymise",
    "verify_chain",
]
