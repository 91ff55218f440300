"""Manifests, indexes, descriptors and image configs: bytes in, frozen dataclasses out.

``parse_manifest`` accepts what the OCI image spec v1.1 and Docker's schema 2 define: OCI image
manifests (including artifacts with ``artifactType`` and ``subject``), OCI indexes, Docker
manifests and manifest lists, and the short-lived OCI artifact manifest. It refuses schema 1,
oversized documents, and documents whose declared media type (``Content-Type`` or the file it
came from) disagrees with their ``mediaType`` field or their shape: such ambiguity is how a
registry could make two clients see two different images under one digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from wharfinger.errors import InvalidDigestError, ManifestError, PlatformNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import DigestVerifier, parse_digest, sha256_digest
from wharfinger.oci.platform import Platform

__all__ = [
    "DEFAULT_MAX_CONFIG_BYTES",
    "DEFAULT_MAX_MANIFEST_BYTES",
    "ArtifactManifest",
    "Descriptor",
    "ImageConfig",
    "ImageIndex",
    "ImageManifest",
    "Manifest",
    "Platform",
    "parse_config",
    "parse_descriptor",
    "parse_manifest",
    "select_platform",
]

DEFAULT_MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024  # bytes; what distribution itself accepts
DEFAULT_MAX_CONFIG_BYTES: Final = 8 * 1024 * 1024  # bytes; configs carry history, can be larger
_EMPTY: Mapping[str, str] = MappingProxyType({})


def _no_annotations() -> Mapping[str, str]:
    return _EMPTY


# RFC 6838 type/subtype, with an optional +suffix; parameters are not allowed inside a manifest
_MEDIA_TYPE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
# Content-Types that say nothing about which manifest this is (some registries and blob stores)
_GENERIC_CONTENT_TYPES: Final = frozenset(
    {"", "application/json", "text/plain", "application/octet-stream", "binary/octet-stream"}
)
_SCHEMA1_HINT: Final = (
    "Docker schema 1 manifests are deprecated and unsupported; convert the image with "
    "`skopeo copy --format v2s2 …` or push it again with a current docker/buildkit"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Descriptor:
    """A pointer to content: media type, digest and size (OCI image spec, descriptor.md)."""

    media_type: str
    digest: str
    size: int  # bytes
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=_no_annotations, hash=False)
    platform: Platform | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform is not None:
            plat: dict[str, Any] = {"os": self.platform.os, "architecture": self.platform.architecture}
            if self.platform.variant:
                plat["variant"] = self.platform.variant
            if self.platform.os_version:
                plat["os.version"] = self.platform.os_version
            if self.platform.os_features:
                plat["os.features"] = list(self.platform.os_features)
            out["platform"] = plat
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageManifest:
    """An OCI image manifest or Docker schema 2 manifest (an OCI 1.1 artifact is one too)."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None  # the field as written; see `effective_artifact_type`
    annotations: Mapping[str, str] = field(default_factory=_no_annotations, hash=False)
    digest: str  # sha256 of `raw`
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def is_image(self) -> bool:
        """A runnable image (its config is an image config), not an artifact such as a signature."""
        return self.artifact_type is None and self.config.media_type in (mt.OCI_CONFIG, mt.DOCKER_CONFIG)

    @property
    def effective_artifact_type(self) -> str:
        """``artifactType``, else the config's media type: what the referrers API reports."""
        return self.artifact_type or self.config.media_type


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactManifest:
    """The OCI 1.1-rc artifact manifest (``blobs`` instead of config and layers); read-only legacy."""

    media_type: str
    artifact_type: str
    blobs: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    annotations: Mapping[str, str] = field(default_factory=_no_annotations, hash=False)
    digest: str
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def effective_artifact_type(self) -> str:
        return self.artifact_type


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageIndex:
    """An OCI image index or Docker manifest list."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=_no_annotations, hash=False)
    digest: str
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def effective_artifact_type(self) -> str:
        return self.artifact_type or self.media_type

    def runnable(self) -> tuple[Descriptor, ...]:
        """Entries with a platform, in index order, BuildKit's attestation entries left out."""
        return tuple(d for d in self.manifests if d.platform is not None and not _is_attestation(d))

    def platforms(self) -> tuple[Platform, ...]:
        """Platforms of the runnable entries, in index order."""
        return tuple(d.platform for d in self.runnable() if d.platform is not None)


