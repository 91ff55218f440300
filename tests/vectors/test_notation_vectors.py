"""Every Notation entry of ``shared/vectors/expected.json``, verified or refused for the expected reason.

The trust configuration of each case is the one the source project's test used (named in
``expected.json``'s ``needs``), written here as a trust policy and read with our own loaders.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from wharfinger.signing.notary.chain import CertificatePurpose, validate_chain
from wharfinger.signing.notary.headers import parse_envelope
from wharfinger.signing.notary.model import (
    CheckOutcome,
    FailureReason,
    NotaryVerification,
    TargetDescriptor,
    ValidationType,
)
from wharfinger.signing.notary.timestamp import TimestampError, verify_timestamp_token
from wharfinger.signing.notary.trustpolicy import parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore, load_trust_store
from wharfinger.signing.notary.verifier import (
    TrustMaterial,
    plugin_version_problem,
    subject_attributes,
    verify_notary_signature,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
JWS = "application/jose+json"
COSE = "application/cose"
NET_MONITOR = "registry.acme-rockets.io/software/net-monitor"
NET_MONITOR_TARGET = TargetDescriptor(
    media_type="application/vnd.docker.distribution.manifest.v2+json",
    digest="sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e",
    size=528,
)
TS_TARGET = TargetDescriptor(
    media_type="application/vnd.docker.distribution.manifest.v2+json",
    digest="sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda",
    size=528,
)


@pytest.fixture(scope="module")
def vectors(shared_dir: Path) -> Path:
    return shared_dir / "vectors"


@pytest.fixture(scope="module")
def expected(vectors: Path) -> dict[str, dict[str, object]]:
    entries = json.loads((vectors / "expected.json").read_text())
    return {e["path"]: e for e in entries}


@pytest.fixture(scope="module")
def notation_store(vectors: Path) -> TrustStore:
    return load_trust_store(vectors / "notation/notation-go/verifier/testdata/truststore")


def policy(level: str, stores: list[str], identities: list[str], *, override: dict[str, str] | None = None) -> bytes:
    verification: dict[str, object] = {"level": level}
    if override:
        verification["override"] = override
    doc = {
        "version": "1.0",
        "trustPolicies": [
            {
                "name": "vectors",
                "registryScopes": ["*"],
                "signatureVerification": verification,
                "trustStores": stores,
                "trustedIdentities": identities,
            }
        ],
    }
    return json.dumps(doc).encode()


def material(store: TrustStore, level: str, stores: list[str], identities: list[str], **kw: object) -> TrustMaterial:
    return TrustMaterial(policy=parse_trust_policy(policy(level, stores, identities, **kw)), store=store)  # type: ignore[arg-type]


def outcome(result: object, validation: ValidationType) -> object:
    return next(c for c in result.checks if c.validation is validation)  # type: ignore[attr-defined]


MOCK = "notation/notation-go/internal/mock/testdata"
ROOT_IDENTITY = "x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"


def _verify_net_monitor(envelope: bytes, trust: TrustMaterial) -> NotaryVerification:
    """Verify a JWS envelope of notation-go's mock testdata: each one signs the net-monitor manifest."""
    return verify_notary_signature(envelope, JWS, NET_MONITOR_TARGET, trust, NOW, repository=NET_MONITOR)


def _expect(expected: dict[str, dict[str, object]], path: str, value: str) -> None:
    assert expected[path]["expected"] == value, f"expected.json changed for {path}"


@pytest.mark.parametrize("level", ["strict", "permissive", "audit"])
@pytest.mark.parametrize(
    ("name", "store"), [("ca_valid_sig_env.json", "ca"), ("sa_valid_sig_env.json", "signingAuthority")]
)
def test_valid_mock_envelopes_verify_at_every_level(vectors, expected, notation_store, name, store, level) -> None:
    path = f"{MOCK}/{name}"
    _expect(expected, path, "valid")
    trust = material(notation_store, level, [f"{store}:valid-trust-store"], [ROOT_IDENTITY])
    result = _verify_net_monitor((vectors / path).read_bytes(), trust)
    assert result.verified, result.message
    assert result.level is not None
    assert result.level.value == level
    assert result.signer_subject == "CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"
    assert all(c.outcome is CheckOutcome.PASSED for c in result.checks), result.checks


