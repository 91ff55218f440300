"""Key-signed Sigstore bundles with RFC 3161 timestamps: sigstore-go's public-key-validity vector.

The vector is signed by a key whose validity window the caller gives; its signing time comes
from the bundle's signed timestamp (2026-06-04T17:43:29Z), verified against the trusted root's TSA.
Each test changes one input of a verification that otherwise succeeds.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from wharfinger.signing.cosign.bundle import BundleVerification, load_trusted_root
from wharfinger.signing.cosign.bundle_key import TrustedPublicKey, verify_bundle_with_key

GO = "cosign/sigstore-go/pkg/testing/data"
DIGEST = "6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72"  # what the bundle's signature covers
SIGNED_AT = datetime(2026, 6, 4, 17, 43, 29, tzinfo=UTC)


@pytest.fixture(scope="module")
def original(shared_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (shared_dir / "vectors" / GO / "bundles/public-key-validity.sigstore.json").read_bytes()
    )
    return document


def _key(shared_dir: Path, valid_from: datetime | None = None, valid_until: datetime | None = None) -> TrustedPublicKey:
    pem = (shared_dir / "vectors" / GO / "public-keys/public-key-validity.pem").read_bytes()
    return TrustedPublicKey(
        name="ci", public_key=load_pem_public_key(pem), valid_from=valid_from, valid_until=valid_until
    )


def _verify(
    shared_dir: Path,
    document: dict[str, Any],
    key: TrustedPublicKey,
    root: str = "public-key-validity",
    digest: str = DIGEST,
) -> BundleVerification:
    trusted_root = load_trusted_root(shared_dir / "vectors" / GO / "trusted-roots" / f"{root}.json")
    return verify_bundle_with_key(
        json.dumps(document).encode(), artifact=None, artifact_sha256=digest, key=key, trusted_root=trusted_root
    )


def test_verifies_without_a_window_and_reports_the_timestamp(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, _key(shared_dir))
    assert result.verified, result.reason
    assert "2026-06-04T17:43:29Z" in result.reason


def test_window_around_the_timestamp_verifies(shared_dir: Path, original: dict[str, Any]) -> None:
    key = _key(shared_dir, SIGNED_AT - timedelta(days=1), SIGNED_AT + timedelta(seconds=1))
    assert _verify(shared_dir, original, key).verified


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        (SIGNED_AT + timedelta(seconds=1), None),  # the key was introduced after the signature
        (None, SIGNED_AT - timedelta(seconds=1)),  # the key was retired before it
    ],
)
def test_timestamp_outside_the_window_fails(
    shared_dir: Path, original: dict[str, Any], valid_from: datetime | None, valid_until: datetime | None
) -> None:
    result = _verify(shared_dir, original, _key(shared_dir, valid_from, valid_until))
    assert not result.verified
    assert "outside of public key validity window" in result.reason


def test_another_key_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    other = TrustedPublicKey(name="other", public_key=ec.generate_private_key(ec.SECP256R1()).public_key())
    result = _verify(shared_dir, original, other)
    assert not result.verified
    assert "does not verify with key other" in result.reason


def test_another_artifact_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, _key(shared_dir), digest="00" * 32)
    assert not result.verified
    assert "another artifact" in result.reason


def test_tampered_timestamp_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    document = copy.deepcopy(original)
    stamp = document["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
    raw = bytearray(base64.b64decode(stamp["signedTimestamp"]))
    raw[-10] ^= 0x01  # inside the CMS signature
    stamp["signedTimestamp"] = base64.b64encode(bytes(raw)).decode()
    result = _verify(shared_dir, document, _key(shared_dir))
    assert not result.verified
    assert "signed timestamp 1 does not verify" in result.reason


def test_timestamp_of_another_signature_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    document = copy.deepcopy(original)
    signature = bytearray(base64.b64decode(document["messageSignature"]["signature"]))
    signature[-1] ^= 0x01
    document["messageSignature"]["signature"] = base64.b64encode(bytes(signature)).decode()
    result = _verify(shared_dir, document, _key(shared_dir))
    assert not result.verified  # the signature no longer verifies, before the timestamp is even read


def test_untrusted_tsa_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, _key(shared_dir), root="public-good")
    assert not result.verified
    assert "signed timestamp 1 does not verify" in result.reason


def test_no_timestamp_with_a_window_fails(shared_dir: Path, original: dict[str, Any]) -> None:
    document = copy.deepcopy(original)
    del document["verificationMaterial"]["timestampVerificationData"]
    assert _verify(shared_dir, document, _key(shared_dir)).verified  # no window: the key alone suffices
    result = _verify(shared_dir, document, _key(shared_dir, SIGNED_AT - timedelta(days=1)))
    assert not result.verified
    assert "no signed timestamp" in result.reason


@pytest.mark.parametrize(
    "garbage",
    [b"", b"[]", b"{}", b'{"mediaType": "text/plain", "verificationMaterial": {"publicKey": {}}}'],
)
def test_garbage_is_refused(shared_dir: Path, garbage: bytes) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / GO / "trusted-roots/public-key-validity.json")
    result = verify_bundle_with_key(garbage, artifact=b"x", key=_key(shared_dir), trusted_root=trusted_root)
    assert not result.verified
    assert "invalid bundle" in result.reason


def test_a_keyless_bundle_is_pointed_to_identity_verification(shared_dir: Path) -> None:
    bundle = (shared_dir / "vectors" / GO / "bundles/dsse-2sigs.sigstore.json").read_bytes()
    trusted_root = load_trusted_root(shared_dir / "vectors" / GO / "trusted-roots/public-good.json")
    result = verify_bundle_with_key(bundle, artifact=None, key=_key(shared_dir), trusted_root=trusted_root)
    assert not result.verified
    assert "verify it by identity" in result.reason
