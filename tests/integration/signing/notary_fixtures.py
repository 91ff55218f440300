"""Helpers for the signing integration tests: a tiny real image pushed with our client, key files, trust files."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from testkit.pushing import push_tiny_image
from testkit.registry import RunningRegistry
from wharfinger.oci.client import RegistryClient, RegistrySettings

__all__ = [
    "plain_client",
    "push_sign_and_verify",
    "push_tiny_image",
    "verify_under_policy",
    "write_key_pair",
    "write_trust_policy",
]


def plain_client(registry: RunningRegistry) -> RegistryClient:
    return RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))


def write_key_pair(base: Path, name: str, key: PrivateKeyTypes | None = None) -> tuple[Path, Path]:
    """Write ``key`` (a new P-256 key when none is given) as ``base/name.pem`` (unencrypted PKCS#8) and its public
    half as ``base/name.pub`` (SubjectPublicKeyInfo), the files cosign's ``--key`` options take."""
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
    private, public = base / f"{name}.pem", base / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def write_trust_policy(
    path: Path,
    scope: str,
    *,
    identity: str = "x509.subject: C=US, ST=WA, O=Acme, CN=ci",
    level: str = "strict",
    stores: tuple[str, ...] = ("ca:acme",),
    override: dict[str, str] | None = None,
) -> Path:
    verification: dict[str, object] = {"level": level}
    if override:
        verification["override"] = override
    doc = {
        "version": "1.0",
        "trustPolicies": [
            {
                "name": "acme-images",
                "registryScopes": [scope],
                "signatureVerification": verification,
                "trustStores": list(stores),
                "trustedIdentities": [identity],
            }
        ],
    }
    path.write_text(json.dumps(doc, indent=2))
    return path


def verify_under_policy(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], image: str, policy: Path, store: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``wharfinger verify IMAGE`` under the trust ``policy`` file and the trust ``store`` folder, the image's registry
    reached over plain HTTP; ``extra`` options follow."""
    host = image.split("/", 1)[0]
    return run_cli("verify", image, "--trust-policy", str(policy), "--trust-store", str(store), "--insecure", host,
                   *extra)  # fmt: skip


def push_sign_and_verify(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    registry: RunningRegistry,
    repository: str,
    *,
    key_uri: str,
    trust_store: Path,
    work: Path,
    signature_format: str = "notation-jws",
    env: dict[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Push a tiny image (its content the repository's last segment) to ``repository:v1``, sign it through the CLI
    with ``key_uri`` (``env`` goes to the signing run only) and verify it under a strict trust policy for that
    repository against ``trust_store``; both runs must succeed. Returns the pushed digest and the JSON report."""
    digest = push_tiny_image(plain_client(registry), repository, "v1", content=repository.rsplit("/", 1)[-1].encode())
    image = f"{registry.host}/{repository}:v1"
    signed = run_cli("sign", image, "--key", key_uri, "--format", signature_format, "--insecure", registry.host,
                     env=env)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    policy = write_trust_policy(work / "trustpolicy.json", f"{registry.host}/{repository}")
    verified = verify_under_policy(run_cli, image, policy, trust_store, "-o", "json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report: dict[str, Any] = json.loads(verified.stdout)
    return digest, report
