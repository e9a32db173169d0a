"""Revocation through an IETF Token Status List (draft-ietf-oauth-status-list).

Every credential carries ``status: {status_list: {idx, uri}}``. The list at
``uri`` is a byte array with ``bits`` bits per credential, least significant
bit first (index ``i`` lives in byte ``i*bits // 8``), DEFLATE-compressed in
the ZLIB format and base64url-encoded as ``lst``. It is published as a JWT
with ``typ: statuslist+jwt`` whose ``sub`` is the list's URI, signed by the
issuer key ring, with ``iat``, ``exp`` and ``ttl``.

Here one bit per credential: 0 = valid, 1 = revoked (the draft's VALID /
INVALID). *Why* a credential was revoked (account closure, fraud, a dispute
that lowered the band) is kept issuer-side in :class:`StatusListIssuer` and is
never published: the public list only says "revoked". Ordinary score drift is
handled by the short expiry, not by revocation, so the list is not a
score-change signal. Indices are allocated at random, as the draft
recommends, so neighbours in the list are not neighbours in time.
"""

from __future__ import annotations

import json
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from credo.credentials.jose import SUPPORTED_ALGS, CompactJWS, JoseError, b64u_decode, b64u_encode, key_from_jwk
from credo.credentials.keys import KeyRing, to_epoch

STATUS_LIST_TYP = "statuslist+jwt"
VALID, INVALID = 0, 1
#: Default list size: 2**17 slots (16 KiB raw, a few hundred bytes compressed when sparse).
DEFAULT_SIZE = 1 << 17
#: Refuse to inflate a published list beyond this (decompression bombs).
MAX_LIST_BYTES = 1 << 24
DEFAULT_TOKEN_TTL = timedelta(hours=1)


class StatusListError(JoseError):
    """A status list or status-list token that cannot be trusted or decoded."""


class RevocationReason(StrEnum):
    ACCOUNT_CLOSED = "account_closed"
    FRAUD = "fraud"
    DISPUTE_LOWERED_BAND = "dispute_lowered_band"
    HOLDER_REQUEST = "holder_request"


@dataclass(frozen=True)
class StatusRef:
    """Where a credential's status lives: the ``status.status_list`` claim."""

    idx: int
    uri: str

    def claim(self) -> dict[str, Any]:
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