Manifest = ImageManifest | ImageIndex | ArtifactManifest


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageConfig:
    """The parts of an image config a human or a policy looks at."""

    os: str
    architecture: str
    variant: str | None = None
    created: datetime | None = None
    author: str | None = None
    user: str | None = None
    working_dir: str | None = None
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=_no_annotations, hash=False)
    exposed_ports: tuple[str, ...] = ()
    diff_ids: tuple[str, ...] = ()
    history_count: int = 0

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant)


# ---------------------------------------------------------------------------------------------
# parsing


def parse_manifest(
    data: bytes,
    media_type: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_MANIFEST_BYTES,
    expected_digest: str | None = None,
) -> Manifest:
    """Parse manifest bytes; ``media_type`` is what the transport declared (``Content-Type``).

    With ``expected_digest`` the bytes are checked against it first (``DigestMismatchError``).
    """
    if len(data) > max_bytes:
        raise ManifestError(
            f"manifest is {len(data)} bytes, larger than the {max_bytes}-byte limit",
            hint="a real manifest is a few KiB; raise max_manifest_bytes only if you trust the source",
        )
    if expected_digest is not None:
        verifier = DigestVerifier(expected_digest, expected_size=len(data), what="manifest")
        verifier.update(data)
        verifier.verify()
    declared = _normalise_content_type(media_type)
    if declared in mt.SCHEMA1_TYPES:
        raise ManifestError(f"refusing a Docker schema 1 manifest ({declared})", hint=_SCHEMA1_HINT)
    doc = _load_json_object(data, "manifest")

    schema_version = doc.get("schemaVersion")
    field_type = doc.get("mediaType")
    if field_type is not None and not isinstance(field_type, str):
        raise ManifestError("manifest mediaType is not a string", hint="the manifest is malformed")
    if schema_version == 1 or "fsLayers" in doc or field_type in mt.SCHEMA1_TYPES:
        raise ManifestError("refusing a Docker schema 1 manifest", hint=_SCHEMA1_HINT)

    if declared and field_type and declared != field_type:
        raise ManifestError(
            f"the manifest was served as {declared} but its mediaType field says {field_type}",
            hint="the registry or layout is inconsistent; such a manifest could be read two ways, so it is refused",
        )
    effective = declared or field_type or _sniff(doc)
    if effective is None:
        raise ManifestError(
            "cannot tell which kind of manifest this is: no media type and no mediaType field",
            hint="expected an OCI image manifest or index, or a Docker schema 2 manifest or list",
        )
    if effective == mt.OCI_ARTIFACT_MANIFEST:
        return _artifact_manifest(doc, effective, data)
    if schema_version != 2:  # noqa: PLR2004
        raise ManifestError(
            f"unsupported manifest schemaVersion {schema_version!r}", hint="only schemaVersion 2 is defined"
        )
    if effective in mt.INDEX_TYPES:
        if "config" in doc or "layers" in doc:
            raise ManifestError(
                f"manifest declared as index ({effective}) has config/layers fields",
                hint="the document is ambiguous between an index and a manifest and is refused",
            )
        return _index(doc, effective, data)
    if effective in (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_V2):
        if "manifests" in doc:
            raise ManifestError(
                f"manifest declared as image manifest ({effective}) has a manifests field",
                hint="the document is ambiguous between an index and a manifest and is refused",
            )
        return _image_manifest(doc, effective, data)
    raise ManifestError(
        f"unsupported manifest media type {effective!r}",
        hint="expected an OCI image manifest or index, or a Docker schema 2 manifest or list",
    )


def _normalise_content_type(media_type: str | None) -> str | None:
    if media_type is None:
        return None
    value = media_type.split(";", 1)[0].strip().lower()
    return None if value in _GENERIC_CONTENT_TYPES else value


def _sniff(doc: Mapping[str, Any]) -> str | None:
    if "manifests" in doc and "layers" not in doc and "config" not in doc:
        return mt.OCI_INDEX
    if "config" in doc and "manifests" not in doc:
        return mt.OCI_MANIFEST
    return None


def _load_json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{what} is not UTF-8 text", hint=f"the {what} is corrupt or not JSON") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{what} is not valid JSON: {exc.msg} at byte {exc.pos}", hint="it is corrupt") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{what} is JSON but not an object", hint=f"the {what} is corrupt")
    return doc


