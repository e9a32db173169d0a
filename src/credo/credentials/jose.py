"""The small slice of JOSE the credentials need: base64url, compact JWS with Ed25519, OKP JWKs.

Only Ed25519 (RFC 8032) is implemented, as ``alg: EdDSA`` (RFC 8037) — the
identifier the brief pins — and the fully-specified ``alg: Ed25519`` of RFC
9864 is accepted on verification when a caller allows it. Everything else,
including ``none``, HMAC and RSA, is refused before any key is touched, so
there is no algorithm-confusion path.

Primitives come from ``cryptography`` (``Ed25519PrivateKey``); no JOSE library
is used because the subset is ~150 lines and must be strict: base64url without
padding and with canonical trailing bits, headers and payloads that are JSON
objects, no ``crit`` extensions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: Algorithms this module can verify; both mean Ed25519 here.
SUPPORTED_ALGS: frozenset[str] = frozenset({"EdDSA", "Ed25519"})
#: The algorithm credentials are issued with.
SIGNING_ALG = "EdDSA"

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class JoseError(ValueError):
    """A token or key that is not well-formed (not a signature failure)."""


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict base64url: unpadded alphabet only, canonical (re-encodes to the same text)."""
    if not isinstance(text, str) or not _B64URL.match(text) or len(text) % 4 == 1:
        raise JoseError("not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex guards this
        raise JoseError("not unpadded base64url") from exc
    if b64u_encode(raw) != text:
        raise JoseError("non-canonical base64url")
    return raw


def json_bytes(obj: Any) -> bytes:
    """Compact JSON, keys sorted, UTF-8 (what we sign; verifiers never re-serialise)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def sha256_b64u(data: bytes) -> str:
    return b64u_encode(hashlib.sha256(data).digest())


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64u_decode(segment).decode("utf-8"))
    except (JoseError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JoseError(f"{what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise JoseError(f"{what} is not a JSON object")
    return value


# --- keys ---------------------------------------------------------------------------------


def public_jwk(key: Ed25519PublicKey | Ed25519PrivateKey) -> dict[str, str]:
    """The RFC 8037 public JWK (``kty``, ``crv``, ``x``) of an Ed25519 key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64u_encode(raw)}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an OKP key: the issuer's ``kid``."""
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    return sha256_b64u(json.dumps(required, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def key_from_jwk(jwk: Any) -> Ed25519PublicKey:
    """An Ed25519 public key from a JWK (JoseError unless ``kty=OKP``, ``crv=Ed25519``)."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JoseError("JWK is not an OKP Ed25519 key")
    if jwk.get("alg") not in (None, "EdDSA", "Ed25519") or jwk.get("use") not in (None, "sig"):
        raise JoseError("JWK is not meant for EdDSA signatures")
    raw = b64u_decode(jwk.get("x", ""))
    if len(raw) != 32:
        raise JoseError("Ed25519 JWK x must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


# --- compact JWS ----------------------------------------------------------------------------


def sign_compact(header: dict[str, Any], payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """A compact JWS over JSON ``payload``; ``header['alg']`` is forced to EdDSA."""
    head = dict(header, alg=SIGNING_ALG)
    signing_input = f"{b64u_encode(json_bytes(head))}.{b64u_encode(json_bytes(payload))}"
    return f"{signing_input}.{b64u_encode(key.sign(signing_input.encode('ascii')))}"


class CompactJWS:
    """A parsed (not yet verified) compact JWS."""

    __slots__ = ("header", "payload", "signing_input", "signature")

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or token.count(".") != 2:
            raise JoseError("not a compact JWS")
        h, p, s = token.split(".")
        self.header = _json_object(h, "JWS header")
        self.payload = _json_object(p, "JWS payload")
        self.signing_input = f"{h}.{p}".encode("ascii")
        self.signature = b64u_decode(s)
        if "crit" in self.header:
            raise JoseError("JWS 'crit' extensions are not supported")

    @property
    def alg(self) -> Any:
        return self.header.get("alg")

    def verify(self, key: Ed25519PublicKey) -> bool:
        if len(self.signature) != 64:
            return False
        try:
            key.verify(self.signature, self.signing_input)
        except InvalidSignature:
            return False
        return True


__all__ = [
    "SUPPORTED_ALGS", "SIGNING_ALG", "JoseError", "b64u_encode", "b64u_decode", "json_bytes",
    "sha256_b64u", "public_jwk", "jwk_thumbprint", "key_from_jwk", "private_key_from_seed",
    "sign_compact", "CompactJWS",
]
