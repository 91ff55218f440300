"""``oci:DIR[:TAG|@DIGEST]`` and ``oci-archive:FILE[:TAG|@DIGEST]``: the OCI image layout.

A layout is ``oci-layout`` (the version marker), ``index.json`` (the entry points, tagged with
``org.opencontainers.image.ref.name``) and ``blobs/<algorithm>/<hex>``. Blobs are addressed only
through validated digests, so a name from the layout never becomes a path by itself.
"""

from __future__ import annotations

import json
import logging
from types import MappingProxyType
from typing import BinaryIO, Final

from wharfinger.errors import DigestMismatchError, InvalidDigestError, InvalidReferenceError, LayoutError, ManifestError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import open_verified, parse_digest
from wharfinger.oci.manifest import Descriptor, ImageIndex, ImageManifest, Manifest, parse_manifest
from wharfinger.oci.platform import Platform
from wharfinger.oci.reference import ImageRef, parse_ref
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources.base import ResolvedImage, read_manifest, resolve_descriptor, verifier_for
from wharfinger.oci.sources.files import BlobLocation, ImageFiles

__all__ = ["REF_NAME", "OciLayoutSource", "blob_name"]

log = logging.getLogger(__name__)

REF_NAME: Final = "org.opencontainers.image.ref.name"
CONTAINERD_NAME: Final = "io.containerd.image.name"  # docker save (25+) writes the full name here
_COSIGN_SUFFIXES: Final = {".sig": "signature", ".att": "attestation", ".sbom": "sbom"}


def blob_name(digest: str) -> str:
    parsed = parse_digest(digest)
    return f"blobs/{parsed.algorithm}/{parsed.hex}"


