"""Certificate rules one by one, the file key provider, and the pure revocation judges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from notary_testpki import NOW, REPO, SIGNED_AT, TARGET, make_pki

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.file import FileSigner, open_file_signer
from wharfinger.signing.keys.generate import generate_identity
from wharfinger.signing.keys.providers import open_signer
from wharfinger.signing.keys.signer import SignatureAlgorithm
from wharfinger.signing.notary.chain import CertificatePurpose, ChainError, validate_chain
from wharfinger.signing.notary.revocation import (
    FetchingRevocationChecker,
    PrefetchedRevocation,
    RevocationStatus,
    evaluate_crl,
    evaluate_ocsp,
)
from wharfinger.signing.notary.sign import build_jws_envelope
from wharfinger.signing.notary.verifier import verify_notary_signature

KU_SIGN = x509.KeyUsage(True, False, False, False, False, False, False, False, False)  # noqa: FBT003
KU_CA = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # noqa: FBT003


def _cert(issuer_key, issuer_name, subject: str, *extensions: tuple[x509.ExtensionType, bool], key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(SIGNED_AT - timedelta(days=1))
        .not_valid_after(SIGNED_AT + timedelta(days=30))
    )  # fmt: skip
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key or key, hashes.SHA256()), key


def _root(*extensions):
    key = ec.generate_private_key(ec.SECP256R1())
    cert, _ = _cert(None, None, "root", *extensions, key=key)
    return cert, key


@pytest.mark.parametrize(
    ("leaf_extensions", "root_extensions", "words"),
    [
        ([(KU_SIGN, True), (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
         [(x509.BasicConstraints(ca=True, path_length=None), True), (KU_CA, True)], "serverAuth"),
        ([(KU_SIGN, False)], [(x509.BasicConstraints(ca=True, path_length=None), True), (KU_CA, True)],
         "must mark keyUsage critical"),
        ([], [(x509.BasicConstraints(ca=True, path_length=None), True), (KU_CA, True)], "no keyUsage extension"),
        ([(KU_SIGN, True)], [(x509.BasicConstraints(ca=True, path_length=None), False), (KU_CA, True)],
         "must mark basicConstraints critical"),
        ([(KU_SIGN, True)], [(x509.BasicConstraints(ca=True, path_length=None), True), (KU_SIGN, True)],
         "lacks the keyCertSign"),
        ([(KU_SIGN, True)], [(KU_CA, True)], "is not a CA"),
    ],
)  # fmt: skip
def test_certificate_rules(leaf_extensions, root_extensions, words) -> None:
    root, root_key = _root(*root_extensions)
    leaf, _ = _cert(root_key, root.subject, "leaf", *leaf_extensions)
    with pytest.raises(ChainError, match=words):
        validate_chain([leaf, root], CertificatePurpose.CODE_SIGNING)


def test_timestamping_leaf_needs_the_critical_eku() -> None:
    root, root_key = _root((x509.BasicConstraints(ca=True, path_length=None), True), (KU_CA, True))
    leaf, _ = _cert(root_key, root.subject, "tsa", (KU_SIGN, True),
                    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), False))  # fmt: skip
    with pytest.raises(ChainError, match="extendedKeyUsage critical"):
        validate_chain([leaf, root], CertificatePurpose.TIMESTAMPING)
    with pytest.raises(ChainError, match="timeStamping"):  # a TSA certificate cannot sign code
        validate_chain([leaf, root], CertificatePurpose.CODE_SIGNING)


def test_verify_timestamp_after_cert_expiry(trust_for) -> None:
    """verifyTimestamp=afterCertExpiry: no timestamp needed while the chain is valid."""
    import json

    from wharfinger.signing.notary.trustpolicy import parse_trust_policy
    from wharfinger.signing.notary.truststore import StoreType, TrustStore
    from wharfinger.signing.notary.verifier import TrustMaterial

    pki = make_pki()
    envelope = build_jws_envelope(TARGET, pki.signer(), SIGNED_AT)
    store = TrustStore.from_certificates(
        {(StoreType.CA, "acme"): [pki.root.chain[0]], (StoreType.TSA, "t"): [pki.root.chain[0]]}
    )
    for verify_ts, expected in (("always", False), ("afterCertExpiry", True)):
        verification = {"level": "strict", "verifyTimestamp": verify_ts}
        statement = {"name": "p", "registryScopes": ["*"], "signatureVerification": verification,
                     "trustStores": ["ca:acme", "tsa:t"], "trustedIdentities": ["*"]}  # fmt: skip
        doc = {"version": "1.0", "trustPolicies": [statement]}
        material = TrustMaterial(policy=parse_trust_policy(json.dumps(doc).encode()), store=store)
        result = verify_notary_signature(envelope, "application/jose+json", TARGET, material, NOW, repository=REPO)
        assert result.verified is expected, result.message


def test_file_key_provider(tmp_path, pki) -> None:
    key = tmp_path / "signer.pem"
    key.write_bytes(pki.leaf.private_key_pem(b"s3cret"))
    (tmp_path / "elsewhere.pem").write_bytes(pki.leaf.chain_pem())
    signer = open_file_signer(
        f"file:{key}?passphrase-env=MY_PASS&cert={tmp_path / 'elsewhere.pem'}", {"MY_PASS": "s3cret"}
    )
    assert signer.key().algorithm is SignatureAlgorithm.ECDSA_SHA256
    assert len(signer.key().certificate_chain) == 3
    assert repr(signer) == f"FileSigner(key_id='file:{key}', algorithm='ECDSA-SHA-256')"  # never the key material
    assert build_jws_envelope(TARGET, signer, SIGNED_AT)
    with pytest.raises(KeyProviderError, match="wrong passphrase"):
        open_file_signer(str(key), {"WHARFINGER_KEY_PASSPHRASE": "nope"})
    with pytest.raises(KeyProviderError, match=r"\$WHARFINGER_KEY_PASSPHRASE is not set"):
        open_file_signer(str(key), {})
    with pytest.raises(InputError, match="does not exist"):
        open_file_signer(str(tmp_path / "missing.pem"), {})
    (tmp_path / "garbage.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyProviderError, match="not a PEM private key"):
        open_file_signer(str(tmp_path / "garbage.pem"), {})
    with pytest.raises(InputError, match="unknown key provider 'vault'"):
        open_signer("vault://kv/key", {})
    assert open_signer(f"file:{key}", {"WHARFINGER_KEY_PASSPHRASE": "s3cret"}).key().key_id == f"file:{key}"


def test_rsa_key_for_cosign_style_pkcs1_signatures() -> None:
    pki = make_pki(__import__("wharfinger.signing.keys.generate", fromlist=["KeyType"]).KeyType.RSA_2048)
    signer = FileSigner.from_pem(
        pki.leaf.private_key_pem(),
        key_id="r",
        chain_pem=pki.leaf.chain_pem(),
        algorithm=SignatureAlgorithm.RSASSA_PKCS1V15_SHA256,
    )
    with pytest.raises(KeyProviderError, match="requires RSASSA-PSS-SHA-256"):  # Notary needs PSS: refused
        build_jws_envelope(TARGET, signer, SIGNED_AT)


def test_crl_judged_purely(pki) -> None:
    leaf, issuer = pki.leaf.chain[0], pki.intermediate

    def crl(signing_key, revoked: bool, next_update=timedelta(days=1)) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder().issuer_name(issuer.chain[0].subject)
            .last_update(NOW - timedelta(hours=1)).next_update(NOW + next_update)
        )  # fmt: skip
        if revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(leaf.serial_number).revocation_date(NOW).build()
            )
        return builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    good = evaluate_crl(leaf, issuer.chain[0], crl(issuer.private_key, revoked=False), now=NOW, signing_time=None)
    assert good.status is RevocationStatus.GOOD
    revoked = evaluate_crl(leaf, issuer.chain[0], crl(issuer.private_key, revoked=True), now=NOW, signing_time=None)
    assert revoked.status is RevocationStatus.REVOKED
    forged = evaluate_crl(
        leaf, issuer.chain[0], crl(ec.generate_private_key(ec.SECP256R1()), revoked=False), now=NOW, signing_time=None
    )
    assert forged.status is RevocationStatus.UNAVAILABLE
    assert "not signed by its issuer" in forged.message
    assert (
        evaluate_crl(leaf, issuer.chain[0], b"junk", now=NOW, signing_time=None).status is RevocationStatus.UNAVAILABLE
    )


def test_ocsp_judged_purely(pki) -> None:
    leaf, issuer = pki.leaf.chain[0], pki.intermediate

    def answer(status, responder=None) -> bytes:
        responder = responder or issuer
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf, issuer=issuer.chain[0], algorithm=hashes.SHA1(), cert_status=status,  # noqa: S303 -- CertID
            this_update=NOW - timedelta(minutes=1), next_update=NOW + timedelta(hours=1),
            revocation_time=NOW if status is ocsp.OCSPCertStatus.REVOKED else None, revocation_reason=None,
        ).responder_id(ocsp.OCSPResponderEncoding.NAME, responder.chain[0])  # fmt: skip
        return builder.sign(responder.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    assert (
        evaluate_ocsp(leaf, issuer.chain[0], answer(ocsp.OCSPCertStatus.GOOD), now=NOW, signing_time=None).status
        is RevocationStatus.GOOD
    )
    revoked = evaluate_ocsp(leaf, issuer.chain[0], answer(ocsp.OCSPCertStatus.REVOKED), now=NOW, signing_time=None)
    assert revoked.status is RevocationStatus.REVOKED
    unknown = evaluate_ocsp(leaf, issuer.chain[0], answer(ocsp.OCSPCertStatus.UNKNOWN), now=NOW, signing_time=None)
    assert unknown.status is RevocationStatus.UNAVAILABLE
    impostor = generate_identity(subject="CN=Acme Signing CA,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True)
    forged = answer(ocsp.OCSPCertStatus.GOOD, impostor)
    assert (
        evaluate_ocsp(leaf, issuer.chain[0], forged, now=NOW, signing_time=None).status is RevocationStatus.UNAVAILABLE
    )
    stale = evaluate_ocsp(
        leaf, issuer.chain[0], answer(ocsp.OCSPCertStatus.GOOD), now=NOW + timedelta(days=1), signing_time=None
    )
    assert stale.status is RevocationStatus.UNAVAILABLE


def test_prefetched_revocation_for_the_webhook(trust_for) -> None:
    """No network in the verifier: CRLs fetched earlier (e.g. by a cache refresher) are judged purely."""
    root = generate_identity(subject="CN=R,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True)
    leaf = generate_identity(
        subject="CN=ci-signer,O=Acme,ST=WA,C=US", now=SIGNED_AT, issuer=root, crl_url="http://crl.example/r.crl"
    )
    from notary_testpki import Pki

    pki = Pki(root=root, intermediate=root, leaf=leaf)
    envelope = build_jws_envelope(TARGET, pki.signer(), SIGNED_AT)
    crl = (
        x509.CertificateRevocationListBuilder().issuer_name(root.chain[0].subject)
        .last_update(NOW - timedelta(hours=1)).next_update(NOW + timedelta(days=1))
        .sign(root.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    )  # fmt: skip
    checker = FetchingRevocationChecker(PrefetchedRevocation(crls={"http://crl.example/r.crl": crl}))
    trust = trust_for(pki)
    ok = verify_notary_signature(
        envelope, "application/jose+json", TARGET, trust, NOW, repository=REPO, revocation=checker
    )
    assert ok.verified, ok.message
    none = verify_notary_signature(envelope, "application/jose+json", TARGET, trust, NOW, repository=REPO)
    assert none.reason.value == "revocation-unavailable"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("certificateWithDeltaCRL.cer", 1),
        ("certificateWith2DeltaCRL.cer", 2),
        ("certificateWithZeroDeltaCRLURL.cer", 0),
        ("certificateWithNonURIDeltaCRL.cer", 0),
    ],
)
def test_delta_crl_locations_of_notation_fixtures(shared_dir, name, expected) -> None:
    from wharfinger.signing.notary.revocation import crl_urls, delta_crl_urls

    data = (shared_dir / "vectors/notation/notation-core-go/revocation/crl/testdata" / name).read_bytes()
    cert = x509.load_pem_x509_certificate(data) if data.startswith(b"-----") else x509.load_der_x509_certificate(data)
    urls = delta_crl_urls(cert)
    assert urls is not None  # the extension is there
    assert len(urls) == expected
    assert all("cmd=deltacrl" in u for u in urls)
    if expected:
        assert crl_urls(cert)[0].endswith("O%3DEJBCA+Container+Quickstart")


def test_notation_delta_crl_fixture_is_refused_as_a_base_crl(shared_dir) -> None:
    data = (shared_dir / "vectors/notation/notation-core-go/revocation/crl/testdata/delta.crl").read_bytes()
    delta = x509.load_der_x509_crl(data)
    assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number == 4


def test_delta_crls_update_the_base(pki) -> None:
    leaf, issuer = pki.leaf.chain[0], pki.intermediate
    ca = issuer.private_key

    def crl(number: int, *, delta_of: int | None = None, revoke: x509.ReasonFlags | None = None) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder().issuer_name(issuer.chain[0].subject)
            .last_update(NOW - timedelta(hours=1)).next_update(NOW + timedelta(days=1))
            .add_extension(x509.CRLNumber(number), critical=False)
        )  # fmt: skip
        if delta_of is not None:
            builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), critical=True)
        if revoke is not None:
            entry = (
                x509.RevokedCertificateBuilder().serial_number(leaf.serial_number).revocation_date(NOW)
                .add_extension(x509.CRLReason(revoke), critical=False).build()
            )  # fmt: skip
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(ca, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def judge(base: bytes, delta: bytes | None):
        return evaluate_crl(leaf, issuer.chain[0], base, now=NOW, signing_time=None, delta_der=delta)

    assert judge(crl(4), crl(5, delta_of=4)).status is RevocationStatus.GOOD
    assert judge(crl(4), crl(5, delta_of=4, revoke=x509.ReasonFlags.key_compromise)).status is RevocationStatus.REVOKED
    held = crl(4, revoke=x509.ReasonFlags.certificate_hold)
    assert judge(held, None).status is RevocationStatus.REVOKED
    assert judge(held, crl(5, delta_of=4, revoke=x509.ReasonFlags.remove_from_crl)).status is RevocationStatus.GOOD
    stale_base = judge(crl(3), crl(5, delta_of=4))
    assert stale_base.status is RevocationStatus.UNAVAILABLE
    assert "needs base CRL number 4" in stale_base.message
    assert judge(crl(5, delta_of=4), None).status is RevocationStatus.UNAVAILABLE  # a delta served as the base
    assert judge(crl(4), crl(5)).status is RevocationStatus.UNAVAILABLE  # "delta" without indicator


def test_checker_fetches_the_delta_named_by_the_base_crl() -> None:
    root = generate_identity(subject="CN=R,O=Acme,ST=WA,C=US", now=SIGNED_AT, ca=True)
    leaf = generate_identity(subject="CN=ci-signer,O=Acme,ST=WA,C=US", now=SIGNED_AT, issuer=root,
                             crl_url="http://crl.example/base.crl")  # fmt: skip
    cert = leaf.chain[0]
    # add a Freshest CRL extension to the base CRL (the certificate has none)
    point = x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier("http://crl.example/delta.crl")],
                                   relative_name=None, reasons=None, crl_issuer=None)  # fmt: skip

    def make(number: int, delta_of: int | None, revoked: bool) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder().issuer_name(root.chain[0].subject)
            .last_update(NOW - timedelta(hours=1)).next_update(NOW + timedelta(days=1))
            .add_extension(x509.CRLNumber(number), critical=False)
        )  # fmt: skip
        if delta_of is None:
            builder = builder.add_extension(x509.FreshestCRL([point]), critical=False)
        else:
            builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), critical=True)
        if revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(NOW).build()
            )
        return builder.sign(root.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    chain = (cert, root.chain[0])
    base = make(7, None, revoked=False)
    crls = {"http://crl.example/base.crl": base, "http://crl.example/delta.crl": make(8, 7, revoked=True)}
    checker = FetchingRevocationChecker(PrefetchedRevocation(crls=crls))
    assert checker.check(chain, now=NOW, signing_time=None).status is RevocationStatus.REVOKED
    no_delta = FetchingRevocationChecker(PrefetchedRevocation(crls={"http://crl.example/base.crl": base}))
    result = no_delta.check(chain, now=NOW, signing_time=None)
    assert result.status is RevocationStatus.UNAVAILABLE
    assert "delta CRL" in result.message
