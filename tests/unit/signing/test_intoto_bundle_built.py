"""The intoto v0.0.2 path against a log we run ourselves: a Fulcio-profile CA and leaf, a Rekor key
that signs entries (SET) and checkpoints, and a Merkle tree. Unlike the real sigstore-js vector,
this lets a *log-signed* entry disagree with the envelope, so the body checks are exercised too."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from wharfinger.signing.cosign.attestation import pae
from wharfinger.signing.cosign.bundle import BundleVerification, IdentityPolicy, load_trusted_root, verify_bundle

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SAN = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"
ISSUER = "https://token.actions.githubusercontent.com"
IDENTITY = IdentityPolicy(subject=SAN, issuer=ISSUER)
ARTIFACT = b"acme-app-1.0.tgz contents"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    return bytes([0x0C, len(raw)]) + raw


def _usage(*, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acme"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _ca(key: ec.EllipticCurvePrivateKey, cn: str) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - timedelta(days=365))
        .not_valid_after(T0 + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, key: ec.EllipticCurvePrivateKey, *, as_ca: bool = False
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(minutes=10))  # Fulcio certificates live ten minutes
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(SAN)]), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), _der_utf8(ISSUER)), critical=False
        )
    )
    if as_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            _usage(key_cert_sign=True), critical=True
        )
    else:
        builder = builder.add_extension(_usage(digital_signature=True), critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass
class World:
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    leaf_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    rekor_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.ca = _ca(self.ca_key, "acme-fulcio")
        self.leaf = _leaf(self.ca_key, self.ca, self.leaf_key)
        self.log_id = hashlib.sha256(_spki(self.rekor_key)).digest()

    def trusted_root(self, tmp_path: Path) -> Any:
        document = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": "https://rekor.acme.example",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": _b64(_spki(self.rekor_key)),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "validFor": {"start": "2020-01-01T00:00:00Z"},
                    },
                    "logId": {"keyId": _b64(self.log_id)},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "acme", "commonName": "acme-fulcio"},
                    "uri": "https://fulcio.acme.example",
                    "certChain": {"certificates": [{"rawBytes": _b64(_der(self.ca))}]},
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                }
            ],
            "ctlogs": [],
            "timestampAuthorities": [],
        }
        path = tmp_path / "trusted_root.json"
        path.write_text(json.dumps(document))
        return load_trusted_root(path)


@dataclass(frozen=True)
class Knobs:
    """One thing to make wrong; the log still signs whatever entry results."""

    logged_payload: bytes | None = None  # the payload whose hash the entry stores
    logged_signature: bytes | None = None
    logged_cert: x509.Certificate | None = None
    integrated: datetime = T0 + timedelta(minutes=1)
    with_proof: bool = True
    checkpoint_root: bytes | None = None  # the root the checkpoint names
    checkpoint_key: ec.EllipticCurvePrivateKey | None = None
    leaf: x509.Certificate | None = None
    leaf_key: ec.EllipticCurvePrivateKey | None = None


def _bundle(world: World, knobs: Knobs) -> bytes:
    leaf = knobs.leaf or world.leaf
    leaf_key = knobs.leaf_key or world.leaf_key
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "acme-app-1.0.tgz", "digest": {"sha512": hashlib.sha512(ARTIFACT).hexdigest()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://acme.example/build@v1"}},
    }
    payload = json.dumps(statement).encode()
    signature = leaf_key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    logged_cert = knobs.logged_cert or leaf
    body = json.dumps(
        {
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": {
                "content": {
                    "envelope": {
                        "payloadType": PAYLOAD_TYPE,
                        "signatures": [
                            {
                                "publicKey": _b64(logged_cert.public_bytes(serialization.Encoding.PEM)),
                                "sig": _b64(_b64(knobs.logged_signature or signature).encode()),
                            }
                        ],
                    },
                    "hash": {"algorithm": "sha256", "value": "00" * 32},
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(knobs.logged_payload or payload).hexdigest(),
                    },
                }
            },
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    index, integrated = 1, int(knobs.integrated.timestamp())
    canonical = json.dumps(
        {"body": _b64(body), "integratedTime": integrated, "logID": world.log_id.hex(), "logIndex": index},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    entry: dict[str, Any] = {
        "logIndex": str(index),
        "logId": {"keyId": _b64(world.log_id)},
        "kindVersion": {"kind": "intoto", "version": "0.0.2"},
        "integratedTime": str(integrated),
        "inclusionPromise": {"signedEntryTimestamp": _b64(world.rekor_key.sign(canonical, ec.ECDSA(hashes.SHA256())))},
        "canonicalizedBody": _b64(body),
    }
    if knobs.with_proof:  # a tree of three leaves, ours in the middle: root = H(H(h0, h1), h2)
        h0, h2 = hashlib.sha256(b"\x00other-0").digest(), hashlib.sha256(b"\x00other-2").digest()
        h1 = hashlib.sha256(b"\x00" + body).digest()
        root = _node(_node(h0, h1), h2)
        note = f"rekor.acme.example - 1\n3\n{_b64(knobs.checkpoint_root or root)}\n"
        signer = knobs.checkpoint_key or world.rekor_key
        note_signature = signer.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        entry["inclusionProof"] = {
            "logIndex": str(index),
            "rootHash": _b64(root),
            "treeSize": "3",
            "hashes": [_b64(h0), _b64(h2)],
            "checkpoint": {
                "envelope": f"{note}\n\u2014 rekor.acme.example {_b64(world.log_id[:4] + note_signature)}\n"
            },
        }
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": _b64(_der(leaf))}, "tlogEntries": [entry]},
        "dsseEnvelope": {
            "payload": _b64(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": _b64(signature)}],
        },
    }
    return json.dumps(bundle).encode()


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _verify(world: World, tmp_path: Path, knobs: Knobs, artifact: bytes | None = None) -> BundleVerification:
    return verify_bundle(
        _bundle(world, knobs), artifact=artifact, trusted_root=world.trusted_root(tmp_path), identity=IDENTITY
    )


@pytest.mark.parametrize("with_proof", [True, False], ids=["proof+checkpoint", "promise only"])
def test_a_correct_entry_verifies(world: World, tmp_path: Path, with_proof: bool) -> None:
    result = _verify(world, tmp_path, Knobs(with_proof=with_proof), artifact=ARTIFACT)
    assert result.verified, result.reason
    assert result.identity == (SAN,)
    assert result.issuer == ISSUER


def _other_leaf(world: World, *, as_ca: bool = False, untrusted: bool = False) -> tuple[x509.Certificate, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1()) if untrusted else world.ca_key
    ca = _ca(ca_key, "acme-fulcio") if untrusted else world.ca
    return _leaf(ca_key, ca, key, as_ca=as_ca), key


def test_each_disagreement_is_named(world: World, tmp_path: Path) -> None:
    other_leaf, other_key = _other_leaf(world)
    stranger = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "the transparency-log entry is for another payload": Knobs(logged_payload=b"{}"),
        "the transparency-log entry is for another signature or certificate": Knobs(logged_signature=b"\x30\x00"),
        "for another signature or certificate": Knobs(logged_cert=other_leaf),
        "the certificate was not valid when the entry was logged": Knobs(integrated=T0 + timedelta(minutes=11)),
        "the checkpoint names another tree": Knobs(checkpoint_root=bytes(32)),
        "the checkpoint is not signed by the trusted key": Knobs(checkpoint_key=stranger),
        "the dsse signature does not verify": Knobs(leaf=other_leaf),  # the envelope is signed by world's key
    }
    for reason, knobs in cases.items():
        result = _verify(world, tmp_path, knobs)
        assert not result.verified, reason
        assert reason in result.reason.lower(), (reason, result.reason)
    assert _verify(world, tmp_path, Knobs(leaf=other_leaf, leaf_key=other_key)).verified  # control


def test_untrusted_ca_and_ca_as_leaf_are_refused(world: World, tmp_path: Path) -> None:
    foreign, foreign_key = _other_leaf(world, untrusted=True)
    result = _verify(world, tmp_path, Knobs(leaf=foreign, leaf_key=foreign_key))
    assert "does not chain to a trusted fulcio root" in result.reason.lower()
    as_ca, as_ca_key = _other_leaf(world, as_ca=True)
    result = _verify(world, tmp_path, Knobs(leaf=as_ca, leaf_key=as_ca_key))
    assert not result.verified
    assert "is a ca, not a code-signing leaf" in result.reason.lower()


def test_another_artifact_and_another_identity(world: World, tmp_path: Path) -> None:
    assert "subjects do not include the artifact" in _verify(world, tmp_path, Knobs(), artifact=b"other").reason
    result = verify_bundle(
        _bundle(world, Knobs()),
        artifact=None,
        trusted_root=world.trusted_root(tmp_path),
        identity=IdentityPolicy(subject_regex="^https://github.com/acme/other/", issuer=ISSUER),
    )
    assert not result.verified
    assert "does not match" in result.reason


def test_a_log_key_we_do_not_trust(world: World, tmp_path: Path) -> None:
    impostor = replace(World(), ca_key=world.ca_key, leaf_key=world.leaf_key)
    impostor.ca, impostor.leaf = world.ca, world.leaf  # same identity, another log
    result = verify_bundle(
        _bundle(impostor, Knobs()), artifact=None, trusted_root=world.trusted_root(tmp_path), identity=IDENTITY
    )
    assert not result.verified
    assert "not signed by a trusted rekor key" in result.reason.lower()
