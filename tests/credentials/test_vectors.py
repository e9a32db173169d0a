"""Published test vectors: RFC 9901 disclosure digests, RFC 8037 Ed25519, Token Status List.

Sources (checked against spec text quoted in public implementations' test
suites, see the report): RFC 9901 §4.2.1/§4.2.3 and §5.1 examples;
RFC 8037 Appendix A.1-A.4; draft-ietf-oauth-status-list §4.1 and Appendix C.
"""

from __future__ import annotations

import pytest

from credo.credentials.jose import b64u_decode, b64u_encode, jwk_thumbprint, private_key_from_seed, public_jwk
from credo.credentials.sdjwt import Disclosure, disclosure_digest
from credo.credentials.status import StatusList

# RFC 9901: (disclosure, digest) pairs printed in the spec.
RFC9901_DIGESTS = [
    ("WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
     "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"),
    ("WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
     "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"),
    ("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0",  # an array-element disclosure ["…", "FR"]
     "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"),
]


@pytest.mark.parametrize(("disclosure", "digest"), RFC9901_DIGESTS)
def test_rfc9901_disclosure_digests(disclosure: str, digest: str) -> None:
    assert disclosure_digest(disclosure) == digest


def test_rfc9901_disclosures_encode_byte_for_byte() -> None:
    john = Disclosure.create("given_name", "John", salt="2GLC42sKQveCfGfryNRN9w")
    assert john.encoded == RFC9901_DIGESTS[0][0]
    assert john.digest == RFC9901_DIGESTS[0][1]
    mobius = Disclosure.create("family_name", "Möbius", salt="6qMQvRL5haj")  # non-ASCII stays UTF-8
    assert mobius.encoded == RFC9901_DIGESTS[1][0]
    decoded = Disclosure.decode(RFC9901_DIGESTS[0][0])
    assert (decoded.salt, decoded.name, decoded.value) == ("2GLC42sKQveCfGfryNRN9w", "given_name", "John")


# RFC 8037 Appendix A: Ed25519 key, thumbprint, and the deterministic JWS signature.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_INPUT = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIG = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"


def test_rfc8037_ed25519_key_thumbprint_and_signature() -> None:
    key = private_key_from_seed(b64u_decode(RFC8037_D))
    jwk = public_jwk(key)
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_KID
    assert b64u_encode(key.sign(RFC8037_INPUT.encode())) == RFC8037_SIG
    assert b64u_decode(RFC8037_INPUT.split(".")[1]) == b"Example of Ed25519 signing"


# draft-ietf-oauth-status-list: the 1-bit and 2-bit examples.
def test_status_list_one_bit_vector() -> None:
    statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    lst = StatusList(16, 1)
    for i, s in enumerate(statuses):
        lst.set(i, s)
    assert lst.to_bytes() == bytes([0xB9, 0xA3])
    assert lst.encode() == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    back = StatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    assert [back.get(i) for i in range(16)] == statuses


def test_status_list_two_bit_vector() -> None:
    statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    lst = StatusList(12, 2)
    for i, s in enumerate(statuses):
        lst.set(i, s)
    assert lst.to_bytes() == bytes([0xC9, 0x44, 0xF9])
    assert lst.encode() == {"bits": 2, "lst": "eNo76fITAAPfAgc"}
    back = StatusList.decode({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    assert [back.get(i) for i in range(12)] == statuses
