"""End to end: images pushed to the real docker-registry, signed with `wharfinger sign`, scanned with a
signed attestation, then admitted (or not) by the real webhook over HTTPS in enforce, warn and audit."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from admission_checks import DATA, assert_review
from admission_reviews import review, workload
from admission_server import WebhookServer, start_webhook
from testkit.pushing import push_tiny_image
from wharfinger.admission.attest import attest_image
from wharfinger.admission.audit import read_entries, verify_chain
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.policy.scanfacts import VULN_PREDICATE_TYPE
from wharfinger.signing.keys.file import open_file_signer

pytestmark = pytest.mark.slow


def _scan(vulnerabilities: list[dict[str, object]]) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "invocation": {"uri": "wharfinger scan"},
        "scanner": {"uri": "pkg:pypi/wharfinger", "version": "0.1.0", "result": {"vulnerabilities": vulnerabilities}},
        "metadata": {"scanStartedOn": (now - timedelta(seconds=5)).isoformat(), "scanFinishedOn": now.isoformat()},
    }


@dataclass
class World:
    server: WebhookServer
    host: str
    images: dict[str, str]  # name -> reference
    digests: dict[str, str]


@pytest.fixture(scope="module")
def world(registry_plain, tmp_path_factory: pytest.TempPathFactory, run_cli) -> Iterator[World]:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("e2e")
    key = ec.generate_private_key(ec.SECP256R1())
    private = base / "ci.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (base / "trust" / "cosign").mkdir(parents=True)
    (base / "trust" / "cosign" / "ci.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    host = registry_plain.host
    client = RegistryClient(host, settings=RegistrySettings(insecure_hosts=frozenset({host})))
    signer = open_file_signer(f"file:{private}", {})
    refs, digests = {}, {}
    stranger = base / "stranger.pem"
    stranger.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    names = (
        ("good", b"good"),
        ("unsigned", b"unsigned"),
        ("tampered", b"original"),
        ("cve", b"cve"),
        ("stranger", b"s"),
    )
    for name, content in names:
        digests[name] = push_tiny_image(client, f"e2e/{name}", "1.0", content=content)
        refs[name] = f"{host}/e2e/{name}:1.0"
    for name in ("good", "tampered", "cve"):
        signed = run_cli("sign", refs[name], "--key", f"file:{private}", "--format", "cosign", "--insecure", host)
        assert signed.returncode == 0, signed.stderr
    signed = run_cli("sign", refs["stranger"], "--key", f"file:{stranger}", "--format", "cosign", "--insecure", host)
    assert signed.returncode == 0, signed.stderr
    clean = _scan([{"id": "CVE-2023-0001", "severity": "low", "fixAvailable": True}])
    attest_image(
        client, "e2e/good", digests["good"], predicate_type=VULN_PREDICATE_TYPE, predicate=clean, signer=signer
    )
    attest_image(
        client, "e2e/tampered", digests["tampered"], predicate_type=VULN_PREDICATE_TYPE, predicate=clean, signer=signer
    )
    kev = _scan([{"id": "CVE-2024-3094", "severity": "critical", "fixAvailable": True, "kev": True}])
    attest_image(client, "e2e/cve", digests["cve"], predicate_type=VULN_PREDICATE_TYPE, predicate=kev, signer=signer)
    digests["tampered"] = push_tiny_image(
        client, "e2e/tampered", "1.0", content=b"tampered after signing"
    )  # the tag moved
    client.close()
    server = start_webhook(
        base / "webhook",
        "--policy",
        str(DATA / "e2e.policy.yaml"),
        "--trust-dir",
        str(base / "trust"),
        "--insecure-registry",
        host,
        "--audit-log",
        str(base / "audit.jsonl"),
        "--mutate",
    )
    yield World(server=server, host=host, images=refs, digests=digests)
    server.stop()


def _admit(world: World, image: str, namespace: str, *, path: str = "/validate", **kw) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = review(workload("Deployment", image, namespace=namespace, annotations=kw.pop("annotations", None)), **kw)
    with world.server.client() as client:
        reply = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 200, reply.text
    return assert_review(reply.json(), json.loads(body)["request"]["uid"])


def test_signed_and_scanned_image_is_admitted_and_pinned(world: World) -> None:
    response = _admit(world, world.images["good"], "shop")
    assert response["allowed"] is True, response
    assert response["auditAnnotations"]["decision"] == "allowed"
    mutated = _admit(world, world.images["good"], "shop", path="/mutate")
    patch = json.loads(base64.b64decode(mutated["patch"]))
    assert patch[0]["value"] == f"{world.images['good']}@{world.digests['good']}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("unsigned", "no cosign signatures found"),
        ("tampered", "no cosign signatures found"),  # the tag names new content: its signature is elsewhere
        ("cve", "CVE-2024-3094"),
        ("stranger", "threshold not reached"),  # signed, but not by a key the policy trusts
    ],
)
def test_bad_images_denied_in_enforce_warned_in_warn_logged_in_audit(world: World, name: str, reason: str) -> None:
    denied = _admit(world, world.images[name], "shop")
    assert denied["allowed"] is False
    assert reason in denied["status"]["message"]
    assert "Fix:" in denied["status"]["message"]
    warned = _admit(world, world.images[name], "staging")
    assert warned["allowed"] is True
    assert any(reason in w for w in warned["warnings"])
    audited = _admit(world, world.images[name], "dev")
    assert audited["allowed"] is True
    assert audited["auditAnnotations"]["decision"] == "audited"
    assert "warnings" not in audited
    mutated = _admit(world, world.images[name], "shop", path="/mutate")
    assert "patch" not in mutated  # never pin what did not verify


def test_break_glass_admits_once_with_an_audit_entry(world: World) -> None:
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    annotations = {"wharfinger.io/break-glass": "INC-4711 checkout down", "wharfinger.io/break-glass-until": until}
    refused = _admit(world, world.images["unsigned"], "shop", annotations=annotations, groups=("dev",))
    assert refused["allowed"] is False
    assert "not allowed to break glass" in refused["status"]["message"]
    admitted = _admit(world, world.images["unsigned"], "shop", annotations=annotations, groups=("sre",), uid="bg-1")
    assert admitted["allowed"] is True
    assert admitted["auditAnnotations"]["break-glass"] == "INC-4711 checkout down"
    entries = [e for _, e in read_entries(world.server.folder.parent / "audit.jsonl") if e]
    glass = [e for e in entries if e["outcome"] == "break-glass"]
    assert [e["uid"] for e in glass] == ["bg-1"]
    assert glass[0]["breakGlass"] == "INC-4711 checkout down"
    assert "admission.break_glass" in world.server.logs()
    assert verify_chain(read_entries(world.server.folder.parent / "audit.jsonl"))[1] == []


def test_zz_trust_store_swapped_while_serving(world: World) -> None:
    """Runs last in this module: replaces the trusted key, then puts it back."""
    import time

    assert _admit(world, world.images["good"], "shop")["allowed"] is True  # verified and cached (TTL 300 s)
    trusted = world.server.folder.parent / "trust" / "cosign" / "ci.pub"
    original = trusted.read_bytes()
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    trusted.write_bytes(other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    try:
        deadline = time.monotonic() + 15
        while (response := _admit(world, world.images["good"], "shop"))["allowed"]:
            assert time.monotonic() < deadline, "the swapped trust store was not used"
            time.sleep(0.2)
        assert "threshold not reached" in response["status"]["message"]
    finally:
        trusted.write_bytes(original)
    deadline = time.monotonic() + 15
    while not _admit(world, world.images["good"], "shop")["allowed"]:
        assert time.monotonic() < deadline, "the restored trust store was not used"
        time.sleep(0.2)


def test_attest_command_feeds_the_vulnerability_rule(world: World, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = world.server.folder.parent / "ci.pem"
    image = world.images["unsigned"].replace("unsigned", "attested")
    client = RegistryClient(world.host, settings=RegistrySettings(insecure_hosts=frozenset({world.host})))
    push_tiny_image(client, "e2e/attested", "1.0", content=b"attested")
    client.close()
    assert (
        run_cli("sign", image, "--key", f"file:{key}", "--format", "cosign", "--insecure", world.host).returncode == 0
    )
    missing = _admit(world, image, "shop")
    assert "no signed vulnerability-scan attestation" in missing["status"]["message"]
    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps(_scan([{"id": "CVE-2025-0001", "severity": "critical", "fixAvailable": True}])))
    done = run_cli(
        "attest", image, "--key", f"file:{key}", "--predicate", str(scan), "--type", "vuln", "--insecure", world.host
    )
    assert done.returncode == 0, done.stderr
    # "no scan" was cached for the failure TTL (15 s) only; ask by digest to read the new attestation now
    digest = done.stdout.split("@", 1)[1].split(" ", 1)[0]
    denied = _admit(world, f"{image.rsplit(':', 1)[0]}@{digest}", "shop")
    assert "CVE-2025-0001" in denied["status"]["message"]
    bad = run_cli(
        "attest", image, "--key", f"file:{key}", "--predicate", str(tmp_path / "nope.json"), "--insecure", world.host
    )
    assert bad.returncode == 3
    assert "cannot read the predicate" in bad.stderr
