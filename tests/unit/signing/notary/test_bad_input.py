"""Hostile and broken signatures: each refused with a precise reason and message."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from notary_testpki import NOW, REPO, SIGNED_AT, TARGET, Pki, make_pki, policy_bytes

from wharfinger.signing.keys.file import FileSigner
from wharfinger.signing.keys.generate import GeneratedIdentity, KeyType, generate_identity
from wharfinger.signing.keys.signer import SignatureAlgorithm
from wharfinger.signing.notary.algorithms import der_to_raw_ecdsa, info_for
from wharfinger.signing.notary.envelope import EnvelopeLimits, canonical_payload
from wharfinger.signing.notary.jws import b64url_encode, encode_jws, protected_header_bytes, signing_input
from wharfinger.signing.notary.model import CheckOutcome, FailureReason, TargetDescriptor, ValidationType
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope
from wharfinger.signing.notary.trustpolicy import parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature

JWS = "application/jose+json"
COSE = "application/cose"


def verify(envelope: bytes, trust: TrustMaterial, media_type: str = JWS, target: TargetDescriptor = TARGET, **kw):
    return verify_notary_signature(envelope, media_type, target, trust, NOW, repository=REPO, **kw)


def hand_made_jws(signer: FileSigner, headers: dict[str, object], *, alg_info=None) -> bytes:
    """A JWS with exactly these protected headers, signed for real (to test rules beyond the signature)."""
    protected = protected_header_bytes(headers)
    payload = canonical_payload(TARGET)
    info = alg_info or info_for(signer.key().algorithm)
    data = signing_input(protected, payload)
    raw = signer.sign(data)
    if info.ec_coordinate_bytes:
        raw = der_to_raw_ecdsa(raw, info)
    return encode_jws(
        protected=protected, payload=payload, signature=raw, certificate_chain=signer.key().certificate_chain,
        signing_agent="test", timestamp_token=None,
    )  # fmt: skip


BASE_HEADERS = {
    "alg": "ES256",
    "cty": "application/vnd.cncf.notary.payload.v1+json",
    "crit": ["io.cncf.notary.signingScheme"],
    "io.cncf.notary.signingScheme": "notary.x509",
    "io.cncf.notary.signingTime": "2026-03-01T12:00:00Z",
}


def test_hand_made_baseline_verifies(pki, trust_for) -> None:
    assert verify(hand_made_jws(pki.signer(), BASE_HEADERS), trust_for(pki)).verified


def test_unknown_critical_header_is_refused(pki, trust_for) -> None:
    headers = {
        **BASE_HEADERS,
        "crit": ["io.cncf.notary.signingScheme", "com.example.policy"],
        "com.example.policy": "x",
    }
    result = verify(hand_made_jws(pki.signer(), headers), trust_for(pki, level="audit"))
    assert not result.verified
    assert result.reason is FailureReason.UNKNOWN_CRITICAL_HEADER
    assert "'com.example.policy'" in result.message


def test_unknown_non_critical_header_is_kept_as_extended_attribute(pki, trust_for) -> None:
    result = verify(hand_made_jws(pki.signer(), {**BASE_HEADERS, "com.example.note": "hi"}), trust_for(pki))
    assert result.verified


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"crit": []}, "non-empty list"),
        ({"crit": ["io.cncf.notary.signingScheme", "io.cncf.notary.signingScheme"]}, "twice"),
        ({"io.cncf.notary.expiry": "2027-01-01T00:00:00Z"}, "must be marked critical"),
        ({"cty": "application/json"}, "content type"),
        ({"io.cncf.notary.signingScheme": "notary.default"}, "signing scheme"),
        ({"io.cncf.notary.signingTime": "yesterday"}, "RFC 3339"),
        ({"io.cncf.notary.signingTime": "2026-03-01T12:00:00"}, "time zone"),
        ({"x5c": ["AA=="]}, "not allowed"),
    ],
)
def test_header_rules(pki, trust_for, change, words) -> None:
    result = verify(hand_made_jws(pki.signer(), {**BASE_HEADERS, **change}), trust_for(pki))
    assert result.reason is FailureReason.MALFORMED_ENVELOPE
    assert words in result.message


def test_missing_signing_time_is_refused(pki, trust_for) -> None:
    headers = {k: v for k, v in BASE_HEADERS.items() if k != "io.cncf.notary.signingTime"}
    assert (
        "requires the io.cncf.notary.signingTime"
        in verify(hand_made_jws(pki.signer(), headers), trust_for(pki)).message
    )


@pytest.mark.parametrize("alg", ["PS256", "ES384", "none", "HS256", "RS256", "EdDSA"])
def test_alg_confusion_is_refused(pki, trust_for, alg) -> None:
    """The envelope's alg must be the one the certificate key dictates, whatever the signature says."""
    result = verify(hand_made_jws(pki.signer(), {**BASE_HEADERS, "alg": alg}), trust_for(pki))
    assert result.reason is FailureReason.ALGORITHM_MISMATCH
    assert "algorithm confusion is refused" in result.message


