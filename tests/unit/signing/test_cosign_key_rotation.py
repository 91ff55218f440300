"""docs/key-rotation.md, cosign part, step by step: keys from the file provider, real signatures,
verified through ``verify_with_key_policy`` as ``wharfinger verify --key …`` does."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, verify_with_key_policy
from wharfinger.signing.cosign.simplesigning import (
    SIGNATURE_ANNOTATION,
    CosignKey,
    CosignSignatureLayer,
    build_signature_layer,
)
from wharfinger.signing.keys.providers import open_signer
from wharfinger.signing.keys.signer import SignatureAlgorithm

OLD_IMAGE = "sha256:" + "0a" * 32  # signed before the rotation, never re-signed
NEW_IMAGE = "sha256:" + "0b" * 32  # signed after the rotation
RESIGNED = "sha256:" + "0c" * 32  # signed before, re-signed with the new key during the overlap


def _key(base: Path, name: str) -> tuple[str, CosignKey]:
    private = ec.generate_private_key(ec.SECP256R1())
    path = base / f"{name}.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return f"file:{path}", CosignKey(name=name, public_key=private.public_key())


def _sign(uri: str, digest: str) -> CosignSignatureLayer:
    signer = open_signer(uri, {}, algorithm=SignatureAlgorithm.ECDSA_SHA256)
    payload, descriptor = build_signature_layer("registry.example/app", digest, signer)
    return CosignSignatureLayer(
        payload=payload,
        payload_digest=descriptor.digest,
        signature=base64.b64decode((descriptor.annotations or {})[SIGNATURE_ANNOTATION]),
    )


def test_cosign_key_rotation_runbook(tmp_path: Path) -> None:
    old_uri, old = _key(tmp_path, "ci-2025")
    new_uri, new = _key(tmp_path, "ci-2026")
    signatures = {
        OLD_IMAGE: [_sign(old_uri, OLD_IMAGE)],
        RESIGNED: [_sign(old_uri, RESIGNED)],
    }

    # 1. Introduce the new key: trust both, threshold 1. Switch CI to the new key.
    both = CosignKeyPolicy(keys=(old, new))
    signatures[NEW_IMAGE] = [_sign(new_uri, NEW_IMAGE)]
    for digest in (OLD_IMAGE, NEW_IMAGE, RESIGNED):
        assert verify_with_key_policy(digest, signatures[digest], both).verified, digest

    # 2. Re-sign what must outlive the old key (cosign appends: both signatures stay on the image).
    signatures[RESIGNED].append(_sign(new_uri, RESIGNED))
    assert verify_with_key_policy(RESIGNED, signatures[RESIGNED], both).signed_by == ("ci-2025", "ci-2026")
    #    Optionally demand the new key already: required names it, the old-only image is reported.
    demand_new = CosignKeyPolicy(keys=(old, new), required=("ci-2026",))
    assert verify_with_key_policy(RESIGNED, signatures[RESIGNED], demand_new).verified
    refused = verify_with_key_policy(OLD_IMAGE, signatures[OLD_IMAGE], demand_new)
    assert not refused.verified
    assert refused.reason == "missing required signature(s) from ci-2026"

    # 3. Old signatures stay valid as long as the old key is trusted (nothing expires in a .sig).
    assert verify_with_key_policy(OLD_IMAGE, signatures[OLD_IMAGE], both).signed_by == ("ci-2025",)

    # 4. Remove the old key from trust: its signatures fail, re-signed and new images pass.
    only_new = CosignKeyPolicy(keys=(new,))
    gone = verify_with_key_policy(OLD_IMAGE, signatures[OLD_IMAGE], only_new)
    assert not gone.verified
    assert gone.reason.startswith("validation threshold not reached: 0 of 1")
    assert verify_with_key_policy(RESIGNED, signatures[RESIGNED], only_new).signed_by == ("ci-2026",)
    assert verify_with_key_policy(NEW_IMAGE, signatures[NEW_IMAGE], only_new).verified


def test_two_keys_threshold_during_an_overlap(tmp_path: Path) -> None:
    """A two-person rule survives rotation: threshold 2 over three trusted keys counts distinct signers."""
    a_uri, a = _key(tmp_path, "a")
    b_uri, b = _key(tmp_path, "b")
    _, c = _key(tmp_path, "c")
    policy = CosignKeyPolicy(keys=(a, b, c), threshold=2)
    twice_by_a = [_sign(a_uri, NEW_IMAGE), _sign(a_uri, NEW_IMAGE)]
    assert not verify_with_key_policy(NEW_IMAGE, twice_by_a, policy).verified  # one signer twice is one
    assert verify_with_key_policy(NEW_IMAGE, [*twice_by_a, _sign(b_uri, NEW_IMAGE)], policy).verified
