"""Ingestion: validate, check consent, de-duplicate and store partner events."""

from credo.ingest.outcomes import Outcome, Problem
from credo.ingest.service import ingest_records

__all__ = ["Outcome", "Problem", "ingest_records"]
