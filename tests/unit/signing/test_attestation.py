"""DSSE attestations: build with a real key, verify, and refuse every way of getting it wrong."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wharfinger.errors import InputError, ManifestError
from wharfinger.signing.cosign.attestation import (
    MAX_ENVELOPES,
    SLSA_PROVENANCE_V1,
    VULN_PREDICATE_V1,
    build_dsse_attestation,
    check_statement,
    pae,
    parse_attestation_manifest,
    plain_json,
    predicate_types_for,
    verify_dsse_with_keys,
)
from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle
from wharfinger.signing.cosign.simplesigning import CosignKey
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

DIGEST = "sha256:" + "ab" * 32


class EcdsaKey:
    """A throwaway P-256 key behind the Signer interface (the file provider's shape, in memory)."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())

    def key(self) -> KeySpec:
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return KeySpec(key_id="test", algorithm=SignatureAlgorithm.ECDSA_SHA256, public_key_der=der)

    def sign(self, payload: bytes) -> bytes:
        return self.private.sign(payload, ec.ECDSA(hashes.SHA256()))

    def trusted(self, name: str = "ci") -> CosignKey:
        return CosignKey(name=name, public_key=self.private.public_key())


SCAN = {
    "scanner": {
        "uri": "pkg:github/wharfinger/wharfinger",
        "version": "0.1.0",
        "result": {"summary": {"critical": 0, "high": 1}},
    },
    "metadata": {"scanStartedOn": "2026-11-24T10:00:00Z", "scanFinishedOn": "2026-11-24T10:00:02Z"},
}


def test_pae_matches_the_dsse_specification_example() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_round_trip_exposes_the_predicate_to_policy() -> None:
    key = EcdsaKey()
    envelope, descriptor = build_dsse_attestation("registry.local/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    assert descriptor.annotations["predicateType"] == VULN_PREDICATE_V1
    result = verify_dsse_with_keys(envelope, DIGEST, [key.trusted()])
    assert result.verified, result.reason
    assert result.statement is not None
    assert result.statement.predicate_type == VULN_PREDICATE_V1
    assert result.statement.predicate["scanner"]["result"]["summary"]["high"] == 1
    with pytest.raises(TypeError):
        result.statement.predicate["scanner"] = {}  # type: ignore[index]


def test_another_key_does_not_verify() -> None:
    envelope, _ = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, EcdsaKey())
    result = verify_dsse_with_keys(envelope, DIGEST, [EcdsaKey().trusted()])
    assert not result.verified
    assert "no signature" in result.reason


def test_attestation_about_another_image() -> None:
    key = EcdsaKey()
    envelope, _ = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    other = "sha256:" + "cd" * 32
    result = verify_dsse_with_keys(envelope, other, [key.trusted()])
    assert not result.verified
    assert f"not {other}" in result.reason


def test_tampered_predicate_breaks_the_signature() -> None:
    key = EcdsaKey()
    envelope, _ = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    document = json.loads(envelope)
    statement = json.loads(base64.b64decode(document["payload"]))
    statement["predicate"]["scanner"]["result"]["summary"]["high"] = 0
    document["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    result = verify_dsse_with_keys(json.dumps(document).encode(), DIGEST, [key.trusted()])
    assert not result.verified


def test_payload_type_confusion_is_refused() -> None:
    key = EcdsaKey()
    envelope, _ = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    document = json.loads(envelope)
    document["payloadType"] = "application/json"
    result = verify_dsse_with_keys(json.dumps(document).encode(), DIGEST, [key.trusted()])
    assert not result.verified
    assert "not in-toto" in result.reason


@pytest.mark.parametrize("garbage", [b"", b"{}", b'{"payloadType":"x","payload":"!!","signatures":[]}', b"[1]"])
def test_malformed_envelopes(garbage: bytes) -> None:
    result = verify_dsse_with_keys(garbage, DIGEST, [EcdsaKey().trusted()])
    assert not result.verified
    assert result.reason


def _attestation_manifest(layers: list[dict[str, object]]) -> bytes:
    """An OCI image manifest whose layers are the given envelope descriptors (the config is the empty ``{}``)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 2,
                "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            },
            "layers": layers,
        }
    ).encode()


def test_attestation_manifest_blob_must_match_its_digest() -> None:
    key = EcdsaKey()
    envelope, descriptor = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    manifest = _attestation_manifest([descriptor.to_json()])
    assert parse_attestation_manifest(manifest, {descriptor.digest: envelope}) == [envelope]
    with pytest.raises(ManifestError, match="does not match"):
        parse_attestation_manifest(manifest, {descriptor.digest: envelope + b" "})


def test_real_sigstore_dsse_bundle_statement_from_cosign(shared_dir: Path) -> None:
    base = shared_dir / "vectors/cosign/cosign/pkg/cosign/testdata"
    result = verify_bundle(
        (base / "oci-attestation.sigstore.json").read_bytes(),
        artifact=None,
        trusted_root=load_trusted_root(base / "trusted_root_pgi.json"),
        identity=IdentityPolicy(subject_regex=".*", issuer_regex=".*"),
    )
    assert result.verified, result.reason
    assert result.payload is not None
    subject = json.loads(result.payload)["subject"][0]["digest"]["sha256"]
    checked = check_statement(result.payload, f"sha256:{subject}", signer=result.identity[0])
    assert checked.verified, checked.reason
    assert checked.statement is not None
    assert checked.statement.predicate_type
    assert not check_statement(result.payload, DIGEST, signer=None).verified


def test_attestation_flood_is_refused() -> None:
    key = EcdsaKey()
    _, descriptor = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, SCAN, key)
    manifest = _attestation_manifest([descriptor.to_json()] * (MAX_ENVELOPES + 1))
    with pytest.raises(ManifestError, match="limit"):
        parse_attestation_manifest(manifest, {})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vuln", (VULN_PREDICATE_V1,)),
        ("slsaprovenance", (SLSA_PROVENANCE_V1, "https://slsa.dev/provenance/v0.2")),
        ("slsaprovenance1", (SLSA_PROVENANCE_V1,)),
        ("https://example.com/custom/v1", ("https://example.com/custom/v1",)),
    ],
)
def test_predicate_type_names(name: str, expected: tuple[str, ...]) -> None:
    assert predicate_types_for(name) == expected


def test_unknown_predicate_type_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="neither a known short name"):
        predicate_types_for("sbom")


def test_verified_predicate_serialises_back_to_the_signed_json() -> None:
    key = EcdsaKey()
    envelope, _ = build_dsse_attestation("r/app", DIGEST, VULN_PREDICATE_V1, {**SCAN, "list": [1, {"a": 2}]}, key)
    outcome = verify_dsse_with_keys(envelope, DIGEST, [key.trusted()])
    assert outcome.statement is not None
    assert json.loads(json.dumps(plain_json(outcome.statement.predicate))) == {**SCAN, "list": [1, {"a": 2}]}
