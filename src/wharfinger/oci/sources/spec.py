"""Source strings → ``SourceSpec`` → an open ``ImageSource``.

Users arrive from syft, skopeo and trivy, so the spellings are theirs::

    alpine:3.20 · registry:alpine:3.20 · docker://alpine:3.20        a registry (the default)
    oci:DIR[:TAG|@DIGEST]                                            an OCI image layout directory
    oci-archive:FILE[:TAG|@DIGEST]                                   the same, as a tar
    docker-archive:FILE[:NAME:TAG|@N]                                `docker save` output
    dir:PATH · sbom:FILE                                             not images (inventory/scan read them)

The registry source lives in ``wharfinger.oci.registry_source`` and is imported only when a
registry is asked for, so local sources never load the HTTP stack.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final

from wharfinger.errors import InputError, InvalidDigestError, InvalidReferenceError
from wharfinger.oci.digest import parse_digest
from wharfinger.oci.reference import ImageRef, parse_ref
from wharfinger.oci.settings import Settings

if TYPE_CHECKING:
    from wharfinger.oci.cache import BlobCache
    from wharfinger.oci.sources.base import ImageSource

__all__ = ["REGISTRY_SOURCE_MODULE", "SourceKind", "SourceSpec", "open_source", "parse_source"]

REGISTRY_SOURCE_MODULE: Final = "wharfinger.oci.registry_source"


class SourceKind(StrEnum):
    REGISTRY = "registry"
    OCI = "oci"
    OCI_ARCHIVE = "oci-archive"
    DOCKER_ARCHIVE = "docker-archive"
    DIR = "dir"
    SBOM = "sbom"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    kind: SourceKind
    text: str  # as the user wrote it
    ref: ImageRef | None = None  # REGISTRY
    path: Path | None = None  # every other kind
    tag: str | None = None  # OCI, OCI_ARCHIVE
    digest: str | None = None  # OCI, OCI_ARCHIVE
    selector: str | None = None  # DOCKER_ARCHIVE: "name:tag" or "@N"

    @property
    def is_image(self) -> bool:
        return self.kind not in (SourceKind.DIR, SourceKind.SBOM)


_PREFIXES: Final = (
    ("registry:", SourceKind.REGISTRY),
    ("docker://", SourceKind.REGISTRY),
    ("oci-archive:", SourceKind.OCI_ARCHIVE),
    ("oci:", SourceKind.OCI),
    ("docker-archive:", SourceKind.DOCKER_ARCHIVE),
    ("dir:", SourceKind.DIR),
    ("sbom:", SourceKind.SBOM),
)
_HINT: Final = (
    "write a registry reference (alpine:3.20) or oci:DIR[:TAG|@DIGEST], oci-archive:FILE, docker-archive:FILE, "
    "dir:PATH, sbom:FILE"
)


def parse_source(text: str) -> SourceSpec:
    """Parse a source string; raise ``InputError`` (or ``InvalidReferenceError``) with a hint."""
    if not text.strip():
        raise InputError("empty image source", hint=_HINT)
    found = next(((p, k) for p, k in _PREFIXES if text.startswith(p)), None)
    if found is None:
        return SourceSpec(kind=SourceKind.REGISTRY, text=text, ref=parse_ref(text))
    prefix, kind = found
    rest = text[len(prefix) :]
    if not rest:
        raise InputError(f"{text!r} names no {kind.value} location", hint=_HINT)
    if kind is SourceKind.REGISTRY:
        return SourceSpec(kind=kind, text=text, ref=parse_ref(rest))
    if "\x00" in rest:
        raise InputError(f"{kind.value} path in {text!r} contains a NUL byte", hint=_HINT)
    if kind in (SourceKind.DIR, SourceKind.SBOM):
        return SourceSpec(kind=kind, text=text, path=Path(rest))
    path_text, selector = _split_path(rest)
    if kind is SourceKind.DOCKER_ARCHIVE:
        return SourceSpec(kind=kind, text=text, path=Path(path_text), selector=selector)
    tag = digest = None
    if selector is not None and selector.startswith("@"):
        digest = selector[1:]
        try:
            parse_digest(digest)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid digest in {text!r}: {exc.message}", hint=exc.hint) from exc
    elif selector is not None:
        tag = selector
        if not tag:
            raise InputError(f"empty tag in {text!r}", hint="write oci:DIR:TAG or leave the tag out")
    return SourceSpec(kind=kind, text=text, path=Path(path_text), tag=tag, digest=digest)


def _split_path(rest: str) -> tuple[str, str | None]:
    """``PATH[:SELECTOR]`` or ``PATH@DIGEST``: an existing path wins, else split as skopeo does."""
    if _exists(rest):
        return rest, None
    if (position := re.fullmatch(r"(.+)(@[0-9]+)", rest)) is not None:  # docker-archive:FILE@N
        return position.group(1), position.group(2)
    at = rest.rfind("@")
    if at > 0 and ":" in rest[at:]:
        return rest[:at], rest[at:]
    colon = rest.find(":")
    if colon > 0:
        return rest[:colon], rest[colon + 1 :]
    return rest, None


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: not an existing path
        return False


def open_source(spec: SourceSpec, *, settings: Settings, cache: BlobCache | None = None) -> ImageSource:
    """An ``ImageSource`` for ``spec`` (the caller closes it)."""
    # Source modules are imported per kind, not at the top: `inspect oci:…` must not pay for
    # tarfile/gzip, nor for the HTTP stack (the 150 ms start-up budget of issue #3).
    from wharfinger.oci.sources.layout import OciLayoutSource  # noqa: PLC0415

    if spec.kind is SourceKind.REGISTRY:
        assert spec.ref is not None  # noqa: S101  # parse_source sets it for this kind
        try:
            module = importlib.import_module(REGISTRY_SOURCE_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != REGISTRY_SOURCE_MODULE:
                raise
            raise InputError(
                f"{spec.text!r} is a registry reference, and this build has no registry client",
                hint="use a local source: oci:DIR, oci-archive:FILE or docker-archive:FILE",
            ) from exc
        source: ImageSource = module.open_registry_source(spec.ref, settings=settings, cache=cache)
        return source
    if not spec.is_image:
        raise InputError(
            f"{spec.text!r} is a {spec.kind.value} source, not an image",
            hint="this command needs an image: a registry reference, oci:, oci-archive: or docker-archive:",
        )
    assert spec.path is not None  # noqa: S101  # parse_source sets it for file kinds
    if spec.kind is SourceKind.OCI:
        from wharfinger.oci.sources.files import DirFiles  # noqa: PLC0415

        return OciLayoutSource(
            DirFiles(spec.path), settings=settings, tag=spec.tag, digest=spec.digest, description=spec.text
        )
    from wharfinger.oci.sources.archive import TarFiles  # noqa: PLC0415

    if spec.kind is SourceKind.OCI_ARCHIVE:
        return OciLayoutSource(
            TarFiles(spec.path, settings),
            settings=settings,
            tag=spec.tag,
            digest=spec.digest,
            description=spec.text,
        )
    from wharfinger.oci.sources.docker_archive import DockerArchiveSource  # noqa: PLC0415

    return DockerArchiveSource(
        TarFiles(spec.path, settings), settings=settings, selector=spec.selector, description=spec.text
    )
