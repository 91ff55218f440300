"""RFC 3161 countersignatures made by a real TSA (openssl ts) through our client, verified by our verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tsa_server import running_tsa

from wharfinger.signing.keys.file import FileSigner
from wharfinger.signing.keys.generate import generate_identity
from wharfinger.signing.notary.http import HttpTimestamper, TimestampServiceError
from wharfinger.signing.notary.model import CheckOutcome, FailureReason, TargetDescriptor, ValidationType
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope
from wharfinger.signing.notary.trustpolicy import parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature

TARGET = TargetDescriptor(
    media_type="application/vnd.oci.image.manifest.v1+json", digest="sha256:" + "ab" * 32, size=10
)
REPO = "registry.example/team/app"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with running_tsa(tmp_path_factory.mktemp("tsa"), now=datetime.now(UTC)) as running:
        yield running


def _trust(root_ca, tsa_root, *, with_tsa: bool = True) -> TrustMaterial:
    stores = ["ca:acme", "tsa:test"] if with_tsa else ["ca:acme"]
    doc = {"version": "1.0", "trustPolicies": [{"name": "p", "registryScopes": ["*"], "signatureVerification": {
        "level": "strict"}, "trustStores": stores, "trustedIdentities": ["*"]}]}  # fmt: skip
    store = TrustStore.from_certificates({(StoreType.CA, "acme"): [root_ca], (StoreType.TSA, "test"): [tsa_root]})
    return TrustMaterial(policy=parse_trust_policy(json.dumps(doc).encode()), store=store)


@pytest.mark.parametrize("build", [build_jws_envelope, build_cose_envelope])
def test_timestamp_keeps_a_signature_valid_after_the_certificate_expired(tsa, build) -> None:
    now = datetime.now(UTC)
    root = generate_identity(subject="CN=Root,O=Acme,ST=WA,C=US", now=now - timedelta(days=2), ca=True, days=3650)
    leaf = generate_identity(subject="CN=ci,O=Acme,ST=WA,C=US", now=now, issuer=root, days=1)
    signer = FileSigner.from_pem(leaf.private_key_pem(), key_id="t", chain_pem=leaf.chain_pem())
    media_type = "application/jose+json" if build is build_jws_envelope else "application/cose"
    envelope = build(TARGET, signer, now, timestamp=HttpTimestamper(tsa.url))
    later = now + timedelta(days=30)  # the leaf expired meanwhile; the timestamp proves it signed in time
    result = verify_notary_signature(
        envelope, media_type, TARGET, _trust(root.chain[0], tsa.root), later, repository=REPO
    )
    assert result.verified, result.message
    assert result.timestamp_time is not None
    assert abs(result.timestamp_time - now) < timedelta(minutes=1)
    without_tsa = verify_notary_signature(
        envelope, media_type, TARGET, _trust(root.chain[0], tsa.root, with_tsa=False), later, repository=REPO
    )
    assert without_tsa.reason is FailureReason.CERTIFICATE_EXPIRED
    stranger_root = generate_identity(subject="CN=Other,O=X,ST=WA,C=US", now=now, ca=True).chain[0]
    untrusted = verify_notary_signature(
        envelope, media_type, TARGET, _trust(root.chain[0], stranger_root), later, repository=REPO
    )
    assert untrusted.reason is FailureReason.TIMESTAMP_INVALID
    check = next(c for c in untrusted.checks if c.validation is ValidationType.AUTHENTIC_TIMESTAMP)
    assert check.outcome is CheckOutcome.FAILED


def test_timestamper_reports_a_broken_tsa(tmp_path) -> None:
    from testkit.httpserver import Reply, serve

    with (
        serve(lambda _r: Reply(status=200, body=b"not a TimeStampResp")) as server,
        pytest.raises(TimestampServiceError, match="not a TimeStampResp"),
    ):
        HttpTimestamper(server.url)(b"signature", "sha256")
    with serve(lambda _r: Reply(status=503)) as server, pytest.raises(TimestampServiceError, match="HTTP 503"):
        HttpTimestamper(server.url)(b"signature", "sha256")
