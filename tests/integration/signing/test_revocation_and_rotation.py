"""Revocation by CRL and OCSP from a live local CA, and the key-rotation runbook (docs/key-rotation.md).

The verifier reaches the CA through ``HttpRevocationFetcher`` (real HTTP on loopback); timestamps
come from a real TSA (``openssl ts``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from revocation_server import revoking_ca
from tsa_server import running_tsa

from wharfinger.signing.keys.file import FileSigner
from wharfinger.signing.keys.generate import GeneratedIdentity, generate_identity
from wharfinger.signing.notary.http import HttpRevocationFetcher, HttpTimestamper
from wharfinger.signing.notary.model import FailureReason, TargetDescriptor
from wharfinger.signing.notary.revocation import FetchingRevocationChecker, NoRevocationSource
from wharfinger.signing.notary.sign import build_jws_envelope
from wharfinger.signing.notary.trustpolicy import parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature

pytestmark = pytest.mark.slow

JWS = "application/jose+json"
REPO = "registry.example/team/app"
START = datetime.now(UTC).replace(microsecond=0)


def target(n: int) -> TargetDescriptor:
    return TargetDescriptor(
        media_type="application/vnd.oci.image.manifest.v1+json", digest=f"sha256:{n:064x}", size=100 + n
    )


def signer(identity: GeneratedIdentity) -> FileSigner:
    return FileSigner.from_pem(identity.private_key_pem(), key_id="k", chain_pem=identity.chain_pem())


def trust(roots: list[x509.Certificate], tsa_root: x509.Certificate | None = None, **override: str) -> TrustMaterial:
    stores = ["ca:acme"] + (["tsa:tsa"] if tsa_root is not None else [])
    verification: dict[str, object] = {"level": "strict"}
    if override:
        verification["override"] = override
    statement = {"name": "acme", "registryScopes": [REPO], "signatureVerification": verification,
                 "trustStores": stores, "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme"]}  # fmt: skip
    doc = {"version": "1.0", "trustPolicies": [statement]}
    certs: dict[tuple[StoreType, str], list[x509.Certificate]] = {(StoreType.CA, "acme"): roots}
    if tsa_root is not None:
        certs[(StoreType.TSA, "tsa")] = [tsa_root]
    return TrustMaterial(policy=parse_trust_policy(json.dumps(doc).encode()), store=TrustStore.from_certificates(certs))


@pytest.fixture
def online():
    fetcher = HttpRevocationFetcher()
    yield FetchingRevocationChecker(fetcher)
    if fetcher.client is not None:
        fetcher.client.close()


def check(envelope: bytes, n: int, material: TrustMaterial, at: datetime, revocation):
    return verify_notary_signature(envelope, JWS, target(n), material, at, repository=REPO, revocation=revocation)


@pytest.mark.parametrize("use_ocsp", [False, True])
def test_revoked_certificate_fails(online, use_ocsp) -> None:
    with revoking_ca(START) as ca:
        leaf = ca.issue("CN=signer,O=Acme,ST=WA,C=US", ocsp_url=use_ocsp)
        envelope = build_jws_envelope(target(1), signer(leaf), START)
        material = trust([ca.root.chain[0]])
        assert check(envelope, 1, material, START, online).verified
        ca.revoke(leaf.chain[0], at=START, reason=x509.ReasonFlags.key_compromise)
        result = check(envelope, 1, material, START + timedelta(minutes=5), online)
        assert result.reason is FailureReason.REVOKED
        assert "revoked" in result.message
        assert ("OCSP" in result.message) is use_ocsp
        logged = check(envelope, 1, trust([ca.root.chain[0]], revocation="log"), START, online)
        assert logged.verified
        assert logged.logged[0].reason is FailureReason.REVOKED


def test_ocsp_outage_falls_back_to_the_crl(online) -> None:
    with revoking_ca(START) as ca:
        leaf = ca.issue("CN=signer,O=Acme,ST=WA,C=US", ocsp_url=True)
        envelope = build_jws_envelope(target(2), signer(leaf), START)
        ca.ocsp_enabled = False
        assert check(envelope, 2, trust([ca.root.chain[0]]), START, online).verified
        ca.revoke(leaf.chain[0], at=START, reason=x509.ReasonFlags.key_compromise)
        assert check(envelope, 2, trust([ca.root.chain[0]]), START, online).reason is FailureReason.REVOKED


def test_revocation_unavailable_fails_closed(online) -> None:
    with revoking_ca(START) as ca:
        leaf = ca.issue("CN=signer,O=Acme,ST=WA,C=US")
        envelope = build_jws_envelope(target(3), signer(leaf), START)
        material = trust([ca.root.chain[0]])
    # the CA's server is gone now
    down = check(envelope, 3, material, START, online)
    assert down.reason is FailureReason.REVOCATION_UNAVAILABLE
    assert "could not be determined" in down.message
    offline = check(envelope, 3, material, START, NoRevocationSource())
    assert offline.reason is FailureReason.REVOCATION_UNAVAILABLE
    skipped = check(envelope, 3, trust([ca.root.chain[0]], revocation="skip"), START, NoRevocationSource())
    assert skipped.verified


def test_stale_crl_is_not_trusted(online) -> None:
    with revoking_ca(START) as ca:
        leaf = ca.issue("CN=signer,O=Acme,ST=WA,C=US")
        envelope = build_jws_envelope(target(4), signer(leaf), START)
        ca.crl_lifetime = timedelta(hours=1)
        later = START + timedelta(days=2)  # the CA published its CRL at START and stopped
        ca.clock[0] = START
        result = check(envelope, 4, trust([ca.root.chain[0]]), later, online)
        assert result.reason is FailureReason.REVOCATION_UNAVAILABLE
        assert "stale" in result.message


def test_key_rotation_runbook(online, tmp_path) -> None:
    """docs/key-rotation.md, step by step."""
    with revoking_ca(START) as old_ca, running_tsa(tmp_path, now=START) as tsa:
        # Before: one CA; key A signs image 10 (no timestamp) and image 11 (timestamped by the TSA).
        key_a = old_ca.issue("CN=builder-a,O=Acme,ST=WA,C=US")
        plain_a = build_jws_envelope(target(10), signer(key_a), START)
        stamped_a = build_jws_envelope(target(11), signer(key_a), START, timestamp=HttpTimestamper(tsa.url))
        # Step 1: a new CA and key B; the trust store holds BOTH roots while old signatures are in use.
        new_root = generate_identity(subject="CN=Acme Root 2027,O=Acme,ST=WA,C=US", now=START, ca=True, days=3650)
        key_b = generate_identity(subject="CN=builder-b,O=Acme,ST=WA,C=US", now=START, issuer=new_root)
        both = trust([old_ca.root.chain[0], new_root.chain[0]], tsa.root)
        both_no_tsa = trust([old_ca.root.chain[0], new_root.chain[0]])
        rotated_at = START + timedelta(hours=1)
        stamped_b = build_jws_envelope(target(12), signer(key_b), rotated_at, timestamp=HttpTimestamper(tsa.url))
        assert check(stamped_a, 11, both, rotated_at, online).verified
        assert check(stamped_b, 12, both, rotated_at, online).verified
        # Step 2: key A stops signing. Merely retired (not revoked), its signatures stay valid.
        assert check(plain_a, 10, both_no_tsa, rotated_at, online).verified
        # Step 3: revoke key A as superseded, invalid only from the rotation on.
        old_ca.revoke(key_a.chain[0], at=rotated_at, reason=x509.ReasonFlags.superseded, invalid_since=rotated_at)
        after = rotated_at + timedelta(hours=1)
        assert check(stamped_a, 11, both, after, online).verified  # timestamped before the rotation: stays valid
        assert check(plain_a, 10, both_no_tsa, after, online).reason is FailureReason.REVOKED  # no authentic time
        assert check(stamped_b, 12, both, after, online).verified
        # Had key A been invalid from before that timestamp (a backdated compromise), the signature fails.
        old_ca.revoke(
            key_a.chain[0], at=after, reason=x509.ReasonFlags.key_compromise, invalid_since=START - timedelta(hours=1)
        )
        assert check(stamped_a, 11, both, after, online).reason is FailureReason.REVOKED
        # Compromise instead of rotation: revoked with no invalidity date, every signature of the key fails.
        key_c = old_ca.issue("CN=builder-c,O=Acme,ST=WA,C=US")
        stamped_c = build_jws_envelope(target(14), signer(key_c), START, timestamp=HttpTimestamper(tsa.url))
        assert check(stamped_c, 14, both, START, online).verified
        old_ca.revoke(key_c.chain[0], at=after, reason=x509.ReasonFlags.key_compromise)
        assert check(stamped_c, 14, both, after, online).reason is FailureReason.REVOKED
        # Step 4: once old images are re-signed, drop the old root: key A's signatures stop verifying.
        only_new = trust([new_root.chain[0]], tsa.root)
        assert check(stamped_a, 11, only_new, after, online).reason is FailureReason.UNTRUSTED_ROOT
        assert check(stamped_b, 12, only_new, after, online).verified