@pytest.mark.parametrize(
    ("name", "store"), [("ca_expired_sig_env.json", "ca"), ("sa_expired_sig_env.json", "signingAuthority")]
)
def test_expired_mock_envelopes_fail_at_strict_and_are_logged_below(
    vectors, expected, notation_store, name, store
) -> None:
    path = f"{MOCK}/{name}"
    _expect(expected, path, "invalid")
    data = (vectors / path).read_bytes()
    strict = _verify_net_monitor(data, material(notation_store, "strict", [f"{store}:valid-trust-store"], ["*"]))
    assert not strict.verified
    assert strict.reason is FailureReason.EXPIRED
    assert 'digital signature has expired on "Fri, 29 Jul 2022 23:59:00 +0000"'.replace('"', "") in strict.message
    permissive = _verify_net_monitor(
        data, material(notation_store, "permissive", [f"{store}:valid-trust-store"], ["*"])
    )
    assert permissive.verified
    assert outcome(permissive, ValidationType.EXPIRY).outcome is CheckOutcome.LOGGED


@pytest.mark.parametrize("level", ["strict", "permissive", "audit"])
@pytest.mark.parametrize(
    ("name", "store"), [("ca_invalid_sig_env.json", "ca"), ("sa_invalid_sig_env.json", "signingAuthority")]
)
def test_invalid_mock_envelopes_fail_integrity_at_every_level(
    vectors, expected, notation_store, name, store, level
) -> None:
    path = f"{MOCK}/{name}"
    _expect(expected, path, "invalid")
    trust = material(notation_store, level, [f"{store}:valid-trust-store"], ["*"])
    result = _verify_net_monitor((vectors / path).read_bytes(), trust)
    assert not result.verified
    assert result.reason is FailureReason.MALFORMED_ENVELOPE
    assert "base64url" in result.message
    assert outcome(result, ValidationType.INTEGRITY).outcome is CheckOutcome.FAILED


PLUGIN = "io.cncf.notary.plugin.unittest.mock"


@pytest.mark.parametrize("version", ["0.0.9", "1.0.0-alpha", "1.0.0-alpha.beta", "1.0.0"])
def test_plugin_minimum_version_met(vectors, expected, version) -> None:
    path = f"{MOCK}/ca_compatible_pluginver_sig_env_{version}.json"
    _expect(expected, path, "valid")
    envelope = parse_envelope((vectors / path).read_bytes(), JWS)
    assert envelope.verification_plugin == PLUGIN
    assert plugin_version_problem(envelope, {PLUGIN: "1.0.0"}) is None


@pytest.mark.parametrize("version", ["1.0.1", "1.0.9", "1.1.0-alpha", "1.2.3"])
def test_plugin_minimum_version_not_met(vectors, expected, notation_store, version) -> None:
    path = f"{MOCK}/ca_incompatible_pluginver_sig_env_{version}.json"
    _expect(expected, path, "invalid")
    data = (vectors / path).read_bytes()
    message = plugin_version_problem(parse_envelope(data, JWS), {PLUGIN: "1.0.0"})
    assert message == (
        f"found plugin {PLUGIN} with version 1.0.0 but signature verification needs plugin version greater than or "
        f"equal to {version}"
    )
    env = parse_envelope(data, JWS)
    target = env.target
    trust = TrustMaterial(
        policy=parse_trust_policy(
            policy(
                "strict",
                ["ca:valid-trust-store"],
                ["x509.subject: CN=wabbit-networks.io,O=Notary,L=Seattle,ST=WA,C=US"],
            )
        ),
        store=notation_store,
        installed_plugins={PLUGIN: "1.0.0"},
    )
    result = verify_notary_signature(data, JWS, target, trust, NOW, repository=NET_MONITOR)
    assert not result.verified
    assert result.reason is FailureReason.PLUGIN_REQUIRED
    assert result.message == message


def test_signature_requiring_a_plugin_we_cannot_run_fails(vectors, notation_store) -> None:
    trust = material(notation_store, "strict", ["ca:valid-trust-store"], ["*"])
    data = (vectors / MOCK / "ca_plugin_sig_env.json").read_bytes()
    result = _verify_net_monitor(data, trust)
    assert not result.verified
    assert result.reason is FailureReason.UNKNOWN_CRITICAL_HEADER  # "SomeKey" is critical and unknown
    assert "'SomeKey'" in result.message