class StatusList:
    """A bit array of ``size`` statuses of ``bits`` bits each (1, 2, 4 or 8)."""

    def __init__(self, size: int, bits: int = 1, data: bytes | bytearray | None = None) -> None:
        if bits not in (1, 2, 4, 8):
            raise ValueError("bits must be 1, 2, 4 or 8")
        if size <= 0:
            raise ValueError("size must be positive")
        n = (size * bits + 7) // 8
        if data is not None and len(data) != n:
            raise ValueError("data length does not match size and bits")
        self.size, self.bits = size, bits
        self._data = bytearray(data) if data is not None else bytearray(n)

    def _locate(self, idx: int) -> tuple[int, int]:
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < self.size:
            raise IndexError(f"status index {idx!r} outside 0..{self.size - 1}")
        bit = idx * self.bits
        return bit // 8, bit % 8

    def get(self, idx: int) -> int:
        byte, shift = self._locate(idx)
        return (self._data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        if not 0 <= value < (1 << self.bits):
            raise ValueError(f"status {value} does not fit in {self.bits} bits")
        byte, shift = self._locate(idx)
        mask = ((1 << self.bits) - 1) << shift
        self._data[byte] = (self._data[byte] & ~mask & 0xFF) | (value << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def encode(self) -> dict[str, Any]:
        """The ``status_list`` JSON object: ``{"bits": …, "lst": base64url(zlib(bytes))}``."""
        return {"bits": self.bits, "lst": b64u_encode(zlib.compress(self.to_bytes(), 9))}

    @classmethod
    def decode(cls, obj: Any) -> StatusList:
        if not isinstance(obj, dict) or obj.get("bits") not in (1, 2, 4, 8) or not isinstance(obj.get("lst"), str):
            raise StatusListError("status_list must be {bits: 1|2|4|8, lst: string}")
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(b64u_decode(obj["lst"]), MAX_LIST_BYTES)
            if inflater.unconsumed_tail or not inflater.eof:
                raise StatusListError("status list too large or truncated")
        except (zlib.error, JoseError) as exc:
            raise StatusListError("status list is not base64url zlib data") from exc
        if not raw:
            raise StatusListError("empty status list")
        bits = obj["bits"]
        return cls(len(raw) * 8 // bits, bits, raw)


class StatusListIssuer:
    """Issuer side of one status list: allocates indices, revokes, signs the list token.

    Persist it with :meth:`to_json`/:meth:`from_json` (or :meth:`save`/:meth:`load`)
    — allocations and revocation reasons are issuer-only data.
    """

    def __init__(self, uri: str, size: int = DEFAULT_SIZE) -> None:
        self.uri = uri
        self.list = StatusList(size, 1)
        self.allocated: set[int] = set()
        self.revocations: dict[int, dict[str, Any]] = {}

    def allocate(self) -> StatusRef:
        """A random unused index for a new credential."""
        if len(self.allocated) >= self.list.size:
            raise RuntimeError("status list full: start a new list (new uri)")
        while True:
            idx = secrets.randbelow(self.list.size)
            if idx not in self.allocated:
                self.allocated.add(idx)
                return StatusRef(idx, self.uri)

    def revoke(self, idx: int, reason: RevocationReason | str, now: datetime | int) -> None:
        if idx not in self.allocated:
            raise KeyError(f"index {idx} was never issued from {self.uri}")
        self.list.set(idx, INVALID)
        self.revocations.setdefault(idx, {"reason": str(RevocationReason(reason)), "at": to_epoch(now)})

    def is_revoked(self, idx: int) -> bool:
        return self.list.get(idx) == INVALID

    def token(self, keyring: KeyRing, now: datetime | int, *, ttl: timedelta = DEFAULT_TOKEN_TTL) -> str:
        """The signed Status List Token verifiers fetch from ``uri``."""
        t, life = to_epoch(now), int(ttl.total_seconds())
        payload = {"sub": self.uri, "iat": t, "exp": t + life, "ttl": life, "status_list": self.list.encode()}
        return keyring.sign({"typ": STATUS_LIST_TYP}, payload)

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri, "size": self.list.size, "allocated": sorted(self.allocated),
            "revocations": {str(k): v for k, v in sorted(self.revocations.items())},
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StatusListIssuer:
        issuer = cls(obj["uri"], obj["size"])
        issuer.allocated = set(obj["allocated"])
        for key, value in obj["revocations"].items():
            issuer.list.set(int(key), INVALID)
            issuer.revocations[int(key)] = dict(value)
        return issuer

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()), "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> StatusListIssuer:
        return cls.from_json(json.loads(Path(path).read_text("utf-8")))


def verify_status_list_token(
    token: str,
    *,
    jwks: dict[str, Any],
    uri: str,
    now: datetime | int,
    allowed_algs: tuple[str, ...] = ("EdDSA",),
    leeway: int = 30,
) -> StatusList:
    """Check a Status List Token's signature, type, subject and freshness; return its list."""
    try:
        jws = CompactJWS(token)
    except JoseError as exc:
        raise StatusListError(f"status list token malformed: {exc}") from exc
    if jws.alg not in allowed_algs or jws.alg not in SUPPORTED_ALGS:
        raise StatusListError(f"status list token alg {jws.alg!r} not allowed")
    if jws.header.get("typ") != STATUS_LIST_TYP:
        raise StatusListError("status list token has the wrong typ")
    jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == jws.header.get("kid")), None)
    if jwk is None:
        raise StatusListError("status list token signed by an unknown key")
    if not jws.verify(key_from_jwk(jwk)):
        raise StatusListError("status list token signature invalid")
    p, t = jws.payload, to_epoch(now)
    if p.get("sub") != uri:
        raise StatusListError("status list token is for another list")
    exp, iat = p.get("exp"), p.get("iat")
    if not isinstance(iat, int) or iat > t + leeway:
        raise StatusListError("status list token issued in the future")
    if isinstance(exp, int) and t - leeway >= exp:
        raise StatusListError("status list token expired")
    return StatusList.decode(p.get("status_list"))


__all__ = [
    "STATUS_LIST_TYP", "VALID", "INVALID", "DEFAULT_SIZE", "StatusListError", "RevocationReason", "StatusRef",
    "StatusList", "StatusListIssuer", "verify_status_list_token",
]
