"""Push a test OCI layout with Wharfinger's own client (the counterpart of ``images.skopeo_copy``)."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.images import BuiltImage
from wharfinger.oci.client import RegistryClient

__all__ = ["layout_blob", "push_layout_with_client"]


def layout_blob(image: BuiltImage, digest: str) -> Path:
    return image.layout / "blobs" / digest.replace(":", "/")


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
