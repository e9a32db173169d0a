"""Issuer signing keys: an Ed25519 key ring with rotation, and JWKS files for offline verifiers.

Design
------
* Every key is Ed25519; its ``kid`` is the RFC 7638 JWK thumbprint, so a kid
  can never name two different keys.
* Exactly one key is *active* (signs new credentials and status lists).
  :meth:`KeyRing.rotate` makes a fresh key active and *retires* the previous
  one: a retired key signs nothing more but stays in :meth:`KeyRing.jwks`
  until ``drop_after`` = retirement time + ``retain_for``, which must be at
  least the longest credential or status-list lifetime (default
  :data:`MAX_CREDENTIAL_TTL` plus leeway). Credentials signed before a
  rotation therefore keep verifying until they expire. :meth:`KeyRing.prune`
  then forgets keys past ``drop_after``.
* Storage is a directory (:meth:`KeyRing.save` / :meth:`KeyRing.load`): one
  ``<kid>.pem`` per key (PKCS#8, mode 0600, optionally encrypted with a
  passphrase) and ``keyring.json`` with the metadata (which key is active,
  created/retired/drop-after times). Files, not the database: the signing
  keys then never sit in the same backups as consumer data, and in production
  the directory can be a mounted secret (or be swapped for an HSM behind the
  same ``sign`` method).
* The public half is a JWKS document (:func:`save_jwks` / :func:`load_jwks`)
  that partners download once and use to verify presentations offline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from credo.credentials.jose import SIGNING_ALG, JoseError, jwk_thumbprint, key_from_jwk, public_jwk, sign_compact

#: The longest lifetime the issuer allows for a credential or status-list token.
MAX_CREDENTIAL_TTL = timedelta(days=1)
#: Default time a retired key stays published: the longest lifetime plus clock leeway.
DEFAULT_RETAIN_FOR = MAX_CREDENTIAL_TTL + timedelta(minutes=5)

_META_FILE = "keyring.json"


def to_epoch(now: datetime | int | float) -> int:
    """Seconds since the epoch from an aware datetime (or a number, passed through)."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("naive datetime: pass an aware (UTC) datetime")
        return int(now.timestamp())
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise TypeError("now must be an aware datetime or epoch seconds")
    return int(now)


def _seconds(value: timedelta | int) -> int:
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)


@dataclass
class IssuerKey:
    """One signing key. ``private_key`` is None in a public-only ring."""

    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None
    created_at: int
    retired_at: int | None = None
    drop_after: int | None = None

    @classmethod
    def generate(cls, now: datetime | int) -> IssuerKey:
        private = Ed25519PrivateKey.generate()
        return cls(jwk_thumbprint(public_jwk(private)), private.public_key(), private, to_epoch(now))

    def public_jwk(self) -> dict[str, str]:
        return {**public_jwk(self.public_key), "kid": self.kid, "alg": SIGNING_ALG, "use": "sig"}

    def __repr__(self) -> str:  # never print key material
        return f"IssuerKey(kid={self.kid!r}, created_at={self.created_at}, retired_at={self.retired_at})"