SIGENV = "notation/notation-go/verifier/testdata/timestamp/sigEnv"


def _ts_trust(store: TrustStore, *, with_tsa: bool = True) -> TrustMaterial:
    stores = ["ca:valid-trust-store", "tsa:test-timestamp"] if with_tsa else ["ca:valid-trust-store"]
    # authenticity is logged: the source test (timestamp_test.go) asserts only the authentic-timestamp step
    return material(store, "strict", stores, ["*"], override={"authenticity": "log", "revocation": "skip"})


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("jwsWithTimestamp.sig", JWS), ("coseWithTimestamp.sig", COSE), ("jwsExpiredWithTimestamp.sig", JWS),
     ("coseExpiredWithTimestamp.sig", COSE)],
)  # fmt: skip
def test_timestamped_envelopes_have_an_authentic_timestamp(vectors, expected, notation_store, name, media_type) -> None:
    path = f"{SIGENV}/{name}"
    _expect(expected, path, "valid")
    result = verify_notary_signature(
        (vectors / path).read_bytes(), media_type, TS_TARGET, _ts_trust(notation_store), NOW, repository=NET_MONITOR
    )
    assert outcome(result, ValidationType.AUTHENTIC_TIMESTAMP).outcome is CheckOutcome.PASSED
    assert outcome(result, ValidationType.INTEGRITY).outcome is CheckOutcome.PASSED
    assert result.timestamp_time is not None
    assert result.timestamp_time.date() == datetime(2024, 6, 18, tzinfo=UTC).date()


@pytest.mark.parametrize(
    ("name", "media_type"), [("jwsExpiredWithTimestamp.sig", JWS), ("coseExpiredWithTimestamp.sig", COSE)]
)
def test_expired_certificate_without_tsa_store_fails(vectors, notation_store, name, media_type) -> None:
    result = verify_notary_signature(
        (vectors / SIGENV / name).read_bytes(), media_type, TS_TARGET, _ts_trust(notation_store, with_tsa=False), NOW,
        repository=NET_MONITOR,
    )  # fmt: skip
    check = outcome(result, ValidationType.AUTHENTIC_TIMESTAMP)
    assert check.outcome is CheckOutcome.FAILED
    assert check.reason is FailureReason.CERTIFICATE_EXPIRED
    assert "CN=testTSA" in check.message
    assert "expired at 2024-06-18T07:30:31" in check.message


@pytest.mark.parametrize(
    ("name", "media_type", "words"),
    [
        ("timestampAfterNotAfter.sig", COSE, "it was expired at 2001-09-18T11:54:34"),
        ("timestampBeforeNotBefore.sig", JWS, "it will be valid from 2099-09-18T11:54:34"),
    ],
)
def test_timestamp_outside_certificate_validity_fails(
    vectors, expected, notation_store, name, media_type, words
) -> None:
    path = f"{SIGENV}/{name}"
    _expect(expected, path, "invalid")
    result = verify_notary_signature(
        (vectors / path).read_bytes(), media_type, TS_TARGET, _ts_trust(notation_store), NOW, repository=NET_MONITOR
    )
    assert not result.verified
    check = outcome(result, ValidationType.AUTHENTIC_TIMESTAMP)
    assert check.outcome is CheckOutcome.FAILED
    assert "CN=testTSA" in check.message
    assert words in check.message


def test_timestamp_required_but_missing(vectors, expected, notation_store) -> None:
    path = f"{SIGENV}/withoutTimestamp.sig"
    _expect(expected, path, "invalid")
    result = verify_notary_signature(
        (vectors / path).read_bytes(), JWS, TS_TARGET, _ts_trust(notation_store), NOW, repository=NET_MONITOR
    )
    assert not result.verified
    assert result.reason is FailureReason.TIMESTAMP_MISSING
    assert result.message == "no timestamp countersignature was found in the signature envelope"


def test_timestamp_from_untrusted_tsa_fails(vectors, notation_store) -> None:
    trust = material(
        notation_store, "strict", ["ca:valid-trust-store", "tsa:test-mismatch"], ["*"],
        override={"authenticity": "log", "revocation": "skip"},
    )  # fmt: skip
    result = verify_notary_signature(
        (vectors / SIGENV / "jwsWithTimestamp.sig").read_bytes(), JWS, TS_TARGET, trust, NOW, repository=NET_MONITOR
    )
    assert result.reason is FailureReason.TIMESTAMP_INVALID
    assert "certificate signed by unknown authority" in result.message


