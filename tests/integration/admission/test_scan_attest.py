"""`wharfinger scan IMAGE --attest --key URI` attaches a signed vulnerability attestation that the webhook reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from admission_checks import DATA, assert_review
from admission_reviews import review, workload
from admission_server import start_webhook
from testkit.images import skopeo_copy
from testkit.vulndb import build_feed_database

pytestmark = pytest.mark.slow
FEEDS = ["debian-tracker/data/DSA", "kev"]


@pytest.mark.parametrize("kind", ["p-256", "rsa-2048"])
def test_scan_attest_then_admission_reads_it(  # type: ignore[no-untyped-def]
    registry_basic, small_image, shared_dir: Path, tmp_path: Path, run_cli, kind: str
) -> None:
    # a registry with TLS (test CA) and basic auth: how scan, attest and the webhook all reach it
    registry = registry_basic
    env = {
        "WHARFINGER_CA_BUNDLE": str(registry.ca_file),
        "WHARFINGER_REGISTRY_USERNAME": str(registry.username),
        "WHARFINGER_REGISTRY_PASSWORD": str(registry.password),
        "WHARFINGER_REGISTRY_HOST": registry.host,
    }
    database = build_feed_database(
        tmp_path / "vulndb.sqlite", shared_dir / "vulndata", FEEDS, now=datetime.now(UTC) - timedelta(hours=1)
    )
    # an RSA key signs as cosign does (PKCS#1 v1.5), which is what the webhook verifies
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "p-256" else rsa.generate_private_key(65537, 2048)
    (tmp_path / "ci.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "trust" / "cosign").mkdir(parents=True)
    (tmp_path / "trust" / "cosign" / "ci.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    image = skopeo_copy(small_image, registry, f"scanned/app-{kind}", "1.0")
    server = start_webhook(
        tmp_path / "webhook",
        "--policy", str(DATA / "scan.policy.yaml"),
        "--trust-dir", str(tmp_path / "trust"),
        "--registry-ca", str(registry.ca_file),
        "--failure-ttl", "0.01",
        env=env,
    )  # fmt: skip
    try:
        body = review(workload("Pod", image, namespace="shop"))
        with server.client() as client:
            before = client.post("/validate", content=body, headers={"Content-Type": "application/json"}).json()
        assert "no signed vulnerability-scan attestation" in before["response"]["status"]["message"]
        scanned = run_cli(
            "scan", image, "--db", str(database), "--attest", "--key", f"file:{tmp_path / 'ci.pem'}", "-o", "json",
            env=env,
        )  # fmt: skip
        assert scanned.returncode in {0, 1}, scanned.stderr
        assert "attested" in scanned.stderr
        findings = json.loads(scanned.stdout)["findings"]
        with server.client() as client:
            after = client.post("/validate", content=body, headers={"Content-Type": "application/json"}).json()
        response = assert_review(after, json.loads(body)["request"]["uid"])
        message = response.get("status", {}).get("message", "")
        assert "no signed vulnerability-scan attestation" not in message
        above = [f for f in findings if f["severity"].lower() not in {"negligible", "unknown"}]
        assert response["allowed"] is (not above), message
    finally:
        server.stop()
    no_key = run_cli("scan", image, "--db", str(database), "--attest", env=env)
    assert no_key.returncode == 3
    assert "--attest needs --key" in no_key.stderr
