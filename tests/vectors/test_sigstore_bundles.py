"""Every Sigstore bundle in vectors/expected.json, verified through wharfinger.signing.cosign.bundle.

The expectations come from expected.json (how sigstore-python, sigstore-go and cosign's own tests
use each file); this table only says which artifact, trusted root and identity each one needs,
as the 'needs' column of expected.json describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle

PY = "cosign/sigstore-python/test/assets"
GO = "cosign/sigstore-go/pkg/testing/data"
STAGING_CURRENT = "cosign/sigstore-python/trusted_roots/staging_trusted_root.json"
STAGING = f"{PY}/staging-tuf/targets/ed6a9cf4e7c2e3297a4b5974fce0d17132f03c63512029d7aa3a402b43acab49.trusted_root.json"
PRODUCTION = "cosign/sigstore-python/trusted_roots/production_trusted_root.json"
ANY = IdentityPolicy.unsafe_any()


@dataclass(frozen=True)
class Case:
    bundle: str
    trusted_root: str | None  # None: the bundle must fail before any trust decision (malformed)
    artifact: str | None  # None: a DSSE bundle (the envelope is what is signed)
    identity: IdentityPolicy = ANY
    extra_tsa: str | None = None  # a TSA authority (sigstore-python's tsa/ca.json) to add to the root
    reason_contains: str = ""  # for invalid ones: a word the reason must contain
    artifact_sha256: str | None = None  # the artifact by digest, as the source test passes it


CASES = [
    Case(f"{PY}/bundle.txt.sigstore", STAGING, f"{PY}/bundle.txt"),
    Case(f"{PY}/bundle_v3.txt.sigstore", STAGING, f"{PY}/bundle_v3.txt"),
    Case(f"{PY}/bundle_v3_alt.txt.sigstore", STAGING, f"{PY}/bundle_v3_alt.txt"),
    Case(f"{PY}/staging-rekor-v2.txt.sigstore.json", STAGING, f"{PY}/staging-rekor-v2.txt"),
    Case(f"{PY}/a.dsse.staging-rekor-v2.txt.sigstore.json", STAGING_CURRENT, None),
    Case(
        f"{PY}/bundle_v3_github.whl.sigstore",
        PRODUCTION,
        f"{PY}/bundle_v3_github.whl",
        IdentityPolicy(
            subject="https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            issuer="https://token.actions.githubusercontent.com",
        ),
    ),
    Case(f"{PY}/bundle_cve_2022_36056.txt.sigstore", STAGING, f"{PY}/bundle_cve_2022_36056.txt"),
    Case(f"{PY}/bundle_invalid_version.txt.sigstore", STAGING, f"{PY}/bundle.txt", reason_contains="invalid bundle"),
    Case(f"{PY}/bundle_no_cert_v1.txt.sigstore", STAGING, f"{PY}/bundle_no_cert_v1.txt", reason_contains="certificate"),
    Case(
        f"{PY}/bundle_no_checkpoint.txt.sigstore",
        STAGING,
        f"{PY}/bundle_no_checkpoint.txt",
        reason_contains="checkpoint",
    ),
    Case(
        f"{PY}/bundle_no_log_entry.txt.sigstore", STAGING, f"{PY}/bundle_no_log_entry.txt", reason_contains="log entry"
    ),
    Case(f"{PY}/bundle_v3_no_signed_time.txt.sigstore.json", STAGING, f"{PY}/bundle_v3_no_signed_time.txt"),
    Case(f"{PY}/integration/Python-3.12.5.tgz.sigstore", STAGING, None, reason_contains="checkpoint"),
    Case(f"{PY}/tsa/bundle.txt.sigstore", STAGING, f"{PY}/tsa/bundle.txt", extra_tsa=f"{PY}/tsa/ca.json"),
    Case(f"{PY}/tsa/bundle.duplicate.sigstore", STAGING, f"{PY}/tsa/bundle.txt", extra_tsa=f"{PY}/tsa/ca.json"),
    Case(f"{PY}/tsa/bundle.many_timestamp.sigstore", STAGING, f"{PY}/tsa/bundle.txt", extra_tsa=f"{PY}/tsa/ca.json"),
    Case(
        f"{PY}/tsa/bundle.txt.late_timestamp.sigstore", STAGING, f"{PY}/tsa/bundle.txt", extra_tsa=f"{PY}/tsa/ca.json"
    ),
    Case(
        f"{GO}/bundles/othername.sigstore.json",
        f"{GO}/trusted-roots/scaffolding.json",
        None,
        IdentityPolicy(subject="foo!oidc.local", issuer="http://oidc.local:8080"),
        artifact_sha256="bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b",
    ),
    pytest.param(
        Case(
            f"{GO}/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
            f"{GO}/trusted-roots/public-good.json",
            None,
            IdentityPolicy(
                subject_regex="^https://github.com/sigstore/sigstore-js/.*",
                issuer="https://token.actions.githubusercontent.com",
            ),
        ),
        marks=pytest.mark.xfail(
            strict=True,
            reason="its Rekor entry is intoto v0.0.2, which the sigstore library "
            "cannot verify ('Integrated time only supported for dsse/hashedrekord 0.0.1'); "
            "needs our own intoto-entry path",
        ),
    ),
    Case(f"{GO}/bundles/dsse-2sigs.sigstore.json", f"{GO}/trusted-roots/public-good.json", None),
    Case(
        "cosign/cosign/pkg/cosign/testdata/oci-attestation.sigstore.json",
        "cosign/cosign/pkg/cosign/testdata/trusted_root_pgi.json",
        None,
        IdentityPolicy(subject_regex=".*", issuer_regex=".*"),
    ),
]


def _expected(shared: Path) -> dict[str, dict[str, object]]:
    return {e["path"]: e for e in json.loads((shared / "vectors/expected.json").read_text())}


def _root_file(shared: Path, case: Case, tmp_path: Path) -> Path:
    path = shared / "vectors" / str(case.trusted_root)
    if case.extra_tsa is None:
        return path
    root = json.loads(path.read_text())
    root.setdefault("timestampAuthorities", []).append(json.loads((shared / "vectors" / case.extra_tsa).read_text()))
    merged = tmp_path / "trusted_root.json"
    merged.write_text(json.dumps(root))
    return merged


def _case_id(case: object) -> str:
    return case.bundle.rsplit("/", 1)[-1] if isinstance(case, Case) else str(case)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bundle_verifies_exactly_as_expected(shared_dir: Path, case: Case, tmp_path: Path) -> None:
    entry = _expected(shared_dir)[case.bundle]
    artifact_path = shared_dir / "vectors" / case.artifact if case.artifact else None
    artifact = artifact_path.read_bytes() if artifact_path and artifact_path.exists() else None
    if case.artifact and artifact is None:
        artifact = b""  # the file is absent from the vectors: verification must still fail cleanly
    trusted_root = load_trusted_root(_root_file(shared_dir, case, tmp_path))
    if case.artifact_sha256:
        artifact = None
    result = verify_bundle(
        (shared_dir / "vectors" / case.bundle).read_bytes(),
        artifact=artifact,
        trusted_root=trusted_root,
        identity=case.identity,
        artifact_sha256=case.artifact_sha256,
    )
    assert result.verified is (entry["expected"] == "valid"), (result.reason, entry["reason"])
    if not result.verified:
        assert result.reason
        assert case.reason_contains.lower() in result.reason.lower(), result.reason


def test_every_bundle_vector_is_covered(shared_dir: Path) -> None:
    listed = {p for p, e in _expected(shared_dir).items() if e["kind"] == "sigstore-bundle"}
    covered = {c.bundle if isinstance(c, Case) else c.values[0].bundle for c in CASES}
    missing = listed - covered - {f"{GO}/bundles/public-key-validity.sigstore.json"}
    assert not missing, f"bundle vectors without a case: {sorted(missing)}"


def test_wrong_identity_is_named(shared_dir: Path) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / PRODUCTION)
    result = verify_bundle(
        (shared_dir / "vectors" / f"{PY}/bundle_v3_github.whl.sigstore").read_bytes(),
        artifact=(shared_dir / "vectors" / f"{PY}/bundle_v3_github.whl").read_bytes(),
        trusted_root=trusted_root,
        identity=IdentityPolicy(
            subject="https://github.com/evil/repo/.github/workflows/release.yml@refs/tags/v0.1.2",
            issuer="https://token.actions.githubusercontent.com",
        ),
    )
    assert not result.verified
    assert "is not https://github.com/evil/repo" in result.reason


def test_tampered_artifact_fails(shared_dir: Path) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / STAGING)
    result = verify_bundle(
        (shared_dir / "vectors" / f"{PY}/bundle.txt.sigstore").read_bytes(),
        artifact=b"not the signed bytes",
        trusted_root=trusted_root,
        identity=ANY,
    )
    assert not result.verified


def test_missing_identity_policy_is_refused(shared_dir: Path) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / STAGING)
    result = verify_bundle(
        (shared_dir / "vectors" / f"{PY}/bundle.txt.sigstore").read_bytes(),
        artifact=(shared_dir / "vectors" / f"{PY}/bundle.txt").read_bytes(),
        trusted_root=trusted_root,
        identity=IdentityPolicy(),
    )
    assert not result.verified
    assert "no identity policy" in result.reason


@pytest.mark.parametrize(
    "garbage", [b"", b"{", b"[]", b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}']
)
def test_garbage_bundles(shared_dir: Path, garbage: bytes) -> None:
    trusted_root = load_trusted_root(shared_dir / "vectors" / STAGING)
    result = verify_bundle(garbage, artifact=b"x", trusted_root=trusted_root, identity=ANY)
    assert not result.verified
    assert "invalid bundle" in result.reason
