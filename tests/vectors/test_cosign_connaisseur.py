"""connaisseur's cosign vectors: real .sig manifests of securesystemsengineering/testimage, signed
by alice, bob and charlie, with connaisseur's own expectations (vectors/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from wharfinger.errors import ManifestError
from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, verify_with_key_policy
from wharfinger.signing.cosign.simplesigning import (
    CosignKey,
    FailureReason,
    parse_signature_manifest,
    signature_tag,
    verify_layer_with_key,
)

BASE = "vectors/cosign/connaisseur/test/testdata/cosign"
IMAGE = "securesystemsengineering/testimage"


def _root(shared: Path) -> Path:
    return shared / BASE


def _keys(shared: Path) -> dict[str, CosignKey]:
    config = yaml.safe_load((_root(shared) / "01_cosign.yaml").read_text())
    keys = {
        r["name"]: CosignKey(name=r["name"], public_key=load_pem_public_key(r["key"].encode()))
        for r in config["trustRoots"]
        if "key" in r
    }
    charlie = (_root(shared) / "charlie.key").read_bytes()
    keys["charlie"] = CosignKey(name="charlie", public_key=load_pem_public_key(charlie))
    return keys


def _layers(shared: Path, digest: str):
    image_dir = _root(shared) / IMAGE
    manifest = (image_dir / "manifests" / f"{signature_tag(digest)}.json").read_bytes()
    blobs = {p.name.removesuffix(".json"): p.read_bytes() for p in (image_dir / "blobs").iterdir()}
    return parse_signature_manifest(manifest, blobs)


ALICE_DIGEST = "sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81"
MULTI_DIGEST = "sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533"


def test_expected_json_lists_these_vectors(shared_dir: Path) -> None:
    entries = {e["path"]: e for e in json.loads((shared_dir / "vectors/expected.json").read_text())}
    assert (
        entries[f"cosign/connaisseur/test/testdata/cosign/{IMAGE}/manifests/{signature_tag(ALICE_DIGEST)}.json"][
            "expected"
        ]
        == "valid"
    )
    assert (
        entries[f"cosign/connaisseur/test/testdata/cosign/{IMAGE}/manifests/{signature_tag(MULTI_DIGEST)}.json"][
            "expected"
        ]
        == "valid"
    )


def test_case1_alice_signed(shared_dir: Path) -> None:
    keys = _keys(shared_dir)
    result = verify_with_key_policy(
        ALICE_DIGEST, _layers(shared_dir, ALICE_DIGEST), CosignKeyPolicy(keys=(keys["alice"],))
    )
    assert result.verified, result.reason
    assert result.signed_by == ("alice",)


def test_case1_required_bob_is_missing(shared_dir: Path) -> None:
    keys = _keys(shared_dir)
    policy = CosignKeyPolicy(keys=(keys["alice"], keys["bob"]), required=("bob",))
    result = verify_with_key_policy(ALICE_DIGEST, _layers(shared_dir, ALICE_DIGEST), policy)
    assert not result.verified
    assert "missing required" in result.reason
    assert "bob" in result.reason


def test_bob_alone_does_not_verify_alices_signature(shared_dir: Path) -> None:
    keys = _keys(shared_dir)
    layer = _layers(shared_dir, ALICE_DIGEST)[0]
    outcome = verify_layer_with_key(layer, ALICE_DIGEST, keys["bob"])
    assert not outcome.verified
    assert outcome.reason is FailureReason.BAD_SIGNATURE


@pytest.mark.parametrize(("threshold", "verified"), [(1, True), (2, True), (3, False)])
def test_case5_6_threshold_over_the_configured_trust_roots(shared_dir: Path, threshold: int, verified: bool) -> None:
    keys = _keys(shared_dir)
    policy = CosignKeyPolicy(keys=(keys["alice"], keys["bob"]), threshold=threshold)  # trustRoot "*" of 01_cosign.yaml
    result = verify_with_key_policy(MULTI_DIGEST, _layers(shared_dir, MULTI_DIGEST), policy)
    assert result.verified is verified, result.reason
    if not verified:
        assert "threshold not reached" in result.reason


def test_charlie_also_signed_the_multi_signed_image(shared_dir: Path) -> None:
    keys = _keys(shared_dir)
    policy = CosignKeyPolicy(keys=tuple(keys.values()), threshold=3)
    result = verify_with_key_policy(MULTI_DIGEST, _layers(shared_dir, MULTI_DIGEST), policy)
    assert result.signed_by == ("alice", "bob", "charlie")


def test_a_valid_signature_for_another_digest_is_a_digest_mismatch(shared_dir: Path) -> None:
    keys = _keys(shared_dir)
    other = "sha256:" + "0" * 64
    result = verify_with_key_policy(other, _layers(shared_dir, ALICE_DIGEST), CosignKeyPolicy(keys=(keys["alice"],)))
    assert not result.verified
    assert f"not for {other}" in result.reason


def test_unsigned_image_has_no_signature_manifest(shared_dir: Path) -> None:
    unsigned = _root(shared_dir) / IMAGE / "manifests" / "co-unsigned.json"
    assert json.loads(unsigned.read_text()) == {}  # the registry's answer for a missing .sig in connaisseur's mock
    keys = _keys(shared_dir)
    result = verify_with_key_policy(ALICE_DIGEST, [], CosignKeyPolicy(keys=(keys["alice"],)))
    assert not result.verified
    assert "no cosign signatures found" in result.reason


def test_empty_key_list_never_passes(shared_dir: Path) -> None:
    result = verify_with_key_policy(ALICE_DIGEST, _layers(shared_dir, ALICE_DIGEST), CosignKeyPolicy(keys=()))
    assert not result.verified


def test_swapped_payload_blob_is_refused(shared_dir: Path) -> None:
    image_dir = _root(shared_dir) / IMAGE
    manifest = (image_dir / "manifests" / f"{signature_tag(ALICE_DIGEST)}.json").read_bytes()
    layer_digest = json.loads(manifest)["layers"][0]["digest"]
    with pytest.raises(ManifestError, match="does not match its digest"):
        parse_signature_manifest(manifest, {layer_digest: b'{"critical":{}}'})


def test_garbage_key_is_rejected_by_the_loader(shared_dir: Path) -> None:
    garbage = (shared_dir / "vectors/cosign/cosign/pkg/cosign/testdata/garbage-there-are-limits").read_bytes()
    with pytest.raises(ValueError):
        load_pem_public_key(garbage)


KEYLESS_DIGEST = "sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee"


def _keyless_trust(shared: Path):
    from cryptography import x509

    from wharfinger.signing.cosign.keyless import KeylessTrust

    host = yaml.safe_load((_root(shared) / "11_keyless.yaml").read_text())["host"]
    return KeylessTrust(
        fulcio_roots=(x509.load_pem_x509_certificate(host["fulcioCert"].encode()),),
        rekor_keys=(load_pem_public_key(host["rekorPubkey"].encode()),),
    )


@pytest.mark.parametrize(
    ("trust_root", "verified"),
    [("philipp-keyless", True), ("bob-keyless", False)],
)
def test_keyless_signature_against_11_keyless_trust_roots(shared_dir: Path, trust_root: str, verified: bool) -> None:
    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import verify_keyless_layer

    roots = {
        r["name"]: r["keyless"]
        for r in yaml.safe_load((_root(shared_dir) / "11_keyless.yaml").read_text())["trustRoots"]
    }
    spec = roots[trust_root]
    policy = IdentityPolicy(
        subject=spec.get("subject"),
        subject_regex=spec.get("subjectRegex"),
        issuer=spec.get("issuer"),
        issuer_regex=spec.get("issuerRegex"),
    )
    (layer,) = _layers(shared_dir, KEYLESS_DIGEST)
    result = verify_keyless_layer(layer, KEYLESS_DIGEST, _keyless_trust(shared_dir), policy)
    assert result.verified is verified, result.reason
    if verified:
        assert result.integrated_time is not None
        assert any("philipp" in name for name in result.identity)
    else:
        assert "bob@gmail.com" in result.reason


def test_keyless_signature_for_another_digest(shared_dir: Path) -> None:
    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import verify_keyless_layer

    (layer,) = _layers(shared_dir, KEYLESS_DIGEST)
    result = verify_keyless_layer(layer, ALICE_DIGEST, _keyless_trust(shared_dir), IdentityPolicy.unsafe_any())
    assert not result.verified
    assert "not for" in result.reason


def test_keyless_with_an_untrusted_rekor_key(shared_dir: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import KeylessTrust, verify_keyless_layer

    trust = _keyless_trust(shared_dir)
    other = KeylessTrust(
        fulcio_roots=trust.fulcio_roots, rekor_keys=(ec.generate_private_key(ec.SECP256R1()).public_key(),)
    )
    (layer,) = _layers(shared_dir, KEYLESS_DIGEST)
    result = verify_keyless_layer(layer, KEYLESS_DIGEST, other, IdentityPolicy.unsafe_any())
    assert not result.verified
    assert "Rekor" in result.reason


def test_keyless_with_an_untrusted_fulcio_root(shared_dir: Path) -> None:
    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import KeylessTrust, verify_keyless_layer

    trust = _keyless_trust(shared_dir)
    (layer,) = _layers(shared_dir, KEYLESS_DIGEST)
    result = verify_keyless_layer(
        layer, KEYLESS_DIGEST, KeylessTrust(fulcio_roots=(), rekor_keys=trust.rekor_keys), IdentityPolicy.unsafe_any()
    )
    assert not result.verified
    assert "Fulcio root" in result.reason


def test_keyless_tampered_payload(shared_dir: Path) -> None:
    import dataclasses

    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import verify_keyless_layer

    (layer,) = _layers(shared_dir, KEYLESS_DIGEST)
    tampered = dataclasses.replace(layer, payload=layer.payload.replace(b"rekor-test", b"evil-image"))
    assert tampered.payload != layer.payload
    result = verify_keyless_layer(tampered, KEYLESS_DIGEST, _keyless_trust(shared_dir), IdentityPolicy.unsafe_any())
    assert not result.verified
    assert "does not verify" in result.reason
