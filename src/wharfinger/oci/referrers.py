"""Referrers: the artifacts (signatures, SBOMs, attestations) that point at an image (edge).

Reading, ``list_referrers``:

1. ``GET /v2/<name>/referrers/<digest>?artifactType=…`` (OCI distribution spec 1.1). The answer is an
   OCI index of descriptors, possibly paged through ``Link``; if the registry did not apply the
   ``artifactType`` filter (no ``OCI-Filters-Applied``) it is applied here.
2. A registry without the API answers 404: then the **referrers tag schema** is read instead, the
   index tagged ``<alg>-<hex>`` (``sha256-…``) in the same repository; no such tag means no referrers.

Writing, ``attach_artifact`` / ``push_referrer``:

1. push the manifest (with its ``subject``) by digest;
2. if the registry answers ``OCI-Subject`` it indexed the referrer itself: done;
3. otherwise read the ``sha256-<hex>`` index (or start an empty one), add the descriptor unless it is
   there, and push it back under that tag; then wait a short jittered moment and read the tag again.
   The tag schema has no compare-and-swap, so a writer that read the index before our push may
   overwrite it without our entry: if the re-read misses it, merge and push again (bounded attempts,
   growing jittered waits), as ORAS and regclient do best-effort. What remains: a writer whose
   read-modify-write takes longer than our last wait can still drop our entry *after* we checked;
   attaching the same artifact again (it is idempotent) repairs it. Giving up after the last
   attempt is a ``RegistryError``: the artifact itself was pushed, only the index misses it.

Every read is bounded by ``RegistrySettings.max_referrers``; a subject with more referrers comes back
with ``truncated=True`` rather than the list silently ending.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from wharfinger.errors import ManifestError, RegistryError, RegistryNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.client import PushedManifest, RegistryClient
from wharfinger.oci.digest import compute_digest, parse_digest
from wharfinger.oci.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest

__all__ = [
    "EMPTY_CONFIG",
    "Referrers",
    "attach_artifact",
    "fallback_tag",
    "list_referrers",
    "push_referrer",
]

log = logging.getLogger(__name__)

EMPTY_CONFIG = b"{}"  # the OCI empty descriptor's content (application/vnd.oci.empty.v1+json)
TAG_SCHEMA_ATTEMPTS = 6  # pushes of the fallback index before giving up on a write that keeps being lost
TAG_SCHEMA_SETTLE_S = 0.1  # seconds waited after a push before re-reading (doubles per attempt, jittered 0.5-1.5x)


@dataclass(frozen=True, slots=True, kw_only=True)
class Referrers:
    subject: str  # digest
    descriptors: tuple[Descriptor, ...]
    source: Literal["api", "tag-schema", "none"]  # how they were found ("none": fallback tag absent)
    truncated: bool = False  # more referrers exist than max_referrers allowed reading


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag for a subject: ``sha256:abc…`` → ``sha256-abc…``."""
    parsed = parse_digest(digest)
    return f"{parsed.algorithm}-{parsed.hex}"


def _matches(descriptor: Descriptor, artifact_type: str | None) -> bool:
    return artifact_type is None or descriptor.artifact_type == artifact_type


def list_referrers(
    client: RegistryClient, repository: str, subject: str, *, artifact_type: str | None = None
) -> Referrers:
    """Every referrer of ``subject`` in ``repository`` (optionally of one artifact type), bounded."""
    parse_digest(subject)
    limit = client.settings.max_referrers
    query = f"?artifactType={quote(artifact_type, safe='')}" if artifact_type else ""
    url: str | None = f"/v2/{repository}/referrers/{subject}{query}"
    found: list[Descriptor] = []
    pages = 0
    while url is not None:
        page = client.referrers_page(url, repository)
        if page is None:
            if pages == 0:
                return _from_tag_schema(client, repository, subject, artifact_type)
            break
        fetched, url, filtered = page
        pages += 1
        index = parse_manifest(fetched.data, fetched.media_type, max_bytes=client.settings.max_json_bytes)
        if not isinstance(index, ImageIndex):
            raise ManifestError(f"the referrers of {subject} in {repository} are not an index", hint="report it")
        for descriptor in index.manifests:
            if filtered or _matches(descriptor, artifact_type):
                if len(found) >= limit:
                    return Referrers(subject=subject, descriptors=tuple(found), source="api", truncated=True)
                found.append(descriptor)
        if len(found) >= limit and url is not None:  # full, and the registry says there is more
            return Referrers(subject=subject, descriptors=tuple(found), source="api", truncated=True)
        if pages >= client.settings.max_pages:
            return Referrers(subject=subject, descriptors=tuple(found), source="api", truncated=url is not None)
    return Referrers(subject=subject, descriptors=tuple(found), source="api")


def _fallback_index(client: RegistryClient, repository: str, subject: str) -> ImageIndex | None:
    try:
        fetched = client.get_manifest(repository, fallback_tag(subject))
    except RegistryNotFoundError:
        return None
    index = fetched.parse(max_bytes=client.settings.max_manifest_bytes)
    if not isinstance(index, ImageIndex):
        raise ManifestError(
            f"the tag {fallback_tag(subject)} in {repository} is not an index, so it is not a referrers list",
            hint="something else took the referrers tag schema's tag; remove or rename it",
        )
    return index