def test_cose_alg_confusion_is_refused(pki, trust_for) -> None:
    envelope = cbor2.loads(build_cose_envelope(TARGET, pki.signer(), SIGNED_AT))
    protected = dict(cbor2.loads(envelope.value[0]))
    protected[1] = -37  # PS256 claimed for an ECDSA P-256 key
    forged = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(protected), dict(envelope.value[1]), *envelope.value[2:]]))
    assert verify(forged, trust_for(pki), COSE).reason is FailureReason.ALGORITHM_MISMATCH


def test_rsa_1024_signing_key_is_refused(trust_for) -> None:
    root = generate_identity(
        subject="CN=Weak Root,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True, key_type=KeyType.RSA_2048
    )
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 -- the point of the test
    leaf = _issue_with_key(weak_key, root)
    signer = FileSigner.from_pem(
        leaf.private_key_pem(),
        key_id="weak",
        chain_pem=leaf.chain_pem(),
        algorithm=SignatureAlgorithm.RSASSA_PSS_SHA256,
    )
    headers = {**BASE_HEADERS, "alg": "PS256"}
    pki = Pki(root=root, intermediate=root, leaf=leaf)
    result = verify(hand_made_jws(signer, headers), trust_for(pki))
    assert result.reason is FailureReason.WEAK_KEY
    assert "RSA key of 1024 bits is not allowed" in result.message


def _issue_with_key(key, issuer: GeneratedIdentity) -> GeneratedIdentity:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from wharfinger.signing.keys.generate import parse_subject

    cert = (
        x509.CertificateBuilder()
        .subject_name(parse_subject("CN=weak,O=Acme,ST=WA,C=US"))
        .issuer_name(issuer.chain[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNED_AT - timedelta(days=1))
        .not_valid_after(SIGNED_AT + timedelta(days=365))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),  # noqa: FBT003
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(issuer.private_key, hashes.SHA256())
    )
    return GeneratedIdentity(private_key=key, chain=(cert, *issuer.chain))


def test_sha1_signed_certificate_is_refused(tmp_path: Path, trust_for) -> None:
    """openssl makes the SHA-1 certificate (cryptography refuses to sign with SHA-1 at all)."""
    key_file = tmp_path / "k.pem"
    cert_file = tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha1",
         "-keyout", str(key_file), "-out", str(cert_file), "-days", "3650", "-subj", "/C=US/ST=WA/O=Acme/CN=sha1",
         "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning",
         "-addext", "basicConstraints=critical,CA:FALSE"],
        check=True, capture_output=True,
    )  # fmt: skip
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha1"
    signer = FileSigner.from_pem(key_file.read_bytes(), key_id="sha1", chain_pem=cert_file.read_bytes())
    store = TrustStore.from_certificates({(StoreType.CA, "acme"): [cert]})
    trust = TrustMaterial(policy=parse_trust_policy(policy_bytes(identities=("*",))), store=store)
    result = verify(hand_made_jws(signer, {**BASE_HEADERS}), trust)
    assert result.reason is FailureReason.WEAK_KEY
    assert "SHA-1 and weaker are refused" in result.message


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (TargetDescriptor(media_type=TARGET.media_type, digest="sha256:" + "1" * 64, size=TARGET.size), "digest"),
        (TargetDescriptor(media_type=TARGET.media_type, digest=TARGET.digest, size=TARGET.size + 1), "bytes"),
        (
            TargetDescriptor(
                media_type="application/vnd.oci.image.index.v1+json", digest=TARGET.digest, size=TARGET.size
            ),
            "media type",
        ),
    ],
)
def test_payload_must_name_the_artifact(pki, trust_for, target, words) -> None:
    result = verify(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT), trust_for(pki), target=target)
    assert result.reason is FailureReason.DIGEST_MISMATCH
    assert words in result.message
    assert next(c for c in result.checks if c.validation is ValidationType.INTEGRITY).outcome is CheckOutcome.FAILED


