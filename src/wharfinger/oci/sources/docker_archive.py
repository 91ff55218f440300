"""``docker-archive:FILE[:NAME[:TAG]|@N]``: what ``docker save`` and ``skopeo copy … docker-archive:`` write.

Two layouts exist. The legacy one has ``manifest.json`` (a list of ``{Config, RepoTags, Layers}``),
the config as ``<hex>.json`` and each layer as an uncompressed ``<id>/layer.tar``; identical layers
are often symlinks to each other. Docker 25 and later write an OCI image layout (``oci-layout``,
``index.json``, ``blobs/``) plus the same ``manifest.json`` for old readers; when the OCI layout
is there it is read instead, because its manifests are the real ones with real digests.

The legacy form has no manifest, so one is built (Docker schema 2) the way skopeo does: the
layer digests are the config's ``diff_ids`` (an uncompressed layer's digest is its diff ID),
and every read is verified against them.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import replace
from typing import Any, BinaryIO, Final

from wharfinger.errors import DigestMismatchError, InvalidReferenceError, LayoutError, PlatformNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import open_verified, parse_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest, Manifest, parse_config, parse_manifest
from wharfinger.oci.platform import Platform
from wharfinger.oci.reference import ImageRef, parse_ref
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources.archive import TarFiles
from wharfinger.oci.sources.base import ResolvedImage, read_manifest, verifier_for
from wharfinger.oci.sources.files import BlobLocation
from wharfinger.oci.sources.layout import CONTAINERD_NAME, OciLayoutSource

__all__ = ["DOCKER_LAYER_TAR", "DockerArchiveSource"]

DOCKER_LAYER_TAR: Final = "application/vnd.docker.image.rootfs.diff.tar"  # uncompressed layer, as docker saves it
_BLOB_PATH_RE: Final = re.compile(r"blobs/(sha256|sha512)/([a-f0-9]+)")


class DockerArchiveSource:
    def __init__(
        self, files: TarFiles, *, settings: Settings, selector: str | None = None, description: str | None = None
    ) -> None:
        self.files = files
        self.settings = settings
        self.selector = selector  # "name:tag" (RepoTags) or "@N" (position in manifest.json)
        self.description = description or f"docker-archive:{files.description}"
        self._blobs: dict[str, str] = {}  # digest -> member name, for the legacy form
        self._manifests: dict[str, bytes] = {}  # digest -> synthesised manifest bytes

    # -- entry selection -------------------------------------------------------------------

    def _entries(self) -> list[dict[str, Any]]:
        data = self.files.read("manifest.json", max_bytes=self.settings.max_archive_manifest_bytes)
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LayoutError(f"manifest.json in {self.files.description} is not JSON", hint=_SAVE_HINT) from exc
        if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
            raise LayoutError(f"manifest.json in {self.files.description} is not a list of images", hint=_SAVE_HINT)
        if not doc:
            raise LayoutError(f"{self.files.description} holds no images", hint=_SAVE_HINT)
        return doc

    def _choose(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        names = [t for e in entries for t in _repo_tags(e)]
        if self.selector is None:
            if len(entries) == 1:
                return entries[0]
            raise LayoutError(
                f"{self.files.description} holds {len(entries)} images; say which one",
                hint="name it: docker-archive:FILE:NAME:TAG or docker-archive:FILE@N; names: "
                + (", ".join(names[:20]) or "none"),
            )
        if self.selector.startswith("@"):
            position = self.selector[1:]
            if not position.isdigit() or int(position) >= len(entries):
                raise LayoutError(
                    f"no image {self.selector} in {self.files.description} ({len(entries)} images, counted from @0)",
                    hint="use @0 … @N-1",
                )
            return entries[int(position)]
        wanted = _parse_name(self.selector)
        for entry in entries:
            if any(_parse_name(t) == wanted for t in _repo_tags(entry)):
                return entry
        raise LayoutError(
            f"no image named {self.selector!r} in {self.files.description}",
            hint="names in the archive: " + (", ".join(names[:20]) or "none (use @N)"),
        )

    def _oci_view(self) -> OciLayoutSource | None:
        """Docker 25+ archives carry an OCI layout: read that instead of the legacy files."""
        if not (self.files.exists("oci-layout") and self.files.exists("index.json")):
            return None
        layout = OciLayoutSource(self.files, settings=self.settings, description=self.description)
        if self.selector is None:
            return layout
        entries = self._entries()
        entry = self._choose(entries)
        config_name = entry.get("Config")
        wanted = self.selector
        for descriptor in layout.index().manifests:
            name = descriptor.annotations.get(CONTAINERD_NAME)
            if name is not None and not wanted.startswith("@") and _parse_name(name) == _parse_name(wanted):
                layout.digest = descriptor.digest
                return layout
        # fall back to matching by config: find the index entry whose manifest has this config
        if isinstance(config_name, str) and (match := _BLOB_PATH_RE.fullmatch(config_name)):
            config_digest = f"{match.group(1)}:{match.group(2)}"
            for descriptor in layout.index().manifests:
                manifest = layout.read_manifest(descriptor)
                if isinstance(manifest, ImageManifest) and manifest.config.digest == config_digest:
                    layout.digest = descriptor.digest
                    return layout
        return layout

    # -- ImageSource -----------------------------------------------------------------------

    def resolve(self, platform: Platform | None = None) -> ResolvedImage:
        oci = self._oci_view()
        if oci is not None:
            resolved = oci.resolve(platform)
            return _with_ref(resolved, self._ref_for(resolved.config_descriptor.digest))
        entry = self._choose(self._entries())
        config_name = entry.get("Config")
        layers = entry.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layers, list):
            raise LayoutError(f"manifest.json in {self.files.description} lacks Config or Layers", hint=_SAVE_HINT)
        config_bytes = self.files.read(config_name, max_bytes=self.settings.max_config_bytes)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        self._check_named_digest(config_name, config_digest)
        config = parse_config(config_bytes, max_bytes=self.settings.max_config_bytes)
        if platform is not None and not config.platform.matches(platform):
            raise PlatformNotFoundError(
                f"the image in {self.files.description} is {config.platform}, not {platform}",
                hint=f"drop --platform or ask for {config.platform}",
            )
        if len(layers) != len(config.diff_ids):
            raise LayoutError(
                f"manifest.json lists {len(layers)} layers but the config has {len(config.diff_ids)} diff_ids",
                hint=_SAVE_HINT,
            )
        self._blobs[config_digest] = config_name
        layer_descriptors = tuple(
            self._layer_descriptor(name, diff_id) for name, diff_id in zip(layers, config.diff_ids, strict=True)
        )
        manifest_doc = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST_V2,
            "config": {"mediaType": mt.DOCKER_CONFIG, "size": len(config_bytes), "digest": config_digest},
            "layers": [d.to_json() for d in layer_descriptors],
        }
        raw = json.dumps(manifest_doc, separators=(",", ":")).encode()
        manifest = parse_manifest(raw, mt.DOCKER_MANIFEST_V2, max_bytes=self.settings.max_manifest_bytes)
        assert isinstance(manifest, ImageManifest)  # noqa: S101  # we just built it as one
        self._manifests[manifest.digest] = raw
        top = Descriptor(media_type=mt.DOCKER_MANIFEST_V2, digest=manifest.digest, size=len(raw))
        return ResolvedImage(
            source=self.description,
            ref=_first_ref(entry),
            top=top,
            index=None,
            manifest=manifest,
            manifest_descriptor=top,
            config=config,
            platform=None,
        )

    def _layer_descriptor(self, name: Any, diff_id: str) -> Descriptor:
        if not isinstance(name, str):
            raise LayoutError(f"a layer name in manifest.json is not a string: {name!r}", hint=_SAVE_HINT)
        stream, size = self.files.open(name)
        with stream:
            gzipped = stream.read(2) == b"\x1f\x8b"
        match = _BLOB_PATH_RE.fullmatch(name)
        if match is not None:
            digest = f"{match.group(1)}:{match.group(2)}"
        elif gzipped:  # a compressed layer's digest is not its diff ID: hash it once
            hasher = hashlib.sha256()
            stream, _ = self.files.open(name)
            with stream:
                while chunk := stream.read(1 << 20):
                    hasher.update(chunk)
            digest = "sha256:" + hasher.hexdigest()
        else:
            parse_digest(diff_id)
            digest = diff_id
        self._blobs[digest] = name
        return Descriptor(media_type=mt.DOCKER_LAYER_GZIP if gzipped else DOCKER_LAYER_TAR, digest=digest, size=size)

    def _check_named_digest(self, name: str, actual: str) -> None:
        match = _BLOB_PATH_RE.fullmatch(name) or re.fullmatch(r"([a-f0-9]{64})\.json", name)
        if match is None:
            return
        named = f"{match.group(1)}:{match.group(2)}" if match.re is _BLOB_PATH_RE else f"sha256:{match.group(1)}"
        if named != actual:
            raise DigestMismatchError(
                f"{name} in {self.files.description} hashes to {actual}",
                hint="the archive was altered or is corrupt; save the image again",
            )

    def _ref_for(self, config_digest: str) -> ImageRef | None:
        try:
            entries = self._entries()
        except LayoutError:
            return None
        for entry in entries:
            config_name = entry.get("Config")
            if isinstance(config_name, str) and config_name.endswith(config_digest.split(":", 1)[1]):
                return _first_ref(entry)
        return None

    def _member_name(self, digest: str) -> str:
        name = self._blobs.get(digest)
        if name is None:
            parsed = parse_digest(digest)
            name = f"blobs/{parsed.algorithm}/{parsed.hex}"
        return name

    def locate_blob(self, descriptor: Descriptor) -> BlobLocation | None:
        if descriptor.digest in self._manifests:
            return None  # synthesised, in memory
        location = self.files.locate(self._member_name(descriptor.digest))
        return location if location.size == descriptor.size else None

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        name = self._member_name(descriptor.digest)
        if descriptor.digest in self._manifests:
            return io.BytesIO(self._manifests[descriptor.digest])
        stream, size = self.files.open(name)
        if size != descriptor.size:
            stream.close()
            raise DigestMismatchError(
                f"{name} in {self.files.description} has {size} bytes, its descriptor says {descriptor.size}",
                hint="the archive was altered or is corrupt; save the image again",
            )
        return open_verified(stream, verifier_for(descriptor))

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        return read_manifest(self, descriptor)

    def referrers(self, digest: str, artifact_type: str | None = None) -> tuple[Descriptor, ...]:
        oci = self._oci_view()
        return oci.referrers(digest, artifact_type) if oci is not None else ()

    def close(self) -> None:
        self.files.close()


_SAVE_HINT: Final = "the archive is not `docker save` output or is corrupt; save the image again"


def _repo_tags(entry: dict[str, Any]) -> list[str]:
    tags = entry.get("RepoTags") or []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _parse_name(text: str) -> ImageRef | str:
    try:
        return parse_ref(text)
    except InvalidReferenceError:
        return text


def _first_ref(entry: dict[str, Any]) -> ImageRef | None:
    for tag in _repo_tags(entry):
        parsed = _parse_name(tag)
        if isinstance(parsed, ImageRef):
            return parsed
    return None


def _with_ref(resolved: ResolvedImage, ref: ImageRef | None) -> ResolvedImage:
    return resolved if ref is None else replace(resolved, ref=ref)
