"""sigstore-python's x509 vectors: each certificate is a leaf, a root CA, or invalid, as expected.json says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from wharfinger.signing.cosign.certs import CertificateRole, InvalidCertificateError, certificate_role

BASE = "cosign/sigstore-python/test/assets/x509"
ROLE = {"bogus-leaf.pem": CertificateRole.LEAF, "bogus-root.pem": CertificateRole.ROOT}


def _entries(shared: Path) -> list[dict[str, object]]:
    return [e for e in json.loads((shared / "vectors/expected.json").read_text()) if str(e["path"]).startswith(BASE)]


def test_all_seven_are_listed(shared_dir: Path) -> None:
    assert len(_entries(shared_dir)) == 7


@pytest.mark.parametrize(
    "name",
    [
        "bogus-leaf.pem",
        "bogus-root.pem",
        "bogus-leaf-invalid-ku.pem",
        "bogus-leaf-missing-eku.pem",
        "bogus-root-invalid-ku.pem",
        "bogus-root-missing-ku.pem",
        "bogus-root-noncritical-bc.pem",
    ],
)
def test_certificate_role_matches_expectation(shared_dir: Path, name: str) -> None:
    entry = next(e for e in _entries(shared_dir) if str(e["path"]).endswith("/" + name))
    cert = x509.load_pem_x509_certificate((shared_dir / "vectors" / str(entry["path"])).read_bytes())
    if entry["expected"] == "valid":
        assert certificate_role(cert) is ROLE[name]
    else:
        with pytest.raises(InvalidCertificateError, match=r"invalid X\.509 certificate"):
            certificate_role(cert)


def test_intermediates_are_cas(shared_dir: Path) -> None:
    cert = x509.load_pem_x509_certificate((shared_dir / "vectors" / BASE / "bogus-intermediate.pem").read_bytes())
    assert certificate_role(cert) is CertificateRole.CA
