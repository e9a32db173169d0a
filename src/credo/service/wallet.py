"""A custodial presentation for people without a wallet app: share my band with one verifier.

The consumer picks a verifier (a registered partner) and what to disclose (the band, or only
"score at least T" for a rung of the ladder). Credo issues a band credential bound to a fresh
holder key, presents it at once to that verifier (audience = the partner's id) with a random
nonce, and forgets the holder key: the presentation is the only thing left that can prove the
credential, it names one verifier, and it expires with the credential. The consumer shows it as
a QR code or a link; the partner verifies it in the console or with ``POST /v1/credentials/verify``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from credo.credentials import DISCLOSABLE_CLAIMS, RevocationReason
from credo.credentials.band import HolderKey, present
from credo.errors import CredoError, ErrorCode
from credo.service import sharing
from credo.service.runtime import Service
from credo.store.tables import issued_credentials, partners

#: What a consumer may choose to disclose: the band, or one "score at least T" claim.
SHAREABLE = tuple(c for c in DISCLOSABLE_CLAIMS if c == "band" or c.startswith("score_at_least_"))


def share(svc: Service, consumer_id: str, verifier: str, disclose: str, now: datetime) -> dict[str, Any]:
    """Issue and present a band credential to ``verifier`` disclosing only ``disclose``."""
    if disclose not in SHAREABLE:
        raise CredoError(ErrorCode.INVALID_VALUE, f"disclose one of {list(SHAREABLE)}", "disclose",
                         "one disclosable claim")
    with svc.engine.connect() as conn:
        if conn.execute(select(partners.c.id).where(partners.c.id == verifier)).first() is None:
            raise CredoError(ErrorCode.NOT_FOUND, "no such verifier", "verifier")
    holder = HolderKey()
    issued = sharing.issue(svc, consumer_id, holder.public_jwk(), now)
    nonce = secrets.token_urlsafe(16)
    token = present(issued["credential"], disclose=[disclose], holder_key=holder, audience=verifier, nonce=nonce,
                    now=now)
    return {"id": issued["id"], "band": issued["band"], "expires_at": issued["expires_at"], "verifier": verifier,
            "disclosed": disclose, "presentation": token, "nonce": nonce}


def revoke(conn: Connection, consumer_id: str, credential_id: str, now: datetime) -> None:
    """Revoke one of the consumer's live credentials; NOT_FOUND if it is not theirs or already revoked."""
    done = conn.execute(update(issued_credentials).where(
        issued_credentials.c.id == credential_id, issued_credentials.c.consumer_id == consumer_id,
        issued_credentials.c.revoked_at.is_(None)).values(
        revoked_at=now, revoke_reason=RevocationReason.HOLDER_REQUEST.value)).rowcount
    if not done:
        raise CredoError(ErrorCode.NOT_FOUND, "no live credential with that id", "credential_id")
