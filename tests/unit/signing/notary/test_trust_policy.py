"""trustpolicy.json and trust store rules, each broken rule with its message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from wharfinger.errors import TrustPolicyError
from wharfinger.signing.notary.model import ValidationAction, ValidationType, VerificationLevel
from wharfinger.signing.notary.trustpolicy import (
    VerifyTimestamp,
    parse_distinguished_name,
    parse_trust_policy,
    select_policy,
)
from wharfinger.signing.notary.truststore import StoreType, load_trust_store


def statement(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "p",
        "registryScopes": ["registry.example/app"],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:acme"],
        "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def parse(*statements: dict[str, object], version: object = "1.0"):
    return parse_trust_policy(json.dumps({"version": version, "trustPolicies": list(statements)}).encode())


def test_spec_example_two_parses_and_selects(shared_dir) -> None:
    """The spec's multi-statement OCI example (comments removed) with exact-then-global selection."""
    doc = parse(
        statement(name="wabbit-networks-images", registryScopes=["registry.acme-rockets.io/software/net-monitor",
                  "registry.acme-rockets.io/software/net-logger"], trustStores=["ca:wabbit-networks"],
                  trustedIdentities=["x509.subject: C=US, ST=WA, L=Seattle, O=wabbit-networks.io, OU=Security Tools"]),
        statement(name="unsigned-image", registryScopes=["registry.wabbit-networks.io/software/unsigned/net-utils"],
                  signatureVerification={"level": "skip"}, trustStores=None, trustedIdentities=None),
        statement(name="use-expired-image", registryScopes=["registry.acme-rockets.io/software/legacy/metrics"],
                  signatureVerification={"level": "strict", "override": {"expiry": "log", "revocation": "skip"}},
                  trustedIdentities=["*"]),
        statement(name="global", registryScopes=["*"], signatureVerification={"level": "audit"},
                  trustStores=["ca:acme-rockets", "ca:acme-rockets-ca2"]),
    )  # fmt: skip
    assert select_policy(doc, "registry.acme-rockets.io/software/net-logger").name == "wabbit-networks-images"
    assert select_policy(doc, "registry.acme-rockets.io/software/other").name == "global"
    skip = select_policy(doc, "registry.wabbit-networks.io/software/unsigned/net-utils")
    assert skip.level is VerificationLevel.SKIP
    expired = select_policy(doc, "registry.acme-rockets.io/software/legacy/metrics")
    assert expired.action(ValidationType.EXPIRY) is ValidationAction.LOG
    assert expired.action(ValidationType.REVOCATION) is ValidationAction.SKIP
    assert expired.action(ValidationType.AUTHENTICITY) is ValidationAction.ENFORCE
    assert expired.verify_timestamp is VerifyTimestamp.ALWAYS
    audit = select_policy(doc, "x.io/y")
    assert [audit.action(v) for v in ValidationType] == [ValidationAction.ENFORCE, *[ValidationAction.LOG] * 4]


def test_no_global_scope_means_no_policy() -> None:
    assert select_policy(parse(statement()), "registry.example/other") is None


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"version": "1.0", "trustPolicies": []}, "zero trust policy statements"),
        ({"version": "2.0", "trustPolicies": [statement()]}, "unsupported version '2.0'"),
        ({"trustPolicies": [statement()]}, "empty version"),
        ("[]", "JSON object"),
    ],
)
def test_document_errors(doc, words) -> None:
    data = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
    with pytest.raises(TrustPolicyError, match=words):
        parse_trust_policy(data)


