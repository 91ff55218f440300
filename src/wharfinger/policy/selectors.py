"""Scoping: image name patterns and Kubernetes label selectors, both pure.

Image patterns match the *normalised name* of a reference (``registry/repository``, with
Docker Hub's ``docker.io`` and ``library/`` filled in), so ``nginx``, ``docker.io/nginx`` and
``index.docker.io/library/nginx`` are one image. ``*`` matches any run of characters,
including ``/``; a pattern without a registry is normalised like a reference, so the pattern
``nginx`` means ``docker.io/library/nginx``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

__all__ = [
    "ImageName",
    "LabelExpression",
    "LabelSelector",
    "Operator",
    "image_matches",
    "parse_image_name",
]

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_MAX_REFERENCE_CHARS = 1024  # longer is not a reference a runtime could pull
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageName:
    """A container image reference as the policy sees it.

    TODO: replace with ``wharfinger.oci.reference.ImageRef`` once the oci-core branch lands;
    this is the subset the policy needs and normalises the same way (docker.io, library/).
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def is_pinned(self) -> bool:
        return self.digest is not None

    @property
    def effective_tag(self) -> str | None:
        """The tag the runtime pulls: ``latest`` when neither tag nor digest is given."""
        if self.tag is None and self.digest is None:
            return "latest"
        return self.tag


@lru_cache(maxsize=4096)
def parse_image_name(text: str) -> ImageName | None:
    """Parse and normalise a reference; ``None`` when it does not follow the reference grammar."""
    if not text or len(text) > _MAX_REFERENCE_CHARS or text != text.strip():
        return None
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        return None
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            return None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), remainder
    else:
        registry, repository = "docker.io", rest
    if registry in _DOCKER_HUB_ALIASES:
        registry = "docker.io"
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _NAME.match(repository):
        return None
    return ImageName(registry=registry, repository=repository, tag=tag, digest=digest or None)


@lru_cache(maxsize=1024)
def _normalise_pattern(pattern: str) -> str:
    head, slash, last = pattern.rpartition("/")
    tag = ""
    if ":" in last:
        last, _, tag_part = last.partition(":")
        tag = f":{tag_part}"
    name = f"{head}{slash}{last}"
    if name in {"*", "**"}:
        return f"*{tag}"
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first in {"localhost", "*"}):
        registry = "docker.io" if first in _DOCKER_HUB_ALIASES else first
        repository = remainder
        if registry == "docker.io" and "/" not in repository and "*" not in repository:
            repository = f"library/{repository}"
        return f"{registry}/{repository}{tag}"
    if not sep and "*" not in name:
        return f"docker.io/library/{name}{tag}"
    return f"docker.io/{name}{tag}" if sep else f"{name}{tag}"


def image_matches(pattern: str, image: ImageName) -> bool:
    """Does a policy pattern (``ghcr.io/acme/*``, ``nginx``, ``*``) cover this image?"""
    normalised = _normalise_pattern(pattern)
    if ":" in normalised.rpartition("/")[2]:
        # a pattern with a tag (connaisseur's "*:*" style) also compares the tag; "*" also covers digest-only
        name_pattern, _, tag_pattern = normalised.rpartition(":")
        return fnmatch.fnmatchcase(image.name, name_pattern) and fnmatch.fnmatchcase(
            image.effective_tag or "", tag_pattern
        )
    return fnmatch.fnmatchcase(image.name, normalised)


class Operator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelExpression:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        match self.operator:
            case Operator.IN:
                return labels.get(self.key) in self.values
            case Operator.NOT_IN:
                return self.key not in labels or labels[self.key] not in self.values
            case Operator.EXISTS:
                return self.key in labels
            case Operator.DOES_NOT_EXIST:
                return self.key not in labels


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSelector:
    """A Kubernetes label selector: every matchLabels pair and every expression must hold."""

    match_labels: Mapping[str, str]
    match_expressions: tuple[LabelExpression, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            e.matches(labels) for e in self.match_expressions
        )
