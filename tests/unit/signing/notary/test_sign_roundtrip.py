"""Signatures we make verify through our verifier, for every key type, format and signing scheme."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from notary_testpki import NOW, REPO, SIGNED_AT, TARGET, make_pki

from wharfinger.signing.keys.generate import KeyType
from wharfinger.signing.notary.headers import parse_envelope
from wharfinger.signing.notary.model import CheckOutcome, FailureReason, SigningScheme
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope
from wharfinger.signing.notary.verifier import verify_notary_signature

BUILDERS = {"application/jose+json": build_jws_envelope, "application/cose": build_cose_envelope}


@pytest.mark.parametrize(
    "key_type", [KeyType.EC_P256, KeyType.EC_P384, KeyType.EC_P521, KeyType.RSA_2048, KeyType.RSA_3072]
)
@pytest.mark.parametrize("media_type", sorted(BUILDERS))
def test_roundtrip(key_type, media_type, trust_for) -> None:
    pki = make_pki(key_type)
    envelope = BUILDERS[media_type](TARGET, pki.signer(), SIGNED_AT, expiry=SIGNED_AT + timedelta(days=365))
    result = verify_notary_signature(envelope, media_type, TARGET, trust_for(pki), NOW, repository=REPO)
    assert result.verified, result.message
    assert [c.outcome for c in result.checks] == [CheckOutcome.PASSED] * 5
    assert result.signer_subject == "CN=ci-signer,OU=Build,O=Acme,L=Seattle,ST=WA,C=US"
    assert result.signing_time == SIGNED_AT
    assert result.policy_name == "acme"


@pytest.mark.parametrize("media_type", sorted(BUILDERS))
def test_signing_authority_scheme_roundtrip(pki, media_type, trust_for) -> None:
    build = BUILDERS[media_type]
    envelope = build(TARGET, pki.signer(), SIGNED_AT, signing_scheme=SigningScheme.X509_SIGNING_AUTHORITY)
    parsed = parse_envelope(envelope, media_type)
    assert parsed.signing_scheme is SigningScheme.X509_SIGNING_AUTHORITY
    assert parsed.authentic_signing_time == SIGNED_AT
    wrong_store = verify_notary_signature(envelope, media_type, TARGET, trust_for(pki), NOW, repository=REPO)
    assert wrong_store.reason is FailureReason.UNTRUSTED_ROOT  # a signingAuthority signature needs that store type
    from notary_testpki import policy_bytes

    from wharfinger.signing.notary.trustpolicy import parse_trust_policy
    from wharfinger.signing.notary.truststore import StoreType, TrustStore
    from wharfinger.signing.notary.verifier import TrustMaterial

    trust = TrustMaterial(
        policy=parse_trust_policy(policy_bytes(stores=("signingAuthority:acme",))),
        store=TrustStore.from_certificates({(StoreType.SIGNING_AUTHORITY, "acme"): [pki.root.chain[0]]}),
    )
    assert verify_notary_signature(envelope, media_type, TARGET, trust, NOW, repository=REPO).verified


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _spec_example(shared_dir, name: str) -> dict[str, object]:
    text = (shared_dir / "vectors/notation/specifications/examples" / name).read_text()
    lines = [
        line.split("//")[0] if "//" in line and '"' not in line.split("//")[1] else line for line in text.splitlines()
    ]
    return json.loads("\n".join(lines))


@pytest.mark.parametrize(
    ("scheme", "example"),
    [
        (SigningScheme.X509, "signature-envelope-jws.05.json"),
        (SigningScheme.X509_SIGNING_AUTHORITY, "signature-envelope-jws.06.json"),
    ],
)
def test_jws_protected_header_matches_the_spec_example(pki, shared_dir, scheme, example) -> None:
    envelope = json.loads(
        build_jws_envelope(TARGET, pki.signer(), SIGNED_AT, SIGNED_AT + timedelta(days=1), signing_scheme=scheme)
    )
    protected_raw = _decode(envelope["protected"])
    protected = json.loads(protected_raw)
    spec = _spec_example(shared_dir, example)
    assert set(protected) == set(spec)
    assert protected["crit"] == spec["crit"]
    assert protected["cty"] == spec["cty"] == "application/vnd.cncf.notary.payload.v1+json"
    assert protected["io.cncf.notary.signingScheme"] == spec["io.cncf.notary.signingScheme"]
    # byte-level: compact JSON with sorted keys, times in RFC 3339 UTC without fractions
    assert protected_raw == json.dumps(protected, sort_keys=True, separators=(",", ":")).encode()
    time_key = "io.cncf.notary.signingTime" if scheme is SigningScheme.X509 else "io.cncf.notary.authenticSigningTime"
    assert protected[time_key] == "2026-03-01T12:00:00Z"
    assert set(envelope) == {"payload", "protected", "header", "signature"}
    assert set(envelope["header"]) == {"x5c", "io.cncf.notary.signingAgent"}
    assert [base64.b64decode(c) for c in envelope["header"]["x5c"]] == list(pki.signer().key().certificate_chain)


def test_payload_is_the_canonical_descriptor(pki, shared_dir) -> None:
    envelope = json.loads(build_jws_envelope(TARGET, pki.signer(), SIGNED_AT))
    payload = _decode(envelope["payload"])
    assert payload == (
        b'{"targetArtifact":{"digest":"sha256:73c803930ea3ba1e54bc25c2bdc53edd0284c62ed651fe7b00369da519a3c333",'
        b'"mediaType":"application/vnd.oci.image.manifest.v1+json","size":16724}}'
    )
    spec = _spec_example(shared_dir, "signature-specification.01.json")
    assert set(json.loads(payload)["targetArtifact"]) == set(spec["targetArtifact"])


def test_notation_conformance_headers(shared_dir) -> None:
    """Our encoders reproduce notation-core-go's conformance bytes for the same header values."""
    import cbor2

    from wharfinger.signing.notary.cose import encode_protected
    from wharfinger.signing.notary.jws import protected_header_bytes

    base = shared_dir / "vectors/notation/notation-core-go/signature"
    jws = json.loads((base / "jws/testdata/conformance.json").read_text())
    protected = _decode(jws["protected"])
    assert protected_header_bytes(json.loads(protected)) == protected
    cose = json.loads((base / "cose/testdata/conformance.json").read_text())
    expected = bytes.fromhex(cose["protectedHeaders"]["cborHex"])
    headers = dict(cbor2.loads(expected))
    assert encode_protected(headers) == expected
    unprotected = bytes.fromhex(cose["unprotectedHeaders"]["cborHex"])
    assert cbor2.dumps(dict(cbor2.loads(unprotected))) == unprotected


def test_cose_envelope_layout(pki) -> None:
    import cbor2

    envelope = build_cose_envelope(TARGET, pki.signer(), SIGNED_AT, SIGNED_AT + timedelta(days=1))
    message = cbor2.loads(envelope)
    assert message.tag == 18
    protected = cbor2.loads(message.value[0])
    assert protected[1] == -7  # ES256 for a P-256 key
    assert protected[2] == ["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]
    assert protected[3] == "application/vnd.cncf.notary.payload.v1+json"
    assert message.value[0][:1] == b"\xa6"  # six protected headers
    assert bytes.fromhex("c11a") in message.value[0]  # times are tag 1 integers
    assert list(message.value[1][33]) == list(pki.signer().key().certificate_chain)
