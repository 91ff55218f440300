"""Helpers for the Notary integration tests: a tiny real image pushed with our client, trust files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from testkit.registry import RunningRegistry
from wharfinger.oci.client import RegistryClient, RegistrySettings

__all__ = ["plain_client", "push_tiny_image", "write_trust_policy"]


def plain_client(registry: RunningRegistry) -> RegistryClient:
    return RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))


def push_tiny_image(client: RegistryClient, repository: str, tag: str, *, content: bytes = b"hello") -> str:
    """A one-layer OCI image (real blobs, real manifest) pushed by tag; returns its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = content
    for blob in (config, layer):
        client.push_blob(repository, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob), blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                "size": len(layer),
            }
        ],
    }
    data = json.dumps(manifest).encode()
    return client.push_manifest(repository, data, "application/vnd.oci.image.manifest.v1+json", tag=tag)


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
