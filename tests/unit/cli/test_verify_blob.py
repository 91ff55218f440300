"""`wharfinger verify-blob` on sigstore-python's real bundles, with the roots sigstore ships."""

from __future__ import annotations

import json
from pathlib import Path

ASSETS = "vectors/cosign/sigstore-python/test/assets"
GITHUB_ID = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def test_production_bundle_verifies_with_the_shipped_root(run_cli, shared_dir: Path) -> None:
    assets = shared_dir / ASSETS
    done = run_cli(
        "verify-blob",
        str(assets / "bundle_v3_github.whl"),
        "--bundle",
        str(assets / "bundle_v3_github.whl.sigstore"),
        "--certificate-identity",
        GITHUB_ID,
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
        "-o",
        "json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True
    assert report["identity"] == [GITHUB_ID]


def test_identity_regexp_is_unanchored_like_cosign(run_cli, shared_dir: Path) -> None:
    assets = shared_dir / ASSETS
    done = run_cli(
        "verify-blob",
        str(assets / "bundle_v3_github.whl"),
        "--bundle",
        str(assets / "bundle_v3_github.whl.sigstore"),
        "--certificate-identity-regexp",
        "trailofbits/rfc8785",
        "--certificate-oidc-issuer-regexp",
        "githubusercontent",
    )
    assert done.returncode == 0, done.stderr


def test_wrong_identity_exits_1_and_says_whose(run_cli, shared_dir: Path) -> None:
    assets = shared_dir / ASSETS
    done = run_cli(
        "verify-blob",
        str(assets / "bundle_v3_github.whl"),
        "--bundle",
        str(assets / "bundle_v3_github.whl.sigstore"),
        "--certificate-identity",
        "someone@example.com",
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
    )
    assert done.returncode == 1
    assert "is not someone@example.com" in done.stderr


def test_other_file_fails(run_cli, shared_dir: Path, tmp_path: Path) -> None:
    assets = shared_dir / ASSETS
    other = tmp_path / "other.whl"
    other.write_bytes((assets / "bundle_v3_github.whl").read_bytes() + b"\0")
    done = run_cli(
        "verify-blob",
        str(other),
        "--bundle",
        str(assets / "bundle_v3_github.whl.sigstore"),
        "--certificate-identity",
        GITHUB_ID,
        "--certificate-oidc-issuer",
        GITHUB_ISSUER,
    )
    assert done.returncode == 1


def test_staging_bundle_with_an_explicit_trusted_root(run_cli, shared_dir: Path) -> None:
    assets = shared_dir / ASSETS
    root = next((assets / "staging-tuf" / "targets").glob("*.trusted_root.json"))
    done = run_cli(
        "verify-blob",
        str(assets / "bundle.txt"),
        "--bundle",
        str(assets / "bundle.txt.sigstore"),
        "--trusted-root",
        str(root),
        "--certificate-identity-regexp",
        ".",
        "--certificate-oidc-issuer-regexp",
        ".",
    )
    assert done.returncode == 0, done.stderr


def test_missing_identity_is_a_usage_problem(run_cli, shared_dir: Path) -> None:
    assets = shared_dir / ASSETS
    done = run_cli("verify-blob", str(assets / "bundle.txt"), "--bundle", str(assets / "bundle.txt.sigstore"))
    assert done.returncode == 3
    assert "identity and issuer" in done.stderr


def test_unreadable_bundle(run_cli, tmp_path: Path) -> None:
    done = run_cli(
        "verify-blob",
        str(tmp_path / "nope"),
        "--bundle",
        str(tmp_path / "nope.sigstore"),
        "--certificate-identity",
        "a",
        "--certificate-oidc-issuer",
        "b",
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