COUNTERSIG = "notation/notation-go/verifier/testdata/timestamp/countersignature"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (f"{COUNTERSIG}/TimeStampToken.p7s", "invalid TSTInfo: mismatched message"),
        (f"{COUNTERSIG}/TimeStampTokenWithInvalidTSTInfo.p7s", "failed to get the timestamp TSTInfo"),
        (f"{COUNTERSIG}/TimeStampTokenWithInvalideContentType.p7s", "unexpected content type: 1.2.840.113549.1.7.1"),
        (f"{COUNTERSIG}/TimeStampTokenWithoutCertificate.p7s", "signing certificate not found in the timestamp token"),
    ],
)
def test_broken_timestamp_tokens(vectors, expected, path, words) -> None:
    _expect(expected, path, "invalid")
    # TimeStampToken.p7s is spliced into withoutTimestamp.sig by the source test: the message is that signature
    message = parse_envelope((vectors / SIGENV / "withoutTimestamp.sig").read_bytes(), JWS).signature
    roots = [
        x509.load_der_x509_certificate(
            (
                vectors / "notation/notation-go/verifier/testdata/truststore/x509/tsa/test-timestamp/globalsignRoot.cer"
            ).read_bytes()
        )
    ]
    with pytest.raises(TimestampError, match=words):
        verify_timestamp_token((vectors / path).read_bytes(), message, roots)


def test_timestamp_token_with_invalid_signature(vectors, expected) -> None:
    path = "notation/notation-core-go/internal/timestamp/testdata/TimeStampTokenWithInvalidSignature.p7s"
    _expect(expected, path, "invalid")
    root_data = (vectors / "notation/notation-core-go/internal/timestamp/testdata/tsaRootCert.cer").read_bytes()
    roots = [x509.load_der_x509_certificate(root_data)]
    with pytest.raises(TimestampError, match="signature is invalid"):
        verify_timestamp_token((vectors / path).read_bytes(), b"notation", roots)


CONNAISSEUR = "cosign/connaisseur/test/testdata/notation"


def _connaisseur_roots(vectors: Path) -> dict[str, x509.Certificate]:
    config = yaml.safe_load((vectors / CONNAISSEUR / "07_selfsigned_cert.yaml").read_text())
    return {root["name"]: x509.load_pem_x509_certificate(root["cert"].encode()) for root in config["trustRoots"]}


def test_connaisseur_signature_verifies_with_its_trust_root_only(vectors, expected) -> None:
    blob = "sha256:929a0a249c4614eb8bef5a914308896e7c8c5422d508eaddfd98dfe61683e556.json"
    path = f"{CONNAISSEUR}/sse-secure-systems/testimage/blobs/{blob}"
    _expect(expected, path, "valid")
    manifest = (vectors / CONNAISSEUR / "sse-secure-systems/testimage/manifests/notation-sign.json").read_bytes()
    import hashlib

    target = TargetDescriptor(
        media_type=json.loads(manifest)["mediaType"],
        digest="sha256:" + hashlib.sha256(manifest).hexdigest(),
        size=len(manifest),
    )
    roots = _connaisseur_roots(vectors)
    data = (vectors / path).read_bytes()
    good = TrustMaterial(
        policy=parse_trust_policy(policy("strict", ["ca:default"], ["*"])),
        store=TrustStore.from_certificates({(StoreType.CA, "default"): [roots["default"]]}),
    )
    result = verify_notary_signature(data, JWS, target, good, NOW, repository="ghcr.io/sse-secure-systems/testimage")
    assert result.verified, result.message
    wrong = TrustMaterial(
        policy=parse_trust_policy(policy("strict", ["ca:default"], ["*"])),
        store=TrustStore.from_certificates({(StoreType.CA, "default"): [roots["different-cert"]]}),
    )
    refused = verify_notary_signature(data, JWS, target, wrong, NOW, repository="ghcr.io/sse-secure-systems/testimage")
    assert not refused.verified
    assert refused.reason is FailureReason.UNTRUSTED_ROOT


LAYOUT = "notation/notation-go/internal/testdata"


