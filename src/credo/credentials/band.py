"""The "ScoreBand" SD-JWT VC: issue a band credential, let the holder present a chosen part.

Credential (issuer-signed JWT, header ``typ: dc+sd-jwt``, ``alg: EdDSA``, ``kid``)::

    always visible: iss, vct, iat, nbf, exp, cnf (holder key, optional), status (optional)
    selectively disclosable, one Disclosure each:
        score_at_least_500 … score_at_least_750   (booleans, the full ladder, true AND false)
        band                                        (name from credo.policy.bands)
        as_of, model_version                        (optional)
    _sd: always SD_DIGEST_COUNT digests (real ones + decoys, sorted)

The exact score is an input to :func:`issue_score_band` and never leaves it.
Because the whole ladder is always issued and ``_sd`` is padded to a fixed
length, neither which claims exist nor how many can leak the band.

Presentation (:func:`present`): the holder keeps only the Disclosures it
chooses and appends a Key Binding JWT (``typ: kb+jwt``) signed with the key in
``cnf``, carrying the verifier's ``aud`` and ``nonce``, ``iat`` and the
``sd_hash`` of what is presented. That is where audience and nonce live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credo.credentials.jose import CompactJWS, public_jwk, sign_compact
from credo.credentials.keys import MAX_CREDENTIAL_TTL, KeyRing, to_epoch
from credo.credentials.sdjwt import Disclosure, SdJwtParts, build_sd_payload, sd_hash
from credo.credentials.status import StatusRef
from credo.policy.bands import SCORE_MAX, SCORE_MIN, band_of

#: The perk-threshold ladder the credential proves (500..750 step 50).
THRESHOLD_LADDER: tuple[int, ...] = tuple(range(500, 751, 50))
if not all(SCORE_MIN < t <= SCORE_MAX for t in THRESHOLD_LADDER):  # pragma: no cover
    raise ImportError("THRESHOLD_LADDER must lie inside the score range")

SCORE_BAND_VCT = "urn:credo:vct:score-band:1"
#: SD-JWT VC media type (current drafts); ``vc+sd-jwt`` of older drafts is accepted on verify.
SD_JWT_VC_TYP = "dc+sd-jwt"
KB_JWT_TYP = "kb+jwt"
DEFAULT_TTL = timedelta(minutes=15)
#: ``_sd`` length of every ScoreBand credential: 6 ladder + band + as_of + model_version + >= 3 decoys.
SD_DIGEST_COUNT = 12


def threshold_claim(threshold: int) -> str:
    if threshold not in THRESHOLD_LADDER:
        raise ValueError(f"{threshold} is not on the ladder {THRESHOLD_LADDER}")
    return f"score_at_least_{threshold}"


#: Every selectively disclosable claim name a ScoreBand credential may carry.
DISCLOSABLE_CLAIMS: tuple[str, ...] = (
    *(threshold_claim(t) for t in THRESHOLD_LADDER), "band", "as_of", "model_version",
)


@dataclass(frozen=True)
class IssuedCredential:
    """An issued credential as the holder stores it (all Disclosures attached)."""

    sd_jwt: str
    kid: str
    issued_at: int
    expires_at: int
    status: StatusRef | None
    disclosures: dict[str, Disclosure] = field(repr=False)

    @property
    def claim_names(self) -> list[str]:
        return list(self.disclosures)


def issue_score_band(
    keyring: KeyRing,
    *,
    score: int,
    issuer: str,
    now: datetime | int,
    ttl: timedelta = DEFAULT_TTL,
    holder_jwk: dict[str, Any] | None = None,
    status: StatusRef | None = None,
    as_of: date | None = None,
    model_version: str | None = None,
    vct: str = SCORE_BAND_VCT,
) -> IssuedCredential:
    """Issue a ScoreBand SD-JWT VC for ``score`` (which is not put in the credential).

    ``holder_jwk`` (the holder's public Ed25519 JWK) becomes ``cnf.jwk``; without
    it no Key Binding JWT can be made and verifiers refuse presentations
    (audience and nonce could not be bound). ``ttl`` defaults to 15 minutes and
    may not exceed :data:`MAX_CREDENTIAL_TTL` (key rotation relies on that bound).
    """
    if not timedelta(0) < ttl <= MAX_CREDENTIAL_TTL:
        raise ValueError(f"ttl must be in (0, {MAX_CREDENTIAL_TTL}]")
    band = band_of(score)  # also validates the score
    t = to_epoch(now)
    visible: dict[str, Any] = {"iss": issuer, "vct": vct, "iat": t, "nbf": t, "exp": t + int(ttl.total_seconds())}
    if holder_jwk is not None:
        visible["cnf"] = {"jwk": {k: holder_jwk[k] for k in ("kty", "crv", "x")}}
    if status is not None:
        visible["status"] = status.claim()
    disclosable: dict[str, Any] = {threshold_claim(th): int(score) >= th for th in THRESHOLD_LADDER}
    disclosable["band"] = band.name
    if as_of is not None:
        disclosable["as_of"] = as_of.isoformat()
    if model_version is not None:
        disclosable["model_version"] = model_version
    payload, disclosures = build_sd_payload(visible, disclosable, total_digests=SD_DIGEST_COUNT)
    parts = SdJwtParts(keyring.sign({"typ": SD_JWT_VC_TYP}, payload), tuple(d.encoded for d in disclosures), None)
    return IssuedCredential(
        sd_jwt=parts.serialise(), kid=keyring.active.kid, issued_at=t, expires_at=visible["exp"],
        status=status, disclosures={d.name: d for d in disclosures},
    )


class HolderKey:
    """An Ed25519 holder key (the wallet's; Credo holds it only in a custodial flow)."""

    def __init__(self, private_key: Ed25519PrivateKey | None = None) -> None:
        self.private_key = private_key or Ed25519PrivateKey.generate()

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key)

    def __repr__(self) -> str:
        return "HolderKey(<private>)"


def present(
    sd_jwt: str,
    *,
    disclose: Iterable[str],
    holder_key: HolderKey | Ed25519PrivateKey | None,
    audience: str,
    nonce: str,
    now: datetime | int,
) -> str:
    """The holder's presentation: only the Disclosures named in ``disclose``, plus a KB-JWT.

    ``disclose`` takes claim names (``"score_at_least_650"``, ``"band"``, …);
    a name the credential does not carry raises ``ValueError`` rather than
    being silently dropped. With ``holder_key=None`` no KB-JWT is attached
    (verifiers in this module will refuse it).
    """
    parts = SdJwtParts.parse(sd_jwt)
    by_name = {Disclosure.decode(d).name: d for d in parts.disclosures}
    wanted = list(dict.fromkeys(disclose))
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise ValueError(f"credential has no disclosable claim {missing}")
    chosen = SdJwtParts(parts.issuer_jwt, tuple(by_name[n] for n in wanted), None)
    if holder_key is None:
        return chosen.serialise()
    key = holder_key.private_key if isinstance(holder_key, HolderKey) else holder_key
    cnf = CompactJWS(parts.issuer_jwt).payload.get("cnf", {}).get("jwk")
    if cnf is None or cnf.get("x") != public_jwk(key)["x"]:
        raise ValueError("holder key does not match the credential's cnf key")
    kb_payload = {"iat": to_epoch(now), "aud": audience, "nonce": nonce, "sd_hash": sd_hash(chosen)}
    kb = sign_compact({"typ": KB_JWT_TYP}, kb_payload, key)
    return SdJwtParts(chosen.issuer_jwt, chosen.disclosures, kb).serialise()


__all__ = [
    "THRESHOLD_LADDER", "SCORE_BAND_VCT", "SD_JWT_VC_TYP", "KB_JWT_TYP", "DEFAULT_TTL", "SD_DIGEST_COUNT",
    "DISCLOSABLE_CLAIMS", "threshold_claim", "IssuedCredential", "issue_score_band", "HolderKey", "present",
]