def _image_manifest(doc: Mapping[str, Any], media_type: str, raw: bytes) -> ImageManifest:
    if "config" not in doc:
        raise ManifestError("image manifest has no config descriptor", hint="the manifest is malformed")
    layers = doc.get("layers", [])
    if not isinstance(layers, list):
        raise ManifestError("manifest layers is not a list", hint="the manifest is malformed")
    artifact_type = _optional_str(doc, "artifactType", "manifest")
    if artifact_type is not None:
        _check_media_type(artifact_type, "manifest artifactType")
    return ImageManifest(
        media_type=media_type,
        config=parse_descriptor(doc["config"], where="config"),
        layers=tuple(parse_descriptor(layer, where=f"layers[{i}]") for i, layer in enumerate(layers)),
        subject=parse_descriptor(doc["subject"], where="subject") if doc.get("subject") is not None else None,
        artifact_type=artifact_type,
        annotations=_annotations(doc.get("annotations"), "manifest"),
        digest=sha256_digest(raw),
        raw=raw,
    )


def _index(doc: Mapping[str, Any], media_type: str, raw: bytes) -> ImageIndex:
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise ManifestError("index has no manifests list", hint="the index is malformed")
    artifact_type = _optional_str(doc, "artifactType", "index")
    return ImageIndex(
        media_type=media_type,
        manifests=tuple(parse_descriptor(m, where=f"manifests[{i}]") for i, m in enumerate(manifests)),
        subject=parse_descriptor(doc["subject"], where="subject") if doc.get("subject") is not None else None,
        artifact_type=artifact_type,
        annotations=_annotations(doc.get("annotations"), "index"),
        digest=sha256_digest(raw),
        raw=raw,
    )


def _artifact_manifest(doc: Mapping[str, Any], media_type: str, raw: bytes) -> ArtifactManifest:
    artifact_type = _optional_str(doc, "artifactType", "artifact manifest")
    if artifact_type is None:
        raise ManifestError("artifact manifest has no artifactType", hint="the manifest is malformed")
    blobs = doc.get("blobs", [])
    if not isinstance(blobs, list):
        raise ManifestError("artifact manifest blobs is not a list", hint="the manifest is malformed")
    return ArtifactManifest(
        media_type=media_type,
        artifact_type=artifact_type,
        blobs=tuple(parse_descriptor(b, where=f"blobs[{i}]") for i, b in enumerate(blobs)),
        subject=parse_descriptor(doc["subject"], where="subject") if doc.get("subject") is not None else None,
        annotations=_annotations(doc.get("annotations"), "artifact manifest"),
        digest=sha256_digest(raw),
        raw=raw,
    )


def parse_descriptor(value: Any, *, where: str = "descriptor") -> Descriptor:
    """Parse one descriptor object (strictly: types, digest form, non-negative size)."""
    if not isinstance(value, dict):
        raise ManifestError(f"{where} is not an object", hint="the manifest is malformed")
    media_type = value.get("mediaType")
    if not isinstance(media_type, str):
        raise ManifestError(f"{where} has no mediaType", hint="every descriptor needs mediaType, digest and size")
    _check_media_type(media_type, f"{where}.mediaType")
    digest = value.get("digest")
    if not isinstance(digest, str):
        raise ManifestError(f"{where} has no digest", hint="every descriptor needs mediaType, digest and size")
    try:
        parse_digest(digest)
    except InvalidDigestError as exc:
        raise ManifestError(f"{where}: {exc.message}", hint=exc.hint) from exc
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where} has no valid size (got {size!r})", hint="size is a non-negative integer")
    urls = value.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestError(f"{where}.urls is not a list of strings", hint="the manifest is malformed")
    artifact_type = _optional_str(value, "artifactType", where)
    platform_doc = value.get("platform")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        urls=tuple(urls),
        annotations=_annotations(value.get("annotations"), where),
        platform=_platform(platform_doc, where) if platform_doc is not None else None,
        artifact_type=artifact_type,
    )