@pytest.mark.parametrize(("name", "media_type"), [("jws_signature.sig", JWS), ("cose_signature.sig", COSE)])
def test_signatures_over_the_oci_layout_image(vectors, name, media_type) -> None:
    index = json.loads((vectors / LAYOUT / "oci-layout/index.json").read_text())
    descriptor = index["manifests"][0]
    target = TargetDescriptor(media_type=descriptor["mediaType"], digest=descriptor["digest"], size=descriptor["size"])
    data = (vectors / LAYOUT / name).read_bytes()
    leaf = x509.load_der_x509_certificate(parse_envelope(data, media_type).certificate_chain[0])
    trust = TrustMaterial(
        policy=parse_trust_policy(policy("strict", ["ca:alpine"], ["x509.subject: C=US, ST=WA, O=Notary, CN=alpine"])),
        store=TrustStore.from_certificates({(StoreType.CA, "alpine"): [leaf]}),
    )
    result = verify_notary_signature(data, media_type, target, trust, NOW, repository="docker.io/library/alpine")
    assert result.verified, result.message
    other = TargetDescriptor(media_type=target.media_type, digest="sha256:" + "0" * 64, size=target.size)
    mismatch = verify_notary_signature(data, media_type, other, trust, NOW, repository="docker.io/library/alpine")
    assert mismatch.reason is FailureReason.DIGEST_MISMATCH


def test_trust_store_without_the_signing_root(vectors, notation_store) -> None:
    trust = material(notation_store, "strict", ["ca:valid-trust-store-2"], ["*"])
    result = _verify_net_monitor((vectors / MOCK / "ca_valid_sig_env.json").read_bytes(), trust)
    assert result.reason is FailureReason.UNTRUSTED_ROOT
    assert "does not contain any trusted certificate" in result.message


def test_wrong_identity(vectors, notation_store) -> None:
    trust = material(notation_store, "strict", ["ca:valid-trust-store"], ["x509.subject: C=US, ST=WA, O=Someone Else"])
    result = _verify_net_monitor((vectors / MOCK / "ca_valid_sig_env.json").read_bytes(), trust)
    assert result.reason is FailureReason.WRONG_IDENTITY


def test_signing_cert_subject_as_notation_reads_it(vectors) -> None:
    base = vectors / "notation/notation-go/verifier/testdata/verifier"
    good = x509.load_pem_x509_certificate((base / "signing-cert.pem").read_bytes())
    assert subject_attributes(good) == {
        "C": "US",
        "ST": "WA",
        "L": "Seattle",
        "O": "SomeOrg",
        "OU": "SomeOU",
        "CN": "SomeCN",
    }
    bad = x509.load_pem_x509_certificate((base / "bad-cert.pem").read_bytes())
    with pytest.raises(ValueError, match="unescaped '='"):
        subject_attributes(bad)


@pytest.mark.parametrize(
    ("store_type", "name", "words"),
    [
        (StoreType.CA, "trust-store-with-invalid-certs", "not a PEM or DER"),
        (StoreType.CA, "trust-store-with-leaf-certs", "not a CA certificate or a self-signed signing certificate"),
        (StoreType.CA, "trust-store-with-leaf-certs-in-single-file", "not a CA certificate"),
        (StoreType.CA, "valid-trust-store_SYMLINK", "not a PEM or DER"),
        (StoreType.TSA, "test-nonCA", "must be a self-signed root CA certificate"),
        (StoreType.TSA, "test-nonSelfIssued", "must be a self-signed root CA certificate"),
    ],
)
def test_unusable_trust_stores_are_reported_when_used(notation_store, store_type, name, words) -> None:
    from wharfinger.errors import TrustPolicyError

    with pytest.raises(TrustPolicyError, match=words):
        notation_store.get(store_type, name)


def test_usable_trust_stores(notation_store) -> None:
    assert len(notation_store.get(StoreType.CA, "valid-trust-store")) == 6
    assert len(notation_store.get(StoreType.CA, "valid-trust-store-self-signed")) == 1
    assert len(notation_store.get(StoreType.TSA, "test-timestamp")) == 1


def test_timestamp_chain_fixture_meets_the_timestamping_rules(vectors) -> None:
    base = vectors / "notation/notation-core-go/x509/testdata"
    chain = [
        x509.load_der_x509_certificate((base / f"timestamp_{n}.crt").read_bytes())
        for n in ("leaf", "intermediate", "root")
    ]
    validate_chain(chain, CertificatePurpose.TIMESTAMPING)


