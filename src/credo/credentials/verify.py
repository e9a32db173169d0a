"""Verifier for ScoreBand presentations: accept with the disclosed claims, or refuse with one code.

Checks, in this order (the first failure is the refusal reason):

1. structure ``<JWT>~<D>…~<KB-JWT>``                          → CRED_MALFORMED
2. header ``alg`` in ``allowed_algs`` (never ``none``)         → CRED_ALG_NOT_ALLOWED
3. header ``typ`` is an SD-JWT VC type                         → CRED_WRONG_TYPE
4. ``kid`` names a key in the JWKS                             → CRED_UNKNOWN_KEY
5. issuer signature                                            → CRED_TAMPERED
6. ``vct`` (and ``iss`` when the caller pins one)              → CRED_WRONG_TYPE / CRED_WRONG_ISSUER
7. every Disclosure's digest is in ``_sd``, once               → CRED_TAMPERED
8. ``nbf`` / ``iat`` not in the future, ``exp`` not passed     → CRED_NOT_YET_VALID / CRED_EXPIRED
9. Key Binding JWT present and ``cnf`` present                 → CRED_KEY_BINDING_MISSING
10. KB-JWT ``alg``, signature by ``cnf`` key, ``sd_hash``      → CRED_ALG_NOT_ALLOWED / CRED_TAMPERED
11. KB-JWT ``aud`` == audience, ``nonce`` == nonce             → CRED_WRONG_AUDIENCE / CRED_WRONG_NONCE
12. KB-JWT ``iat`` within ``max_presentation_age``             → CRED_PRESENTATION_STALE
13. status list bit (when a list is supplied)                  → CRED_REVOKED / CRED_STATUS_UNAVAILABLE

Clock: ``now`` is injected. ``leeway`` (default :data:`DEFAULT_LEEWAY` = 30 s)
is granted on every time comparison, in the holder's favour, to absorb clock
skew between issuer, holder and verifier: a credential is still accepted up
to 30 s after ``exp`` and from 30 s before ``nbf``.

Without ``status_list`` the verifier works fully offline and
``result.status_checked`` is False; pass ``require_status=True`` to refuse
instead.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credo.credentials.band import KB_JWT_TYP, SCORE_BAND_VCT, SD_JWT_VC_TYP
from credo.credentials.jose import SUPPORTED_ALGS, CompactJWS, JoseError, key_from_jwk
from credo.credentials.keys import KeyRing, to_epoch
from credo.credentials.sdjwt import RESERVED_CLAIMS, SD_ALG, Disclosure, SdJwtParts, sd_hash
from credo.credentials.status import INVALID, StatusList, StatusListError, verify_status_list_token
from credo.errors import CredoError, ErrorCode

DEFAULT_LEEWAY = 30
#: A KB-JWT older than this (plus leeway) is refused: presentations are made per request.
DEFAULT_MAX_PRESENTATION_AGE = 300
ACCEPTED_TYPS = frozenset({SD_JWT_VC_TYP, "vc+sd-jwt"})

StatusSource = str | StatusList


class CredentialRefused(CredoError):
    """Raised by :meth:`VerificationResult.raise_for_refusal`."""


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    reason: ErrorCode | None = None
    detail: str = ""
    #: Only the selectively disclosed claims the holder chose to reveal.
    disclosed: dict[str, Any] = field(default_factory=dict)
    #: The always-visible claims (iss, vct, iat, nbf, exp, status, …), without ``_sd``.
    claims: dict[str, Any] = field(default_factory=dict)
    kid: str | None = None
    status_checked: bool = False

    def raise_for_refusal(self) -> None:
        if not self.ok:
            assert self.reason is not None
            raise CredentialRefused(self.reason, self.detail, rule="credential verification")


class _Refuse(Exception):
    def __init__(self, reason: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _jwks_dict(jwks: Mapping[str, Any] | KeyRing) -> Mapping[str, Any]:
    return jwks.jwks() if isinstance(jwks, KeyRing) else jwks


def verify_presentation(
    token: str,
    *,
    jwks: Mapping[str, Any] | KeyRing,
    audience: str,
    nonce: str,
    now: datetime | int,
    status_list: StatusSource | Mapping[str, StatusSource] | None = None,
    allowed_algs: tuple[str, ...] = ("EdDSA",),
    issuer: str | None = None,
    vct: str = SCORE_BAND_VCT,
    leeway: int = DEFAULT_LEEWAY,
    max_presentation_age: int = DEFAULT_MAX_PRESENTATION_AGE,
    require_status: bool = False,
) -> VerificationResult:
    """Verify an SD-JWT+KB presentation of a ScoreBand credential (see module doc for the checks).

    ``status_list`` is a signed Status List Token (verified against the same
    ``jwks``), an already-trusted :class:`StatusList`, or a mapping from list
    URI to either.
    """
    state: dict[str, Any] = {}
    try:
        disclosed = _verify(token, _jwks_dict(jwks), audience, nonce, to_epoch(now), status_list,
                            allowed_algs, issuer, vct, leeway, max_presentation_age, require_status, state)
    except _Refuse as refusal:
        return VerificationResult(False, refusal.reason, refusal.detail, kid=state.get("kid"))
    return VerificationResult(True, None, "", disclosed, state["claims"], state["kid"], state["status_checked"])


def _verify(token, jwks, audience, nonce, t, status_list, allowed_algs, issuer, vct, leeway, max_age,
            require_status, state) -> dict[str, Any]:  # noqa: ANN001 - private, typed by the caller
    # 1. structure
    try:
        parts = SdJwtParts.parse(token)
        jws = CompactJWS(parts.issuer_jwt)
    except JoseError as exc:
        raise _Refuse(ErrorCode.CRED_MALFORMED, f"not an SD-JWT: {exc}") from None
    # 2-4. header
    if jws.alg not in allowed_algs or jws.alg not in SUPPORTED_ALGS:
        raise _Refuse(ErrorCode.CRED_ALG_NOT_ALLOWED, f"issuer alg {jws.alg!r} not allowed")
    if jws.header.get("typ") not in ACCEPTED_TYPS:
        raise _Refuse(ErrorCode.CRED_WRONG_TYPE, f"typ {jws.header.get('typ')!r} is not an SD-JWT VC")
    kid = jws.header.get("kid")
    state["kid"] = kid if isinstance(kid, str) else None
    jwk = next((k for k in jwks.get("keys", []) if isinstance(kid, str) and k.get("kid") == kid), None)
    if jwk is None:
        raise _Refuse(ErrorCode.CRED_UNKNOWN_KEY, f"no published key with kid {kid!r}")
    # 5. signature
    try:
        key = key_from_jwk(jwk)
    except JoseError as exc:
        raise _Refuse(ErrorCode.CRED_ALG_NOT_ALLOWED, f"key {kid} unusable: {exc}") from None
    if not jws.verify(key):
        raise _Refuse(ErrorCode.CRED_TAMPERED, "issuer signature does not verify")
    payload = jws.payload
    # 6. type and issuer
    if payload.get("vct") != vct:
        raise _Refuse(ErrorCode.CRED_WRONG_TYPE, f"vct {payload.get('vct')!r} is not {vct!r}")
    if issuer is not None and payload.get("iss") != issuer:
        raise _Refuse(ErrorCode.CRED_WRONG_ISSUER, f"iss {payload.get('iss')!r} is not {issuer!r}")
    # 7. disclosures
    disclosed = _process_disclosures(payload, parts.disclosures)
    # 8. validity window
    iat, nbf, exp = (payload.get(c) for c in ("iat", "nbf", "exp"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, nbf, exp)):
        raise _Refuse(ErrorCode.CRED_MALFORMED, "iat, nbf and exp must be integers")
    if t + leeway < nbf or t + leeway < iat:
        raise _Refuse(ErrorCode.CRED_NOT_YET_VALID, "credential is not valid yet")
    if t - leeway >= exp:
        raise _Refuse(ErrorCode.CRED_EXPIRED, "credential has expired")
    # 9-12. key binding
    cnf_jwk = (payload.get("cnf") or {}).get("jwk") if isinstance(payload.get("cnf"), dict) else None
    if parts.kb_jwt is None or cnf_jwk is None:
        raise _Refuse(ErrorCode.CRED_KEY_BINDING_MISSING,
                      "a Key Binding JWT with audience and nonce is required" if cnf_jwk is not None
                      else "credential has no holder key (cnf) to bind audience and nonce")
    _check_key_binding(parts, cnf_jwk, audience, nonce, t, allowed_algs, leeway, max_age)
    # 13. status
    state["status_checked"] = _check_status(payload, jwks, status_list, t, allowed_algs, leeway, require_status)
    state["claims"] = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
    return disclosed


def _process_disclosures(payload: dict[str, Any], encoded: tuple[str, ...]) -> dict[str, Any]:
    digests = payload.get("_sd", [])
    if payload.get("_sd_alg", SD_ALG) != SD_ALG or not isinstance(digests, list):
        raise _Refuse(ErrorCode.CRED_MALFORMED, "unsupported _sd_alg or _sd")
    if len(set(digests)) != len(digests):
        raise _Refuse(ErrorCode.CRED_MALFORMED, "duplicate digests in _sd")
    available = set(digests)
    disclosed: dict[str, Any] = {}
    for item in encoded:
        try:
            d = Disclosure.decode(item)
        except JoseError as exc:
            raise _Refuse(ErrorCode.CRED_TAMPERED, f"undecodable Disclosure: {exc}") from None
        if d.digest not in available:
            raise _Refuse(ErrorCode.CRED_TAMPERED, f"Disclosure for {d.name!r} matches no signed digest")
        available.discard(d.digest)  # a second copy of the same Disclosure is refused below
        if d.name in RESERVED_CLAIMS or d.name in payload or d.name in disclosed:
            raise _Refuse(ErrorCode.CRED_TAMPERED, f"Disclosure would overwrite claim {d.name!r}")
        disclosed[d.name] = d.value
    if len(disclosed) != len(encoded):  # pragma: no cover - guarded by the discard above
        raise _Refuse(ErrorCode.CRED_TAMPERED, "repeated Disclosure")
    return disclosed


def _check_key_binding(parts: SdJwtParts, cnf_jwk: Any, audience: str, nonce: str, t: int,
                       allowed_algs: tuple[str, ...], leeway: int, max_age: int) -> None:
    try:
        kb = CompactJWS(parts.kb_jwt or "")
        holder = key_from_jwk(cnf_jwk)
    except JoseError as exc:
        raise _Refuse(ErrorCode.CRED_MALFORMED, f"Key Binding JWT or cnf key malformed: {exc}") from None
    if kb.alg not in allowed_algs or kb.alg not in SUPPORTED_ALGS:
        raise _Refuse(ErrorCode.CRED_ALG_NOT_ALLOWED, f"KB-JWT alg {kb.alg!r} not allowed")
    if kb.header.get("typ") != KB_JWT_TYP:
        raise _Refuse(ErrorCode.CRED_MALFORMED, "KB-JWT typ must be kb+jwt")
    if not kb.verify(holder):
        raise _Refuse(ErrorCode.CRED_TAMPERED, "KB-JWT signature does not verify with the cnf key")
    p = kb.payload
    if not isinstance(p.get("sd_hash"), str) or not hmac.compare_digest(p["sd_hash"], sd_hash(parts)):
        raise _Refuse(ErrorCode.CRED_TAMPERED, "KB-JWT sd_hash does not match the presented Disclosures")
    if p.get("aud") != audience:
        raise _Refuse(ErrorCode.CRED_WRONG_AUDIENCE, "presentation is for another audience")
    if not isinstance(p.get("nonce"), str) or not hmac.compare_digest(p["nonce"].encode(), nonce.encode()):
        raise _Refuse(ErrorCode.CRED_WRONG_NONCE, "presentation nonce does not match")
    iat = p.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or iat > t + leeway or iat < t - max_age - leeway:
        raise _Refuse(ErrorCode.CRED_PRESENTATION_STALE, "KB-JWT iat is outside the accepted window")


def _check_status(payload: dict[str, Any], jwks: Mapping[str, Any], source: Any, t: int,
                  allowed_algs: tuple[str, ...], leeway: int, require: bool) -> bool:
    ref = (payload.get("status") or {}).get("status_list") if isinstance(payload.get("status"), dict) else None
    if ref is None:
        if require:
            raise _Refuse(ErrorCode.CRED_STATUS_UNAVAILABLE, "credential carries no status reference")
        return False
    idx, uri = ref.get("idx"), ref.get("uri")
    if not isinstance(idx, int) or isinstance(idx, bool) or not isinstance(uri, str):
        raise _Refuse(ErrorCode.CRED_MALFORMED, "status_list claim needs integer idx and string uri")
    if isinstance(source, Mapping):
        source = source.get(uri)
    if source is None:
        if require:
            raise _Refuse(ErrorCode.CRED_STATUS_UNAVAILABLE, f"no status list for {uri}")
        return False
    try:
        lst = source if isinstance(source, StatusList) else verify_status_list_token(
            source, jwks=dict(jwks), uri=uri, now=t, allowed_algs=allowed_algs, leeway=leeway)
        value = lst.get(idx)
    except (StatusListError, IndexError) as exc:
        raise _Refuse(ErrorCode.CRED_STATUS_UNAVAILABLE, f"status list unusable: {exc}") from None
    if value == INVALID:
        raise _Refuse(ErrorCode.CRED_REVOKED, "credential has been revoked")
    if value != 0:
        raise _Refuse(ErrorCode.CRED_REVOKED, f"credential status is {value}, not valid")
    return True


__all__ = [
    "DEFAULT_LEEWAY", "DEFAULT_MAX_PRESENTATION_AGE", "CredentialRefused", "VerificationResult",
    "verify_presentation",
]