def _from_tag_schema(client: RegistryClient, repository: str, subject: str, artifact_type: str | None) -> Referrers:
    index = _fallback_index(client, repository, subject)
    if index is None:
        return Referrers(subject=subject, descriptors=(), source="none")
    limit = client.settings.max_referrers
    matching = [d for d in index.manifests if _matches(d, artifact_type)]
    return Referrers(
        subject=subject, descriptors=tuple(matching[:limit]), source="tag-schema", truncated=len(matching) > limit
    )


def push_referrer(
    client: RegistryClient,
    repository: str,
    manifest: bytes,
    media_type: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> PushedManifest:
    """Push a manifest that has a ``subject``, keeping the tag-schema index current if needed."""
    parsed = parse_manifest(manifest, media_type, max_bytes=client.settings.max_manifest_bytes)
    if not isinstance(parsed, ImageManifest | ImageIndex) or parsed.subject is None:
        raise ManifestError("a referrer must be a manifest with a subject", hint="set the subject descriptor")
    pushed = client.put_manifest(repository, manifest, media_type)
    subject = parsed.subject.digest
    if pushed.subject == subject:
        return pushed  # the registry indexes referrers itself (OCI 1.1)
    entry = Descriptor(
        media_type=media_type,
        digest=pushed.digest,
        size=pushed.size,
        artifact_type=parsed.effective_artifact_type,
        annotations=parsed.annotations,
    )
    _add_to_fallback_index(client, repository, subject, entry, sleep=sleep)
    return pushed


def _add_to_fallback_index(
    client: RegistryClient, repository: str, subject: str, entry: Descriptor, *, sleep: Callable[[float], None]
) -> None:
    """Read-merge-push the ``sha256-<hex>`` index until a re-read shows ``entry`` (module docstring, step 3)."""
    tag = fallback_tag(subject)
    for attempt in range(TAG_SCHEMA_ATTEMPTS + 1):
        index = _fallback_index(client, repository, subject)
        existing = list(index.manifests) if index is not None else []
        if any(d.digest == entry.digest for d in existing):
            return  # there already, or our push survived every writer that raced it
        if attempt == TAG_SCHEMA_ATTEMPTS:
            break
        if attempt:
            log.info(
                "referrers tag lost our entry to a concurrent writer; merging again",
                extra={"event": "oci.referrers.tag_schema_race", "repository": repository, "subject": subject},
            )
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [d.to_json() for d in [*existing, entry]],
        }
        client.push_manifest(repository, json.dumps(document).encode(), mt.OCI_INDEX, tag=tag)
        log.debug(
            "referrers tag updated",
            extra={"event": "oci.referrers.tag_schema", "repository": repository, "subject": subject},
        )
        # Let writers that read before our push land theirs, then check. Jitter keeps retrying writers apart;
        # it is not security-relevant randomness.
        sleep(TAG_SCHEMA_SETTLE_S * (2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311
    raise RegistryError(
        f"{entry.digest} was pushed to {repository}, but concurrent writers kept replacing the referrers tag "
        f"{tag} without it ({TAG_SCHEMA_ATTEMPTS} attempts)",
        hint="re-run the command once the other writers are done; the registry has no referrers API, "
        "so the tag schema's index is last-writer-wins",
    )


def attach_artifact(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    artifact_type: str,
    blobs: Sequence[tuple[str, bytes]],
    *,
    annotations: Mapping[str, str] | None = None,
    layer_annotations: Sequence[Mapping[str, str]] = (),
) -> Descriptor:
    """Push an OCI 1.1 artifact (empty config, ``blobs`` as layers) that refers to ``subject``.

    ``blobs`` are (media type, content) pairs: a signature envelope, an SBOM document.
    ``layer_annotations`` (optional, one per blob) go on the layer descriptors: cosign keeps its
    signature there.
    """
    empty = Descriptor(media_type=mt.OCI_EMPTY, digest=str(compute_digest(EMPTY_CONFIG)), size=len(EMPTY_CONFIG))
    client.push_blob(repository, empty.digest, empty.size, EMPTY_CONFIG)
    layers = []
    if layer_annotations and len(layer_annotations) != len(blobs):
        raise ValueError("layer_annotations needs one mapping per blob")
    for position, (media_type, content) in enumerate(blobs):
        digest = str(compute_digest(content))
        client.push_blob(repository, digest, len(content), content)
        layer: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(content)}
        if layer_annotations and layer_annotations[position]:
            layer["annotations"] = dict(layer_annotations[position])
        layers.append(layer)
    if not layers:  # the image spec wants at least one layer; use the empty descriptor as ORAS does
        layers.append(empty.to_json())
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty.to_json(),
        "layers": layers,
        "subject": Descriptor(media_type=subject.media_type, digest=subject.digest, size=subject.size).to_json(),
    }
    if annotations:
        document["annotations"] = dict(annotations)
    pushed = push_referrer(client, repository, json.dumps(document).encode(), mt.OCI_MANIFEST)
    return Descriptor(
        media_type=mt.OCI_MANIFEST,
        digest=pushed.digest,
        size=pushed.size,
        artifact_type=artifact_type,
        annotations=dict(annotations or {}),
    )
