"""Wharfinger's own client against the test registries.

* ``client_for(registry, user=…, password=…, anonymous=…, **RegistrySettings fields)``: a fixture
  that builds ``RegistryClient``s trusting the registry's CA (plain registries listed insecure),
  with the registry's credentials unless told otherwise; closed after the test.
* ``push_layout_with_client``: push a test OCI layout (the counterpart of ``images.skopeo_copy``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testkit.images import BuiltImage
from testkit.registry import RunningRegistry
from wharfinger.oci.auth import Credentials, Secret
from wharfinger.oci.client import RegistryClient, RegistrySettings

__all__ = ["client_for", "layout_blob", "push_layout_with_client"]


def layout_blob(image: BuiltImage, digest: str) -> Path:
    return image.layout / "blobs" / digest.replace(":", "/")


def push_tiny_image(client: RegistryClient, repository: str, tag: str, *, content: bytes = b"hello") -> str:
    """A one-layer OCI image (real blobs, real manifest) pushed by tag with our client; returns its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    for blob in (config, content):
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
                "digest": "sha256:" + hashlib.sha256(content).hexdigest(),
                "size": len(content),
            }
        ],
    }
    return client.push_manifest(repository, json.dumps(manifest).encode(), manifest["mediaType"], tag=tag)


def push_layout_with_client(client: RegistryClient, image: BuiltImage, repository: str, tag: str) -> str:
    """Push every blob and manifest of a test layout with our client (children before the index)."""
    top = json.loads((image.layout / "index.json").read_text())["manifests"][0]

    def push_manifest(descriptor: dict[str, object], tag: str | None) -> str:
        data = layout_blob(image, str(descriptor["digest"])).read_bytes()
        document = json.loads(data)
        for child in document.get("manifests", []):
            push_manifest(child, None)
        for blob in [document.get("config"), *document.get("layers", [])]:
            if blob:
                client.push_blob(repository, blob["digest"], blob["size"], layout_blob(image, blob["digest"]))
        return client.push_manifest(repository, data, str(descriptor["mediaType"]), tag=tag)

    return push_manifest(top, tag)


@pytest.fixture
def client_for() -> Iterator[Callable[..., RegistryClient]]:
    """Build clients for a ``RunningRegistry`` (its CA trusted; plain ones listed insecure)."""
    made: list[RegistryClient] = []

    def make(
        registry: RunningRegistry,
        *,
        user: str | None = None,
        password: str | None = None,
        anonymous: bool = False,
        **settings: object,
    ) -> RegistryClient:
        credentials = None
        if not anonymous and (user or registry.username):
            credentials = Credentials(
                username=user or registry.username,
                password=Secret(password or registry.password or ""),
                source="test",
            )
        options: dict[str, object] = {"ca_bundle": registry.ca_file}
        if not registry.tls:
            options["insecure_hosts"] = frozenset({registry.host})
        options.update(settings)
        client = RegistryClient(
            registry.host,
            settings=RegistrySettings(**options),  # type: ignore[arg-type]
            credentials=credentials,
            sleep=lambda _s: None,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