class KeyRing:
    """Ed25519 issuer keys, one active for signing, retired ones published until they may be dropped."""

    def __init__(self, keys: Iterable[IssuerKey], active_kid: str) -> None:
        self._keys: dict[str, IssuerKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise ValueError(f"duplicate kid {key.kid}")
            self._keys[key.kid] = key
        if active_kid not in self._keys or self._keys[active_kid].private_key is None:
            raise ValueError("the active key must be in the ring and have its private half")
        self._active = active_kid

    @classmethod
    def generate(cls, now: datetime | int) -> KeyRing:
        key = IssuerKey.generate(now)
        return cls([key], key.kid)

    @property
    def active(self) -> IssuerKey:
        return self._keys[self._active]

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def get(self, kid: object) -> IssuerKey | None:
        """The key with this id; None for an unknown one, or a ``kid`` that is not a string (a JWS header's
        ``kid`` is whatever the sender wrote)."""
        return self._keys.get(kid) if isinstance(kid, str) else None

    def rotate(self, now: datetime | int, *, retain_for: timedelta | int = DEFAULT_RETAIN_FOR) -> IssuerKey:
        """Make a new key active; the old one is retired and kept until ``now + retain_for``."""
        t = to_epoch(now)
        if _seconds(retain_for) < _seconds(MAX_CREDENTIAL_TTL):
            raise ValueError("retain_for must cover the longest credential lifetime")
        old = self.active
        old.retired_at, old.drop_after = t, t + _seconds(retain_for)
        new = IssuerKey.generate(t)
        self._keys[new.kid] = new
        self._active = new.kid
        return new

    def prune(self, now: datetime | int) -> list[str]:
        """Forget retired keys whose ``drop_after`` has passed; returns their kids."""
        t = to_epoch(now)
        gone = [k.kid for k in self._keys.values() if k.drop_after is not None and k.drop_after <= t]
        for kid in gone:
            del self._keys[kid]
        return gone

    def jwks(self, now: datetime | int | None = None) -> dict[str, list[dict[str, str]]]:
        """Public JWKS of every key still published (at ``now``, if given), active key first."""
        t = None if now is None else to_epoch(now)
        keys = sorted(self._keys.values(), key=lambda k: (k.kid != self._active, -k.created_at))
        return {"keys": [k.public_jwk() for k in keys if t is None or k.drop_after is None or k.drop_after > t]}

    def sign(self, header: dict[str, Any], payload: dict[str, Any]) -> str:
        """Compact JWS signed by the active key, ``kid`` set in the header."""
        key = self.active
        assert key.private_key is not None
        return sign_compact({**header, "kid": key.kid}, payload, key.private_key)

    # --- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path, *, passphrase: bytes | None = None) -> None:
        """Write ``<kid>.pem`` per key and ``keyring.json``; removes PEMs of pruned keys."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        enc = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
        for key in self._keys.values():
            if key.private_key is None:
                raise ValueError("cannot save a public-only key ring; publish its JWKS instead")
            pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, enc)
            _write_private(d / f"{key.kid}.pem", pem)
        for stale in d.glob("*.pem"):
            if stale.stem not in self._keys:
                stale.unlink()
        meta = {
            "active": self._active,
            "keys": [
                {"kid": k.kid, "created_at": k.created_at, "retired_at": k.retired_at, "drop_after": k.drop_after}
                for k in self._keys.values()
            ],
        }
        _write_private(d / _META_FILE, json.dumps(meta, indent=2).encode("utf-8"))

    @classmethod
    def load(cls, directory: str | Path, *, passphrase: bytes | None = None) -> KeyRing:
        d = Path(directory)
        meta = json.loads((d / _META_FILE).read_text("utf-8"))
        keys = []
        for entry in meta["keys"]:
            private = load_pem_private_key((d / f"{entry['kid']}.pem").read_bytes(), password=passphrase)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{entry['kid']}.pem is not an Ed25519 key")
            if jwk_thumbprint(public_jwk(private)) != entry["kid"]:
                raise ValueError(f"{entry['kid']}.pem does not match its kid")
            keys.append(IssuerKey(entry["kid"], private.public_key(), private, entry["created_at"],
                                  entry.get("retired_at"), entry.get("drop_after")))
        return cls(keys, meta["active"])


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def validate_jwks(jwks: Any) -> dict[str, list[dict[str, Any]]]:
    """A JWKS whose every key is a usable Ed25519 verification key with a unique kid."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JoseError("JWKS must be an object with a 'keys' list")
    seen: set[str] = set()
    for jwk in jwks["keys"]:
        key_from_jwk(jwk)
        if "d" in jwk:
            raise JoseError("JWKS contains private key material")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or kid in seen:
            raise JoseError("every JWKS key needs a unique kid")
        seen.add(kid)
    return jwks


def save_jwks(path: str | Path, jwks: dict[str, Any]) -> None:
    """Write a public JWKS document (for offline verifiers)."""
    Path(path).write_text(json.dumps(validate_jwks(jwks), indent=2, sort_keys=True) + "\n", "utf-8")


def load_jwks(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    return validate_jwks(json.loads(Path(path).read_text("utf-8")))


__all__ = [
    "MAX_CREDENTIAL_TTL", "DEFAULT_RETAIN_FOR", "IssuerKey", "KeyRing", "to_epoch",
    "validate_jwks", "save_jwks", "load_jwks",
]