class OciLayoutSource:
    """An OCI image layout in a directory or a tar archive (``files`` decides which)."""

    def __init__(
        self,
        files: ImageFiles,
        *,
        settings: Settings,
        tag: str | None = None,
        digest: str | None = None,
        description: str | None = None,
        ref: ImageRef | None = None,
    ) -> None:
        self.files = files
        self.settings = settings
        self.tag = tag
        self.digest = digest
        self.ref = ref
        self.description = description or f"oci:{files.description}"
        self._index: ImageIndex | None = None

    # -- layout structure ------------------------------------------------------------------

    def check_layout(self) -> None:
        try:
            marker = json.loads(self.files.read("oci-layout", max_bytes=self.settings.max_archive_manifest_bytes))
        except LayoutError as exc:
            raise LayoutError(
                f"{self.files.description} is not an OCI image layout: {exc.message}",
                hint="an OCI layout has an oci-layout file, index.json and blobs/; make one with "
                "`skopeo copy … oci:DIR:TAG`",
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LayoutError(
                f"oci-layout in {self.files.description} is not JSON", hint="the layout is corrupt"
            ) from exc
        version = marker.get("imageLayoutVersion") if isinstance(marker, dict) else None
        if not isinstance(version, str) or not version.startswith("1."):
            raise LayoutError(
                f"unsupported OCI layout version {version!r} in {self.files.description}",
                hint="only imageLayoutVersion 1.x is defined",
            )

    def index(self) -> ImageIndex:
        if self._index is None:
            self.check_layout()
            data = self.files.read("index.json", max_bytes=self.settings.max_manifest_bytes)
            try:
                parsed = parse_manifest(data, mt.OCI_INDEX, max_bytes=self.settings.max_manifest_bytes)
            except ManifestError as exc:
                raise LayoutError(f"index.json in {self.files.description}: {exc.message}", hint=exc.hint) from exc
            assert isinstance(parsed, ImageIndex)  # noqa: S101  # parse_manifest honours the declared type
            self._index = parsed
        return self._index

    def tags(self) -> tuple[str, ...]:
        return tuple(d.annotations[REF_NAME] for d in self.index().manifests if REF_NAME in d.annotations)

    def top_descriptor(self) -> Descriptor:
        entries = self.index().manifests
        if self.digest is not None:
            return self._by_digest(self.digest)
        if self.tag is not None:
            matches = [d for d in entries if d.annotations.get(REF_NAME) == self.tag]
            if not matches:
                matches = [d for d in entries if _containerd_name_matches(d, self.tag)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1 and len({d.digest for d in matches}) == 1:
                return matches[0]
            if matches:
                raise LayoutError(
                    f"tag {self.tag!r} names {len(matches)} different manifests in {self.files.description}",
                    hint="the layout is ambiguous; name the image by digest: oci:DIR@sha256:…",
                )
            raise LayoutError(
                f"no image tagged {self.tag!r} in {self.files.description}",
                hint=_tags_hint(self.tags()),
            )
        named = [d for d in entries if REF_NAME in d.annotations or CONTAINERD_NAME in d.annotations]
        if len({d.digest for d in named}) == 1:
            return named[0]
        if not named:
            candidates = [d for d in entries if not self._is_referrer(d)]
            if len(candidates) == 1:
                return candidates[0]
        if not entries:
            raise LayoutError(f"{self.files.description} holds no images (index.json is empty)", hint=_MISSING)
        raise LayoutError(
            f"{self.files.description} holds {len(entries)} images; say which one",
            hint=_tags_hint(self.tags()),
        )

    def _by_digest(self, digest: str) -> Descriptor:
        try:
            parse_digest(digest)
        except InvalidDigestError as exc:
            raise LayoutError(exc.message, hint=exc.hint) from exc
        for descriptor in self.index().manifests:
            if descriptor.digest == digest:
                return descriptor
        name = blob_name(digest)
        if not self.files.exists(name):
            raise LayoutError(f"no manifest {digest} in {self.files.description}", hint=_tags_hint(self.tags()))
        data = self.files.read(name, max_bytes=self.settings.max_manifest_bytes)
        manifest = parse_manifest(data, None, max_bytes=self.settings.max_manifest_bytes, expected_digest=digest)
        return Descriptor(media_type=manifest.media_type, digest=digest, size=len(data))

    def _is_referrer(self, descriptor: Descriptor) -> bool:
        if descriptor.media_type not in mt.MANIFEST_TYPES and descriptor.media_type not in mt.INDEX_TYPES:
            return False
        try:
            return self.read_manifest(descriptor).subject is not None
        except LayoutError:
            return False

    # -- ImageSource -----------------------------------------------------------------------

    def resolve(self, platform: Platform | None = None) -> ResolvedImage:
        top = self.top_descriptor()
        return resolve_descriptor(self, top, platform=platform, source=self.description, ref=self.ref)

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        stream, size = self.files.open(blob_name(descriptor.digest))
        if size != descriptor.size:
            stream.close()
            raise DigestMismatchError(
                f"blob {descriptor.digest} in {self.files.description} has {size} bytes, its descriptor says "
                f"{descriptor.size}",
                hint="the layout is corrupt or was altered; copy the image again",
            )
        return open_verified(stream, verifier_for(descriptor))

    def locate_blob(self, descriptor: Descriptor) -> BlobLocation | None:
        location = self.files.locate(blob_name(descriptor.digest))
        return location if location.size == descriptor.size else None

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        return read_manifest(self, descriptor)

    def referrers(self, digest: str, artifact_type: str | None = None) -> tuple[Descriptor, ...]:
        found: dict[str, Descriptor] = {}
        fallback_tag = digest.replace(":", "-", 1)
        for entry, manifest, tag in self._walk():
            if manifest.subject is not None and manifest.subject.digest == digest:
                found.setdefault(entry.digest, _as_referrer(entry, manifest))
            if tag == fallback_tag and isinstance(manifest, ImageIndex):
                for child in manifest.manifests:  # the referrers tag schema: an index of referrers
                    found.setdefault(child.digest, child)
            suffix = tag[len(fallback_tag) :] if tag and tag.startswith(fallback_tag) else ""
            if suffix in _COSIGN_SUFFIXES and isinstance(manifest, ImageManifest):
                found.setdefault(entry.digest, _as_cosign_referrer(entry, manifest, _COSIGN_SUFFIXES[suffix]))
            if len(found) >= self.settings.max_referrers:
                break
        referrers = tuple(found.values())
        if artifact_type is not None:
            referrers = tuple(r for r in referrers if r.artifact_type == artifact_type)
        return referrers

    def _walk(self) -> list[tuple[Descriptor, Manifest, str | None]]:
        """Every manifest reachable from index.json, with the tag of its top entry (bounded)."""
        out: list[tuple[Descriptor, Manifest, str | None]] = []
        seen: set[str] = set()
        stack: list[tuple[Descriptor, str | None, int]] = [
            (d, d.annotations.get(REF_NAME), 0) for d in self.index().manifests
        ]
        while stack:
            descriptor, tag, depth = stack.pop()
            if descriptor.digest in seen or depth > self.settings.max_index_depth:
                continue
            if descriptor.media_type not in mt.MANIFEST_TYPES and descriptor.media_type not in mt.INDEX_TYPES:
                continue
            seen.add(descriptor.digest)
            try:
                manifest = self.read_manifest(descriptor)
            except LayoutError as exc:  # a referrer missing from a partial copy is not fatal for listing
                log.debug("skipping unreadable manifest", extra={"digest": descriptor.digest, "error": exc.message})
                continue
            out.append((descriptor, manifest, tag))
            if isinstance(manifest, ImageIndex):
                stack.extend((child, None, depth + 1) for child in manifest.manifests)
        return out

    def close(self) -> None:
        self.files.close()


def _as_referrer(entry: Descriptor, manifest: Manifest) -> Descriptor:
    return Descriptor(
        media_type=manifest.media_type,
        digest=entry.digest,
        size=entry.size,
        artifact_type=manifest.effective_artifact_type,
        annotations=MappingProxyType(dict(manifest.annotations)),
    )


def _as_cosign_referrer(entry: Descriptor, manifest: ImageManifest, kind: str) -> Descriptor:
    # cosign's tag-based artifacts use an image config; the layer type says what they hold
    artifact_type = manifest.layers[0].media_type if manifest.layers else manifest.effective_artifact_type
    return Descriptor(
        media_type=manifest.media_type,
        digest=entry.digest,
        size=entry.size,
        artifact_type=artifact_type,
        annotations=MappingProxyType({**manifest.annotations, "dev.wharfinger.cosign.kind": kind}),
    )


def _containerd_name_matches(descriptor: Descriptor, wanted: str) -> bool:
    name = descriptor.annotations.get(CONTAINERD_NAME)
    if name is None:
        return False
    try:
        return parse_ref(name) == parse_ref(wanted)
    except InvalidReferenceError:
        return name == wanted


_MISSING: Final = "copy an image into it, e.g. `skopeo copy docker://alpine oci:DIR:latest`"


def _tags_hint(tags: tuple[str, ...]) -> str:
    if not tags:
        return "the layout has no tagged images; name one by digest: oci:DIR@sha256:…"
    return "tags in this layout: " + ", ".join(sorted(set(tags))[:20]) + " (use oci:DIR:TAG)"
