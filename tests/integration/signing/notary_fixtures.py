"""Helpers for the Notary integration tests: a tiny real image pushed with our client, trust files."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.pushing import push_tiny_image
from testkit.registry import RunningRegistry
from wharfinger.oci.client import RegistryClient, RegistrySettings

__all__ = ["plain_client", "push_tiny_image", "write_trust_policy"]


def plain_client(registry: RunningRegistry) -> RegistryClient:
    return RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))


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