@pytest.mark.parametrize(
    ("statements", "words"),
    [
        ([statement(name="")], "missing a name"),
        ([statement(), statement(registryScopes=["registry.example/b"])], "use the same name 'p'"),
        ([statement(registryScopes=[])], "zero registry scopes"),
        ([statement(registryScopes=["*", "registry.example/b"])], "wildcard scope cannot be used in conjunction"),
        ([statement(registryScopes=["*"]), statement(name="q", registryScopes=["*"])], "'\\*' is present in multiple"),
        ([statement(), statement(name="q")], "'registry.example/app' is present in multiple trust policy statements"),
        ([statement(registryScopes=["registry.example/app:v1"])], "without the scheme, protocol or tag"),
        ([statement(registryScopes=["https://registry.example/app"])], "fully qualified repository"),
        ([statement(registryScopes=["app"])], "is not valid"),
        ([statement(signatureVerification={"level": "paranoid"})], "invalid signature verification level"),
        (
            [statement(signatureVerification={"level": "skip", "override": {"expiry": "log"}})],
            "can't be used to customize",
        ),
        (
            [statement(signatureVerification={"level": "strict", "override": {"integrity": "log"}})],
            "can not be overridden",
        ),
        (
            [statement(signatureVerification={"level": "strict", "override": {"speed": "log"}})],
            "'speed'.*not supported",
        ),
        ([statement(signatureVerification={"level": "strict", "override": {"authenticity": "skip"}})], "action 'skip'"),
        ([statement(signatureVerification={"level": "strict", "verifyTimestamp": "never"})], "invalid verifyTimestamp"),
        ([statement(signatureVerification={"level": "skip"})], "skip signature verification but configured with trust"),
        (
            [
                statement(
                    registryScopes=["*"],
                    signatureVerification={"level": "skip"},
                    trustStores=None,
                    trustedIdentities=None,
                )
            ],
            "global scope",
        ),
        ([statement(trustStores=[])], "missing trust stores or trusted identities"),
        ([statement(trustedIdentities=[])], "missing trust stores or trusted identities"),
        ([statement(trustStores=["x509:acme"])], "unsupported trust store type 'x509'"),
        ([statement(trustStores=["ca:acme rockets"])], "unsupported trust store name"),
        ([statement(trustStores=["ca:acme", "ca:acme"])], "lists a trust store twice"),
        ([statement(trustedIdentities=["*", "x509.subject: C=US, ST=WA, O=Acme"])], "wildcard identity cannot be used"),
        ([statement(trustedIdentities=["x509.issuer: C=US, ST=WA, O=Acme"])], "unsupported trusted identity type"),
        ([statement(trustedIdentities=["C=US, ST=WA, O=Acme"])], "missing separator"),
        ([statement(trustedIdentities=["x509.subject"])], "missing separator"),
        ([statement(trustedIdentities=["x509.subject: C=US, O=Acme"])], "mandatory RDN attributes"),
        ([statement(trustedIdentities=["x509.subject: C=US, ST=WA, O=Acme, O=Other"])], "duplicate RDN attribute"),
        ([statement(trustedIdentities=["x509.subject: C=US+ST=WA, O=Acme"])], "multi-valued RDN"),
        (
            [
                statement(
                    trustedIdentities=[
                        "x509.subject: C=US, ST=WA, O=Acme",
                        "x509.subject: C=US, ST=WA, O=Acme, OU=Build",
                    ]
                )
            ],
            "overlapping x509 trustedIdentities",
        ),
    ],
)
def test_statement_errors(statements, words) -> None:
    with pytest.raises(TrustPolicyError, match=words) as caught:
        parse(*statements)
    assert caught.value.hint


def test_distinguished_name_escapes() -> None:
    assert parse_distinguished_name(r"C=US, ST=WA, O=Acme\, Inc., CN=\ padded\ ") == (
        ("C", "US"), ("ST", "WA"), ("O", "Acme, Inc."), ("CN", " padded "),
    )  # fmt: skip
    assert parse_distinguished_name("C=US, S=WA, O=x;OU=y") == (("C", "US"), ("ST", "WA"), ("O", "x"), ("OU", "y"))
    assert parse_distinguished_name(r"CN=a\2Cb, C=US") == (("CN", "a,b"), ("C", "US"))


def _write_cert(path: Path, pki) -> None:
    path.write_bytes(pki.root.chain[0].public_bytes(serialization.Encoding.PEM))


def test_trust_store_layout_on_disk(tmp_path, pki) -> None:
    ca_dir = tmp_path / "truststore/x509/ca/acme"
    ca_dir.mkdir(parents=True)
    _write_cert(ca_dir / "root.pem", pki)
    (ca_dir / "root.der").write_bytes(pki.root.chain[0].public_bytes(serialization.Encoding.DER))
    linked = tmp_path / "truststore/x509/ca/linked"
    linked.mkdir()
    (linked / "root.pem").symlink_to(ca_dir / "root.pem")
    nested = tmp_path / "truststore/x509/signingAuthority/nested"
    (nested / "sub").mkdir(parents=True)
    empty = tmp_path / "truststore/x509/tsa/empty"
    empty.mkdir(parents=True)
    store = load_trust_store(tmp_path / "truststore")
    assert len(store.get(StoreType.CA, "acme")) == 2
    with pytest.raises(TrustPolicyError, match="symlinks are not supported"):
        store.get(StoreType.CA, "linked")
    with pytest.raises(TrustPolicyError, match="directories or symlinks"):
        store.get(StoreType.SIGNING_AUTHORITY, "nested")
    with pytest.raises(TrustPolicyError, match="no x509 certificates"):
        store.get(StoreType.TSA, "empty")
    with pytest.raises(TrustPolicyError, match="does not exist or holds no certificates") as caught:
        store.get(StoreType.CA, "missing")
    assert "x509/ca/missing" in (caught.value.hint or "")
    with pytest.raises(TrustPolicyError, match="does not exist"):
        load_trust_store(tmp_path / "nowhere")