def _platform(value: Any, where: str) -> Platform:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}.platform is not an object", hint="the index is malformed")
    os_name, arch = value.get("os"), value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        raise ManifestError(f"{where}.platform needs os and architecture strings", hint="the index is malformed")
    variant = _optional_str(value, "variant", f"{where}.platform")
    os_version = _optional_str(value, "os.version", f"{where}.platform")
    features = value.get("os.features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ManifestError(f"{where}.platform os.features is not a list of strings", hint="malformed index")
    return Platform(
        os=os_name, architecture=arch, variant=variant or None, os_version=os_version, os_features=tuple(features)
    )


def _optional_str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError(f"{where}.{key} is not a string", hint="the document is malformed")
    return value


def _check_media_type(value: str, where: str) -> None:
    if not _MEDIA_TYPE_RE.fullmatch(value):
        raise ManifestError(f"{where} {value!r} is not a media type", hint="a media type looks like type/subtype")


def _annotations(value: Any, where: str) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ManifestError(f"{where} annotations must map strings to strings", hint="the document is malformed")
    return MappingProxyType(dict(value))


# ---------------------------------------------------------------------------------------------
# configs


def parse_config(data: bytes, *, max_bytes: int = DEFAULT_MAX_CONFIG_BYTES) -> ImageConfig:
    """Summarise an OCI/Docker image config (``application/vnd.oci.image.config.v1+json``)."""
    if len(data) > max_bytes:
        raise ManifestError(
            f"image config is {len(data)} bytes, larger than the {max_bytes}-byte limit",
            hint="raise max_config_bytes only if you trust the source",
        )
    doc = _load_json_object(data, "image config")
    os_name, arch = doc.get("os"), doc.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        raise ManifestError("image config has no os/architecture", hint="the config blob is malformed")
    run = doc.get("config")
    run = {} if run is None else run
    if not isinstance(run, dict):
        raise ManifestError("image config's config field is not an object", hint="the config blob is malformed")
    rootfs = doc.get("rootfs") or {}
    diff_ids = rootfs.get("diff_ids", []) if isinstance(rootfs, dict) else []
    history = doc.get("history", [])
    labels = run.get("Labels")
    ports = run.get("ExposedPorts")
    return ImageConfig(
        os=os_name,
        architecture=arch,
        variant=_optional_str(doc, "variant", "config") or None,
        created=_parse_time(doc.get("created")),
        author=_optional_str(doc, "author", "config"),
        user=_optional_str(run, "User", "config.config") or None,
        working_dir=_optional_str(run, "WorkingDir", "config.config") or None,
        entrypoint=_str_list(run.get("Entrypoint"), "Entrypoint"),
        cmd=_str_list(run.get("Cmd"), "Cmd"),
        env=_str_list(run.get("Env"), "Env"),
        labels=_annotations(labels, "config labels") if labels else _EMPTY,
        exposed_ports=tuple(sorted(ports)) if isinstance(ports, dict) else (),
        diff_ids=_str_list(diff_ids, "rootfs.diff_ids"),
        history_count=len(history) if isinstance(history, list) else 0,
    )


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # docker accepts a bare string for Cmd/Entrypoint in some old configs
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"image config {where} is not a list of strings", hint="the config blob is malformed")
    return tuple(value)


_RFC3339_RE: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)


def _parse_time(value: Any) -> datetime | None:
    """RFC 3339 with up to nanoseconds (Go writes 9 digits; Python keeps 6)."""
    if not isinstance(value, str):
        return None
    match = _RFC3339_RE.fullmatch(value.strip())
    if match is None:
        return None
    base, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]
    zone = "+00:00" if zone.upper() == "Z" else zone
    try:
        return datetime.fromisoformat(f"{base}{fraction}{zone}").astimezone(UTC)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# platform selection


def _is_attestation(descriptor: Descriptor) -> bool:
    """BuildKit puts provenance/SBOM attestations in the index as platform unknown/unknown."""
    if descriptor.annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    plat = descriptor.platform
    return plat is not None and plat.os == "unknown" and plat.architecture == "unknown"


def select_platform(index: ImageIndex, wanted: Platform) -> Descriptor:
    """The index entry for ``wanted`` (normalised), or ``PlatformNotFoundError`` listing what exists.

    An exact variant wins; for 32-bit ``arm`` a lower variant is accepted next (a v7 CPU runs
    v6 and v5 code), highest first, as containerd does.
    """
    target = wanted.normalized()
    candidates: list[tuple[int, Descriptor]] = []
    for descriptor in index.manifests:
        if descriptor.platform is None or _is_attestation(descriptor):
            continue
        plat = descriptor.platform.normalized()
        if (plat.os, plat.architecture) != (target.os, target.architecture):
            continue
        if plat.variant == target.variant:
            candidates.append((0, descriptor))
        elif target.architecture == "arm" and _variant_number(plat.variant) < _variant_number(target.variant):
            candidates.append((_variant_number(target.variant) - _variant_number(plat.variant), descriptor))
    if not candidates:
        available = ", ".join(str(p) for p in index.platforms()) or "none"
        raise PlatformNotFoundError(
            f"no image for platform {wanted} in index {index.digest}",
            hint=f"available platforms: {available}; choose one with --platform",
        )
    return min(candidates, key=lambda c: c[0])[1]


def _variant_number(variant: str | None) -> int:
    if variant and variant[0] == "v" and variant[1:].isdigit():
        return int(variant[1:])
    return 0
