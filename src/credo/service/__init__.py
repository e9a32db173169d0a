"""The score service: consumers' rights, partners' perks and decisions, verifiable sharing.

Domain logic, one module per concern; the REST routers in :mod:`credo.api.routers`
stay thin. Every read of a score, band, eligibility or credential appends an
access-ledger entry in the same transaction, allowed or denied.
"""

from credo.service.runtime import Service

__all__ = ["Service"]
