"""SD-JWT (RFC 9901) building blocks, implemented directly.

Only what a flat credential needs: object-property Disclosures
``base64url(JSON [salt, name, value])`` at the top level of the payload, their
SHA-256 digests in ``_sd`` (``_sd_alg: sha-256``), decoy digests, the
``~``-separated serialisation ``<issuer-JWT>~<D1>~…~<Dn>~[<KB-JWT>]`` and the
``sd_hash`` a Key Binding JWT signs. Array-element disclosures and nested
``_sd`` objects are not produced, and a presentation carrying them is refused.

Why not the ``sd-jwt`` package from PyPI: its last release (0.10.4, 2024-02)
predates the final RFC, it pulls ``jwcrypto`` and ``pyyaml`` in, and its
verifier leaves ``exp``/``nbf`` unchecked. The format is small enough to own,
and the RFC's own digest examples are pinned as test vectors.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from credo.credentials.jose import JoseError, b64u_decode, b64u_encode

SD_ALG = "sha-256"
#: Claim names a Disclosure may never carry (RFC 9901 §4.2.1 plus registered JWT/VC claims).
RESERVED_CLAIMS = frozenset({"_sd", "_sd_alg", "...", "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
                             "cnf", "vct", "vct#integrity", "status"})


class DisclosureError(JoseError):
    """A Disclosure that does not decode to ``[salt, name, value]``."""


def disclosure_digest(encoded: str) -> str:
    """RFC 9901 §4.2.3: base64url(SHA-256(ASCII bytes of the encoded Disclosure))."""
    return b64u_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def new_salt() -> str:
    """128 bits of CSPRNG salt, base64url (RFC 9901 §9.3 asks for at least 128)."""
    return b64u_encode(secrets.token_bytes(16))


def decoy_digest() -> str:
    """A decoy: the digest of random bytes, indistinguishable from a real one (RFC 9901 §4.2.5)."""
    return b64u_encode(hashlib.sha256(secrets.token_bytes(32)).digest())


@dataclass(frozen=True)
class Disclosure:
    encoded: str
    salt: str
    name: str
    value: Any

    @property
    def digest(self) -> str:
        return disclosure_digest(self.encoded)

    @classmethod
    def create(cls, name: str, value: Any, salt: str | None = None) -> Disclosure:
        if name in RESERVED_CLAIMS:
            raise ValueError(f"{name!r} cannot be selectively disclosable")
        salt = new_salt() if salt is None else salt
        encoded = b64u_encode(json.dumps([salt, name, value], ensure_ascii=False).encode("utf-8"))
        return cls(encoded, salt, name, value)

    @classmethod
    def decode(cls, encoded: str) -> Disclosure:
        try:
            value = json.loads(b64u_decode(encoded).decode("utf-8"))
        except (JoseError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DisclosureError("Disclosure is not base64url JSON") from exc
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
                and isinstance(value[1], str)):
            raise DisclosureError("only object-property Disclosures [salt, name, value] are accepted")
        return cls(encoded, value[0], value[1], value[2])


@dataclass(frozen=True)
class SdJwtParts:
    """A split SD-JWT or SD-JWT+KB serialisation."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None

    @classmethod
    def parse(cls, serialised: str) -> SdJwtParts:
        if not isinstance(serialised, str) or "~" not in serialised:
            raise JoseError("not an SD-JWT (no '~' separator)")
        parts = serialised.split("~")
        jwt, disclosures, last = parts[0], parts[1:-1], parts[-1]
        if not jwt or any(not d for d in disclosures):
            raise JoseError("empty component in SD-JWT")
        return cls(jwt, tuple(disclosures), last or None)

    def without_kb(self) -> str:
        """``<JWT>~<D1>~…~<Dn>~``: the string ``sd_hash`` is computed over."""
        return "~".join((self.issuer_jwt, *self.disclosures)) + "~"

    def serialise(self) -> str:
        return self.without_kb() + (self.kb_jwt or "")


def sd_hash(parts: SdJwtParts) -> str:
    """RFC 9901 §4.3.1: base64url(SHA-256(<JWT>~<D1>~…~<Dn>~))."""
    return b64u_encode(hashlib.sha256(parts.without_kb().encode("ascii")).digest())


def build_sd_payload(
    visible: dict[str, Any], disclosable: dict[str, Any], *, total_digests: int
) -> tuple[dict[str, Any], list[Disclosure]]:
    """A payload whose ``_sd`` holds one digest per disclosable claim, padded with decoys.

    ``_sd`` always has exactly ``total_digests`` entries, sorted (RFC 9901
    §4.2.4.1 allows sorting; it hides issuance order), so its length says
    nothing about which or how many claims are real.
    """
    if len(disclosable) > total_digests:
        raise ValueError("more disclosable claims than digests")
    clash = set(visible) & set(disclosable)
    if clash:
        raise ValueError(f"claims both visible and disclosable: {sorted(clash)}")
    disclosures = [Disclosure.create(name, value) for name, value in disclosable.items()]
    digests = [d.digest for d in disclosures]
    digests += [decoy_digest() for _ in range(total_digests - len(digests))]
    return {**visible, "_sd": sorted(digests), "_sd_alg": SD_ALG}, disclosures


__all__ = [
    "SD_ALG", "RESERVED_CLAIMS", "DisclosureError", "Disclosure", "SdJwtParts", "disclosure_digest",
    "new_salt", "decoy_digest", "sd_hash", "build_sd_payload",
]
