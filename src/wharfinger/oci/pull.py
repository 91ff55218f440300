"""Pull an image from a registry into an OCI image layout directory (edge).

The steps, in order:

1. fetch the tag's (or digest's) manifest, verified;
2. an index: keep one platform (``platform``, else this host's) or, with ``all_platforms``, every
   entry - as ``skopeo copy`` and ``skopeo copy --all`` do;
3. download every config and layer blob not already in the layout, ``parallel_downloads`` at a
   time, each streamed into ``blobs/<alg>/.<hex>.partial``, verified while it streams, then renamed
   into place - a reader never sees a partial blob and memory stays flat whatever the layer size;
4. write the manifests, then ``oci-layout`` and ``index.json`` last, with the tag in
   ``org.opencontainers.image.ref.name`` (an entry with the same tag is replaced).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharfinger.errors import LayoutError, ManifestError
from wharfinger.oci.client import FetchedManifest, RegistryClient
from wharfinger.oci.digest import parse_digest
from wharfinger.oci.manifest import Descriptor, ImageIndex, ImageManifest, select_platform
from wharfinger.oci.platform import Platform, host_platform
from wharfinger.oci.progress import ByteProgress, counting_writer

__all__ = ["PullProgress", "PullResult", "pull_to_layout"]

REF_NAME = "org.opencontainers.image.ref.name"
_LAYOUT_VERSION = '{"imageLayoutVersion":"1.0.0"}'


@dataclass(frozen=True, slots=True, kw_only=True)
class PullResult:
    top: Descriptor  # what index.json now points at under the tag
    blobs_downloaded: int
    bytes_downloaded: int


def _blob_path(layout: Path, digest: str) -> Path:
    parsed = parse_digest(digest)
    return layout / "blobs" / parsed.algorithm / parsed.hex


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


PullProgress = ByteProgress  # the progress a pull reports to (oci.progress)


def _download(
    client: RegistryClient, repository: str, layout: Path, descriptor: Descriptor, progress: PullProgress | None
) -> int:
    target = _blob_path(layout, descriptor.digest)
    if target.is_file() and target.stat().st_size == descriptor.size:
        if progress is not None:
            progress.advance(descriptor.size)  # already here: counts as done
        return 0  # content-addressed: a complete file of the right name and size is that blob
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as file:
            sink = file if progress is None else counting_writer(file, progress.advance)
            written = client.download_blob(repository, descriptor.digest, sink, size=descriptor.size)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _image_manifest(fetched: FetchedManifest, client: RegistryClient) -> ImageManifest:
    parsed = fetched.parse(max_bytes=client.settings.max_manifest_bytes)
    if not isinstance(parsed, ImageManifest):
        raise ManifestError(
            f"{fetched.digest} is {parsed.media_type}, not an image manifest",
            hint="pull an image, or an index of images",
        )
    return parsed


def _read_index(layout: Path) -> dict[str, Any]:
    path = layout / "index.json"
    if not path.exists():
        return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LayoutError(
            f"{path} exists and is not a readable OCI index", hint="pull into an empty directory"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
        raise LayoutError(f"{path} is not an OCI image index", hint="pull into an empty directory")
    return document


def pull_to_layout(
    client: RegistryClient,
    repository: str,
    reference: str,
    layout: Path,
    *,
    tag: str | None = None,
    platform: Platform | None = None,
    all_platforms: bool = False,
    progress: PullProgress | None = None,
) -> PullResult:
    """Copy ``repository:reference`` into the OCI layout ``layout`` (created if missing)."""
    layout.mkdir(parents=True, exist_ok=True)
    existing = _read_index(layout)
    top_fetched = client.get_manifest(repository, reference)
    top = top_fetched.descriptor()
    parsed_top = top_fetched.parse(max_bytes=client.settings.max_manifest_bytes)
    manifests: list[FetchedManifest] = []  # written after their blobs
    images: list[ImageManifest] = []
    if isinstance(parsed_top, ImageIndex):
        if all_platforms:
            entries = list(parsed_top.manifests)
            manifests.append(top_fetched)
        else:
            entries = [select_platform(parsed_top, platform or host_platform())]
            top = entries[0]
        for entry in entries:
            child = client.get_manifest(repository, entry.digest)
            if child.media_type != entry.media_type:
                raise ManifestError(
                    f"index entry {entry.digest} says {entry.media_type}, the registry serves {child.media_type}",
                    hint="the image index is inconsistent",
                )
            manifests.append(child)
            images.append(_image_manifest(child, client))
    else:
        manifests.append(top_fetched)
        images.append(_image_manifest(top_fetched, client))

    blobs: dict[str, Descriptor] = {}
    for image in images:
        for descriptor in (image.config, *image.layers):
            blobs.setdefault(descriptor.digest, descriptor)
    # Biggest first: the long downloads start at once instead of queueing behind small ones.
    ordered = sorted(blobs.values(), key=lambda d: d.size, reverse=True)
    workers = max(1, min(client.settings.parallel_downloads, len(ordered)))
    if progress is not None:
        progress.start(sum(d.size for d in ordered), len(ordered))
    with ThreadPoolExecutor(workers, thread_name_prefix="wharfinger-pull") as pool:
        sizes = list(pool.map(lambda d: _download(client, repository, layout, d, progress), ordered))

    for fetched in manifests:
        _write_atomic(_blob_path(layout, fetched.digest), fetched.data)
    name = tag or (reference if ":" not in reference else None)
    entry_json = Descriptor(media_type=top.media_type, digest=top.digest, size=top.size).to_json()
    if name:
        entry_json["annotations"] = {REF_NAME: name}
    kept = [m for m in existing["manifests"] if not (name and m.get("annotations", {}).get(REF_NAME) == name)]
    existing["manifests"] = [*kept, entry_json]
    _write_atomic(layout / "oci-layout", _LAYOUT_VERSION.encode())
    _write_atomic(layout / "index.json", json.dumps(existing).encode())
    return PullResult(top=top, blobs_downloaded=sum(1 for s in sizes if s), bytes_downloaded=sum(sizes))