def test_tampered_payload(pki, trust_for) -> None:
    doc = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    other = TargetDescriptor(media_type=TARGET.media_type, digest="sha256:" + "2" * 64, size=TARGET.size)
    doc["payload"] = b64url_encode(canonical_payload(other))
    result = verify(json.dumps(doc).encode(), trust_for(pki), target=other)
    assert result.reason is FailureReason.TAMPERED


def test_tampered_cose_signature(pki, trust_for) -> None:
    envelope = bytearray(build_cose_envelope(TARGET, pki.signer(), SIGNED_AT))
    envelope[-1] ^= 0x01
    assert verify(bytes(envelope), trust_for(pki), COSE).reason is FailureReason.TAMPERED


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"payload":"e30","protected":"e30","header":{"x5c":["AA=="]}}', "base64url"),
        (b'{"signatures":[]}', "general serialization"),
        (b'{"payload":"e30","payload":"e30"}', "duplicate JSON member"),
        (b'{"payload":"e30=","protected":"e30","header":{"x5c":[]},"signature":""}', "unpadded base64url"),
        (b'{"payload":"e30","protected":"e30","header":{"x5c":[]},"signature":"", "extra": 1}', "unexpected members"),
        (b"\xff" * 10, "not valid JSON"),
    ],
)
def test_malformed_jws(pki, trust_for, data, words) -> None:
    result = verify(data, trust_for(pki))
    assert result.reason is FailureReason.MALFORMED_ENVELOPE
    assert words in result.message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not valid CBOR"),
        (cbor2.dumps([b"", {}, b"", b""]), "tagged COSE_Sign1"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])), "four members"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"\xa0", {}, None, b""])), "attached"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"\xa1\x01\x26", {}, b"{}", b""])), "x5chain"),
        (bytes.fromhex("d284") + b"\x5a\xff\xff\xff\xff", "not valid CBOR"),  # a 4 GiB byte string header, truncated
        (cbor2.dumps(cbor2.CBORTag(18, [bytes.fromhex("a201260126"), {}, b"{}", b""])), "repeats a label"),
    ],
)
def test_malformed_cose(pki, trust_for, data, words) -> None:
    result = verify(data, trust_for(pki), COSE)
    assert result.reason is FailureReason.MALFORMED_ENVELOPE
    assert words in result.message


def test_unsupported_media_type(pki, trust_for) -> None:
    result = verify(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT), trust_for(pki), "application/json")
    assert result.reason is FailureReason.UNSUPPORTED_MEDIA_TYPE


def test_oversized_envelope_is_refused_before_parsing(pki, trust_for) -> None:
    limits = EnvelopeLimits(max_envelope_bytes=4096)
    big = b'{"payload":"' + b"A" * 5000 + b'"}'
    result = verify(big, trust_for(pki), limits=limits)
    assert result.reason is FailureReason.OVERSIZED_ENVELOPE
    assert "exceeds the 4096-byte limit" in result.message
    default = verify(b" " * (1024 * 1024 + 1), trust_for(pki))
    assert default.reason is FailureReason.OVERSIZED_ENVELOPE


def test_too_many_certificates(pki, trust_for) -> None:
    doc = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    doc["header"]["x5c"] = doc["header"]["x5c"] * 5
    assert "more than the limit" in verify(json.dumps(doc).encode(), trust_for(pki)).message


def test_certificate_chain_loop_is_detected(pki, trust_for) -> None:
    doc = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    x5c = doc["header"]["x5c"]
    doc["header"]["x5c"] = [*x5c[:2], x5c[1], x5c[2]]
    result = verify(json.dumps(doc).encode(), trust_for(pki))
    assert result.reason is FailureReason.INVALID_CERTIFICATE_CHAIN
    assert "loops" in result.message


def test_incomplete_chain_is_refused(pki, trust_for) -> None:
    doc = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    doc["header"]["x5c"] = doc["header"]["x5c"][:2]
    result = verify(json.dumps(doc).encode(), trust_for(pki))
    assert result.reason is FailureReason.INVALID_CERTIFICATE_CHAIN
    assert "not a self-signed root" in result.message


def test_unrelated_certificate_in_chain(pki, trust_for) -> None:
    other = make_pki()
    doc = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    x5c = doc["header"]["x5c"]
    doc["header"]["x5c"] = [
        x5c[0],
        base64.b64encode(other.intermediate.chain[0].public_bytes(serialization.Encoding.DER)).decode(),
        x5c[2],
    ]
    result = verify(json.dumps(doc).encode(), trust_for(pki))
    assert result.reason is FailureReason.INVALID_CERTIFICATE_CHAIN
    assert "is not issued by the next certificate" in result.message


