"""A throwaway PKI (root CA, intermediate, code-signing leaves) and trust material built from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from wharfinger.signing.keys.file import FileSigner
from wharfinger.signing.keys.generate import GeneratedIdentity, KeyType, generate_identity
from wharfinger.signing.notary.model import TargetDescriptor
from wharfinger.signing.notary.trustpolicy import parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore
from wharfinger.signing.notary.verifier import TrustMaterial

SIGNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REPO = "registry.example/team/app"
LEAF_SUBJECT = "CN=ci-signer,OU=Build,O=Acme,L=Seattle,ST=WA,C=US"
TARGET = TargetDescriptor(
    media_type="application/vnd.oci.image.manifest.v1+json",
    digest="sha256:73c803930ea3ba1e54bc25c2bdc53edd0284c62ed651fe7b00369da519a3c333",
    size=16724,
)


@dataclass(frozen=True)
class Pki:
    root: GeneratedIdentity
    intermediate: GeneratedIdentity
    leaf: GeneratedIdentity

    def signer(self, identity: GeneratedIdentity | None = None) -> FileSigner:
        identity = identity or self.leaf
        return FileSigner.from_pem(identity.private_key_pem(), key_id="test", chain_pem=identity.chain_pem())


def make_pki(key_type: KeyType = KeyType.EC_P256, *, at: datetime = SIGNED_AT) -> Pki:
    root = generate_identity(subject="CN=Acme Root,O=Acme,ST=WA,C=US", now=at, ca=True, days=3650, key_type=key_type)
    intermediate = generate_identity(
        subject="CN=Acme Signing CA,O=Acme,ST=WA,C=US", now=at, ca=True, path_length=0, issuer=root, key_type=key_type
    )
    leaf = generate_identity(subject=LEAF_SUBJECT, now=at, issuer=intermediate, key_type=key_type)
    return Pki(root=root, intermediate=intermediate, leaf=leaf)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki()


def policy_bytes(
    *,
    level: str = "strict",
    stores: tuple[str, ...] = ("ca:acme",),
    identities: tuple[str, ...] = ("x509.subject: C=US, ST=WA, O=Acme, CN=ci-signer",),
    override: dict[str, str] | None = None,
    scopes: tuple[str, ...] = (REPO,),
) -> bytes:
    verification: dict[str, object] = {"level": level}
    if override:
        verification["override"] = override
    statement = {
        "name": "acme",
        "registryScopes": list(scopes),
        "signatureVerification": verification,
        "trustStores": list(stores),
        "trustedIdentities": list(identities),
    }
    return json.dumps({"version": "1.0", "trustPolicies": [statement]}).encode()


@pytest.fixture(scope="session")
def trust_for() -> Callable[..., TrustMaterial]:
    def build(pki: Pki, **policy: object) -> TrustMaterial:
        store = TrustStore.from_certificates({(StoreType.CA, "acme"): [pki.root.chain[0]]})
        return TrustMaterial(policy=parse_trust_policy(policy_bytes(**policy)), store=store)  # type: ignore[arg-type]

    return build
