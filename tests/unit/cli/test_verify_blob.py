"""`wharfinger verify-blob` on sigstore-python's real bundles, with the roots sigstore ships."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ASSETS = "vectors/cosign/sigstore-python/test/assets"
GITHUB_ID = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@pytest.fixture
def assets(shared_dir: Path) -> Path:
    return shared_dir / ASSETS


RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _verify_blob(run_cli: RunCli, artifact: Path, bundle: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run_cli("verify-blob", str(artifact), "--bundle", str(bundle), *options)


def _verify_github_wheel(run_cli: RunCli, assets: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """The wheel sigstore-python's production bundle signs, checked against that bundle."""
    return _verify_blob(run_cli, assets / "bundle_v3_github.whl", assets / "bundle_v3_github.whl.sigstore", *options)


def test_production_bundle_verifies_with_the_shipped_root(run_cli, assets: Path) -> None:
    done = _verify_github_wheel(
        run_cli, assets, "--certificate-identity", GITHUB_ID, "--certificate-oidc-issuer", GITHUB_ISSUER, "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True
    assert report["identity"] == [GITHUB_ID]


def test_identity_regexp_is_unanchored_like_cosign(run_cli, assets: Path) -> None:
    done = _verify_github_wheel(
        run_cli, assets, "--certificate-identity-regexp", "trailofbits/rfc8785",
        "--certificate-oidc-issuer-regexp", "githubusercontent",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_wrong_identity_exits_1_and_says_whose(run_cli, assets: Path) -> None:
    done = _verify_github_wheel(
        run_cli, assets, "--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", GITHUB_ISSUER
    )
    assert done.returncode == 1
    assert "is not someone@example.com" in done.stderr


def test_other_file_fails(run_cli, assets: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.whl"
    other.write_bytes((assets / "bundle_v3_github.whl").read_bytes() + b"\0")
    done = _verify_blob(
        run_cli, other, assets / "bundle_v3_github.whl.sigstore",
        "--certificate-identity", GITHUB_ID, "--certificate-oidc-issuer", GITHUB_ISSUER,
    )  # fmt: skip
    assert done.returncode == 1


def test_staging_bundle_with_an_explicit_trusted_root(run_cli, assets: Path) -> None:
    root = next((assets / "staging-tuf" / "targets").glob("*.trusted_root.json"))
    done = _verify_blob(
        run_cli, assets / "bundle.txt", assets / "bundle.txt.sigstore", "--trusted-root", str(root),
        "--certificate-identity-regexp", ".", "--certificate-oidc-issuer-regexp", ".",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_missing_identity_is_a_usage_problem(run_cli, assets: Path) -> None:
    done = _verify_blob(run_cli, assets / "bundle.txt", assets / "bundle.txt.sigstore")
    assert done.returncode == 3
    assert "identity and issuer" in done.stderr


def test_unreadable_bundle(run_cli, tmp_path: Path) -> None:
    done = _verify_blob(
        run_cli, tmp_path / "nope", tmp_path / "nope.sigstore", "--certificate-identity", "a",
        "--certificate-oidc-issuer", "b",
    )  # fmt: skip
    assert done.returncode == 3
    assert "Traceback" not in done.stderr


def _key_signed_bundle(tmp_path: Path, content: bytes) -> tuple[Path, Path, Path]:
    """What `cosign sign-blob --key cosign.key --bundle` writes (v0.3, no log entry, no timestamp)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path / "cosign.pub"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    artifact = tmp_path / "artifact.txt"
    artifact.write_bytes(content)
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": ""}},
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": base64.b64encode(hashlib.sha256(content).digest()).decode(),
            },
            "signature": base64.b64encode(key.sign(content, ec.ECDSA(hashes.SHA256()))).decode(),
        },
    }
    path = tmp_path / "artifact.txt.sigstore.json"
    path.write_text(json.dumps(bundle))
    return artifact, path, public


def test_key_signed_bundle(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact, bundle, public = _key_signed_bundle(tmp_path, b"release notes\n")
    done = _verify_blob(run_cli, artifact, bundle, "--key", str(public), "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reason"] == "signed by key cosign"

    artifact.write_bytes(b"release notes, edited\n")
    tampered = _verify_blob(run_cli, artifact, bundle, "--key", str(public))
    assert tampered.returncode == 1
    assert "another artifact" in tampered.stdout

    (tmp_path / "stranger").mkdir()
    _, _, stranger = _key_signed_bundle(tmp_path / "stranger", b"x")
    artifact.write_bytes(b"release notes\n")
    wrong_key = _verify_blob(run_cli, artifact, bundle, "--key", str(stranger))
    assert wrong_key.returncode == 1
    assert "does not verify with key cosign" in wrong_key.stdout


def test_key_and_identity_exclude_each_other(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact, bundle, public = _key_signed_bundle(tmp_path, b"x")
    done = _verify_blob(
        run_cli, artifact, bundle, "--key", str(public), "--certificate-identity", "a@b",
        "--certificate-oidc-issuer", "https://c",
    )  # fmt: skip
    assert done.returncode == 3
    assert "exclude each other" in done.stderr