def _connaisseur_image(vectors: Path, tag: str) -> tuple[TargetDescriptor, list[object]]:
    """connaisseur's fixture registry files: tagged manifest, referrers index, signature manifests, blobs."""
    import hashlib

    from wharfinger.oci.manifest import parse_manifest
    from wharfinger.signing.notary.artifact import signature_layer
    from wharfinger.signing.notary.image import FetchedSignature

    base = vectors / CONNAISSEUR / "sse-secure-systems/testimage"
    manifest = (base / f"manifests/{tag}.json").read_bytes()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    target = TargetDescriptor(media_type=json.loads(manifest)["mediaType"], digest=digest, size=len(manifest))
    referrers = base / f"manifests/sha256-{digest.removeprefix('sha256:')}.json"
    fetched: list[object] = []
    if referrers.exists():
        for entry in json.loads(referrers.read_text())["manifests"]:
            raw = (base / f"manifests/{entry['digest']}.json").read_bytes()
            layer = signature_layer(parse_manifest(raw, entry["mediaType"]))
            envelope = (base / f"blobs/{layer.descriptor.digest}.json").read_bytes()
            assert hashlib.sha256(envelope).hexdigest() == layer.descriptor.digest.removeprefix("sha256:")
            fetched.append(FetchedSignature(manifest_digest=entry["digest"], envelope=envelope,
                                            envelope_media_type=layer.media_type.value))  # fmt: skip
    return target, fetched


def test_connaisseur_registry_fixture_signed_and_unsigned(vectors, expected) -> None:
    from wharfinger.signing.notary.image import verify_image_signatures

    _expect(expected, f"{CONNAISSEUR}/sse-secure-systems/testimage/manifests/notation-unsign.json", "invalid")
    roots = _connaisseur_roots(vectors)
    trust = TrustMaterial(
        policy=parse_trust_policy(policy("strict", ["ca:default"], ["*"])),
        store=TrustStore.from_certificates({(StoreType.CA, "default"): [roots["default"]]}),
    )
    repository = "ghcr.io/sse-secure-systems/testimage"
    target, fetched = _connaisseur_image(vectors, "notation-sign")
    signed = verify_image_signatures(fetched, target, trust, NOW, repository=repository)  # type: ignore[arg-type]
    assert signed.verified, signed.message
    assert len(signed.signatures) == 1
    target, fetched = _connaisseur_image(vectors, "notation-unsign")
    assert fetched == []
    unsigned = verify_image_signatures(fetched, target, trust, NOW, repository=repository)  # type: ignore[arg-type]
    assert not unsigned.verified
    assert "no signature is associated" in unsigned.message


@pytest.mark.parametrize(
    ("wanted", "verified"),
    [
        ({}, True),
        ({"io.wabbit-networks.buildId": "123"}, True),
        ({"io.wabbit-networks.buildId": "123", "io.wabbit-networks.buildTime": "1672944615"}, True),
        ({"io.wabbit-networks.buildId": "321"}, False),
        ({"io.wabbit-networks.unknown": "x"}, False),
    ],
)
def test_user_metadata_of_notation_signature(vectors, wanted, verified) -> None:
    """sig_env_with_metadata.json (notation_test.go --user-metadata cases): match and mismatch.

    The source test uses a dummy verifier, so authenticity comes from trusting the envelope's own
    self-signed leaf here; the metadata check is what is under test.
    """
    data = (vectors / MOCK / "sig_env_with_metadata.json").read_bytes()
    parsed = parse_envelope(data, JWS)
    target = parsed.target
    leaf = x509.load_der_x509_certificate(parsed.certificate_chain[0])
    trust = TrustMaterial(
        policy=parse_trust_policy(policy("strict", ["ca:wabbit"], ["*"])),
        store=TrustStore.from_certificates({(StoreType.CA, "wabbit"): [leaf]}),
    )
    at = datetime(2023, 1, 11, 19, 0, tzinfo=UTC)  # signed at 18:02Z; the short-lived leaf expired the next day
    result = verify_notary_signature(data, JWS, target, trust, at, repository=NET_MONITOR, user_metadata=wanted)
    assert result.verified is verified, result.message
    if not verified:
        assert result.reason is FailureReason.METADATA_MISMATCH
        assert "unable to find specified metadata in the signature" in result.message
