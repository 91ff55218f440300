"""The one RSA key rule (``signing.keys.algorithms``): Notary Project signatures take RSA 2048/3072/4096 only,
each with its RSASSA-PSS hash; cosign takes any RSA key of at least 2048 bits (PKCS#1 v1.5, SHA-256)."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from wharfinger.errors import KeyProviderError
from wharfinger.signing.keys.algorithms import SignatureFormat, default_algorithm, signing_algorithm
from wharfinger.signing.keys.signer import SignatureAlgorithm
from wharfinger.signing.notary.algorithms import UnsupportedKeyError, algorithm_for_key

PKCS1 = SignatureAlgorithm.RSASSA_PKCS1V15_SHA256


@functools.cache
def _rsa(bits: int) -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()


@pytest.mark.parametrize(
    ("bits", "notary", "cosign"),
    [
        (2048, SignatureAlgorithm.RSASSA_PSS_SHA256, PKCS1),
        (3072, SignatureAlgorithm.RSASSA_PSS_SHA384, PKCS1),
        (4096, SignatureAlgorithm.RSASSA_PSS_SHA512, PKCS1),
        (2560, None, PKCS1),
        (2056, None, PKCS1),
    ],
)
def test_rsa_sizes_per_format(bits: int, notary: SignatureAlgorithm | None, cosign: SignatureAlgorithm) -> None:
    key = _rsa(bits)
    assert signing_algorithm(key, SignatureFormat.COSIGN) is cosign
    if notary is None:
        with pytest.raises(KeyProviderError) as refused:
            signing_algorithm(key, SignatureFormat.NOTARY)
        assert refused.value.message == (
            f"RSA key of {bits} bits is not allowed: Notary Project signing keys are RSA 2048, 3072 or 4096"
        )
        assert refused.value.hint is not None
        assert "--format cosign" in refused.value.hint
        # The verifier's view of a certificate key is the same rule, in the same words.
        with pytest.raises(UnsupportedKeyError, match=f"RSA key of {bits} bits is not allowed"):
            algorithm_for_key(key)
        # Opened without a format, the key signs what it can sign: cosign's algorithm.
        assert default_algorithm(key) is cosign
    else:
        assert signing_algorithm(key, SignatureFormat.NOTARY) is notary
        assert algorithm_for_key(key).algorithm is notary
        assert default_algorithm(key) is notary


@pytest.mark.parametrize("signature_format", list(SignatureFormat))
def test_rsa_below_2048_is_refused_by_every_format(signature_format: SignatureFormat) -> None:
    key = _rsa(1024)
    with pytest.raises(KeyProviderError) as refused:
        signing_algorithm(key, signature_format)
    assert "RSA key of 1024 bits" in refused.value.message
    with pytest.raises(KeyProviderError, match="RSA key of 1024 bits is too small"):
        default_algorithm(key)


def test_curves_and_ed25519() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert signing_algorithm(p384, SignatureFormat.NOTARY) is SignatureAlgorithm.ECDSA_SHA384
    assert signing_algorithm(p384, SignatureFormat.COSIGN) is SignatureAlgorithm.ECDSA_SHA256
    p224 = ec.generate_private_key(ec.SECP224R1()).public_key()
    for signature_format in SignatureFormat:
        with pytest.raises(KeyProviderError, match="unsupported elliptic curve secp224r1"):
            signing_algorithm(p224, signature_format)
    edwards = ed25519.Ed25519PrivateKey.generate().public_key()
    assert signing_algorithm(edwards, SignatureFormat.COSIGN) is SignatureAlgorithm.ED25519
    with pytest.raises(KeyProviderError, match="Ed25519PublicKey keys cannot sign Notary Project signatures"):
        signing_algorithm(edwards, SignatureFormat.NOTARY)
