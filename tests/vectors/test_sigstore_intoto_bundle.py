"""The intoto v0.0.2 path (sigstore-js provenance) refuses every altered part of the bundle.

Each test starts from the real sigstore-js bundle, which verifies, and changes one thing.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle

GO = "cosign/sigstore-go/pkg/testing/data"
BUNDLE = f"{GO}/bundles/sigstore.js@2.0.0-provenance.sigstore.json"
SAN = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"
SHA512 = "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c"  # noqa: E501
IDENTITY = IdentityPolicy(subject_regex="^https://github.com/sigstore/sigstore-js/", issuer=ISSUER)


@pytest.fixture(scope="module")
def original(shared_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((shared_dir / "vectors" / BUNDLE).read_bytes())
    return document


def _verify(shared_dir: Path, document: dict[str, Any], identity: IdentityPolicy = IDENTITY, root: str = "public-good"):  # type: ignore[no-untyped-def]
    trusted_root = load_trusted_root(shared_dir / "vectors" / GO / "trusted-roots" / f"{root}.json")
    return verify_bundle(json.dumps(document).encode(), artifact=None, trusted_root=trusted_root, identity=identity)


def _entry(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = document["verificationMaterial"]["tlogEntries"][0]
    return entry


def _body(document: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(base64.b64decode(_entry(document)["canonicalizedBody"]))
    return body


def _set_body(document: dict[str, Any], body: dict[str, Any]) -> None:
    _entry(document)["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()


def test_verifies_and_returns_the_statement(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, IdentityPolicy(subject=SAN, issuer=ISSUER))
    assert result.verified, result.reason
    assert result.identity == (SAN,)
    assert result.payload_type == "application/vnd.in-toto+json"
    assert result.payload is not None
    assert json.loads(result.payload)["subject"][0]["digest"]["sha512"] == SHA512


def test_the_artifact_digest_must_be_a_subject(shared_dir: Path, original: dict[str, Any]) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / GO / "trusted-roots/public-good.json")
    raw = json.dumps(original).encode()
    other = verify_bundle(raw, artifact=b"another tarball", trusted_root=trusted_root, identity=IDENTITY)
    assert not other.verified
    assert "subjects do not include the artifact" in other.reason
    by_digest = verify_bundle(
        raw,
        artifact=None,
        artifact_sha256=hashlib.sha256(b"x").hexdigest(),
        trusted_root=trusted_root,
        identity=IDENTITY,
    )
    assert not by_digest.verified


def _tamper_payload(d: dict[str, Any]) -> None:
    statement = json.loads(base64.b64decode(d["dsseEnvelope"]["payload"]))
    statement["subject"][0]["name"] = "pkg:npm/evil@6.6.6"
    d["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _drop_promise(d: dict[str, Any]) -> None:
    del _entry(d)["inclusionPromise"]


def _bad_set(d: dict[str, Any]) -> None:
    _entry(d)["integratedTime"] = str(int(_entry(d)["integratedTime"]) + 1)


def _bad_proof_hash(d: dict[str, Any]) -> None:
    hashes = _entry(d)["inclusionProof"]["hashes"]
    hashes[0] = base64.b64encode(bytes(32)).decode()


def _bad_checkpoint(d: dict[str, Any]) -> None:
    proof = _entry(d)["inclusionProof"]
    proof["checkpoint"]["envelope"] = proof["checkpoint"]["envelope"].replace("27657875", "27657876", 1)


def _other_payload_hash(d: dict[str, Any]) -> None:
    body = _body(d)
    body["spec"]["content"]["payloadHash"]["value"] = "0" * 64
    _set_body(d, body)


def _other_signature_in_body(d: dict[str, Any]) -> None:
    body = _body(d)
    sig = base64.b64encode(base64.b64encode(b"\x30" * 70)).decode()
    body["spec"]["content"]["envelope"]["signatures"][0]["sig"] = sig
    _set_body(d, body)


def _other_kind(d: dict[str, Any]) -> None:
    _entry(d)["kindVersion"]["version"] = "0.0.1"


def _two_signatures(d: dict[str, Any]) -> None:
    d["dsseEnvelope"]["signatures"].append(d["dsseEnvelope"]["signatures"][0])


def _garbage_cert(d: dict[str, Any]) -> None:
    d["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"] = "AAAA"


TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "payload": (_tamper_payload, "dsse signature does not verify"),
    "no inclusion promise": (_drop_promise, "no inclusion promise"),
    "integrated time moved": (_bad_set, "not signed by a trusted rekor key"),
    "inclusion proof hash": (_bad_proof_hash, "does not lead to its root hash"),
    "checkpoint": (_bad_checkpoint, "checkpoint is not signed"),
    "payload hash in the entry": (_other_payload_hash, "not signed by a trusted rekor key"),
    "signature in the entry": (_other_signature_in_body, "not signed by a trusted rekor key"),
    "intoto 0.0.1": (_other_kind, "unsupported transparency-log entry"),
    "two DSSE signatures": (_two_signatures, "exactly one signature"),
    "garbage certificate": (_garbage_cert, "no readable signing certificate"),
}


@pytest.mark.parametrize("name", TAMPERINGS)
def test_tampering_is_refused_with_its_reason(shared_dir: Path, original: dict[str, Any], name: str) -> None:
    document = copy.deepcopy(original)
    tamper, reason = TAMPERINGS[name]
    tamper(document)
    result = _verify(shared_dir, document)
    assert not result.verified
    assert reason in result.reason.lower(), result.reason


def test_wrong_identity_is_refused(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, IdentityPolicy(subject="BadSANValue", issuer=ISSUER))
    assert not result.verified
    assert "is not BadSANValue" in result.reason


def test_another_trust_root_is_refused(shared_dir: Path, original: dict[str, Any]) -> None:
    result = _verify(shared_dir, original, root="scaffolding")
    assert not result.verified
    assert "does not chain to a trusted fulcio root" in result.reason.lower()