def test_ca_certificate_cannot_sign(pki, trust_for) -> None:
    signer = FileSigner.from_pem(
        pki.intermediate.private_key_pem(), key_id="ca", chain_pem=pki.intermediate.chain_pem()
    )
    result = verify(hand_made_jws(signer, BASE_HEADERS), trust_for(pki, identities=("*",)))
    assert result.reason is FailureReason.INVALID_CERTIFICATE_CHAIN
    assert "is a CA" in result.message


def test_path_length_is_enforced(trust_for) -> None:
    root = generate_identity(subject="CN=Root,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True, path_length=0)
    middle = generate_identity(subject="CN=Mid,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True, issuer=root)
    low = generate_identity(subject="CN=Low,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True, issuer=middle)
    leaf = generate_identity(subject="CN=ci-signer,O=Acme,ST=WA,C=US", now=SIGNED_AT, issuer=low)
    pki = Pki(root=root, intermediate=low, leaf=leaf)
    result = verify(hand_made_jws(pki.signer(), BASE_HEADERS), trust_for(pki))
    assert result.reason is FailureReason.INVALID_CERTIFICATE_CHAIN
    assert "allows 0 intermediate CA(s)" in result.message
    from wharfinger.errors import InputError

    with pytest.raises(InputError, match="allows 0 intermediate CA"):
        build_jws_envelope(TARGET, pki.signer(), SIGNED_AT)


def test_expired_certificate_without_timestamp(trust_for) -> None:
    pki = make_pki(at=SIGNED_AT - timedelta(days=400))  # leaf valid for 365 days from then
    envelope = build_jws_envelope(TARGET, pki.signer(), SIGNED_AT - timedelta(days=399))
    result = verify(envelope, trust_for(pki))
    assert result.reason is FailureReason.CERTIFICATE_EXPIRED
    assert "expired at" in result.message
    permissive = verify(envelope, trust_for(pki, level="permissive"))
    assert permissive.verified
    assert [c.validation for c in permissive.logged] == [ValidationType.AUTHENTIC_TIMESTAMP]


def test_audit_level_only_logs_an_untrusted_root(pki, trust_for) -> None:
    stranger = make_pki()
    envelope = build_jws_envelope(TARGET, stranger.signer(), SIGNED_AT)
    assert verify(envelope, trust_for(pki)).reason is FailureReason.UNTRUSTED_ROOT
    audit = verify(envelope, trust_for(pki, level="audit"))
    assert audit.verified
    assert audit.logged[0].reason is FailureReason.UNTRUSTED_ROOT


def test_no_applicable_policy(pki, trust_for) -> None:
    result = verify_notary_signature(
        build_jws_envelope(TARGET, pki.signer(), SIGNED_AT),
        JWS,
        TARGET,
        trust_for(pki),
        NOW,
        repository="other.example/x",
    )
    assert result.reason is FailureReason.NO_APPLICABLE_POLICY
    assert result.level is None


def test_skip_level_verifies_without_looking(pki) -> None:
    doc = {
        "version": "1.0",
        "trustPolicies": [{"name": "s", "registryScopes": [REPO], "signatureVerification": {"level": "skip"}}],
    }
    trust = TrustMaterial(policy=parse_trust_policy(json.dumps(doc).encode()), store=TrustStore())
    result = verify(b"garbage", trust)
    assert result.verified
    assert {c.outcome for c in result.checks} == {CheckOutcome.SKIPPED}


def test_signing_refuses_a_certificate_of_another_key(pki) -> None:
    from wharfinger.errors import KeyProviderError

    other = make_pki()
    mixed = FileSigner.from_pem(pki.leaf.private_key_pem(), key_id="mixed", chain_pem=other.leaf.chain_pem())
    with pytest.raises(KeyProviderError, match="does not match the public key"):
        build_jws_envelope(TARGET, mixed, SIGNED_AT)


def test_signing_refuses_a_key_without_chain(pki) -> None:
    from wharfinger.errors import KeyProviderError

    bare = FileSigner.from_pem(pki.leaf.private_key_pem(), key_id="bare")
    with pytest.raises(KeyProviderError, match="no certificate chain"):
        build_cose_envelope(TARGET, bare, SIGNED_AT)


def test_signing_refuses_an_expired_certificate(pki) -> None:
    from wharfinger.errors import InputError

    with pytest.raises(InputError, match="expired"):
        build_jws_envelope(TARGET, pki.signer(), SIGNED_AT + timedelta(days=4000))
