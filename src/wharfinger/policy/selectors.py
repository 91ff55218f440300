"""Scoping: image name patterns and Kubernetes label selectors, both pure.

Image patterns match the *normalised name* of a reference (``registry/repository``, with
Docker Hub's ``docker.io`` and ``library/`` filled in), so ``nginx``, ``docker.io/nginx`` and
``index.docker.io/library/nginx`` are one image. ``*`` matches any run of characters,
including ``/``; a pattern without a registry is normalised like a reference, so the pattern
``nginx`` means ``docker.io/library/nginx``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from wharfinger.errors import InvalidReferenceError
from wharfinger.oci.reference import DEFAULT_TAG, parse_ref

__all__ = [
    "ImageName",
    "LabelExpression",
    "LabelSelector",
    "Operator",
    "image_matches",
    "parse_image_name",
]

_MAX_REFERENCE_CHARS = 1024  # far above any valid reference (a name is at most 255); longer is not cached
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageName:
    """A container image reference as the policy sees it: ``oci.reference``'s normalisation.

    Unlike ``ImageRef`` the tag stays ``None`` when the reference names none, because the policy
    tells ``nginx`` from ``nginx:latest`` (a facts file keyed by the bare name covers every tag);
    ``effective_tag`` gives the tag the runtime pulls.
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
            return DEFAULT_TAG
        return self.tag


def parse_image_name(text: str) -> ImageName | None:
    """Parse and normalise a reference by ``oci.reference``'s grammar; ``None`` when it does not follow it.

    Admission sees references from untrusted pod specs, so a bad one is a value (the engine
    denies it), not an exception.
    """
    if len(text) > _MAX_REFERENCE_CHARS:
        return None  # checked before the cache, so huge junk strings are never kept in it
    return _parse_cached(text)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> ImageName | None:
    try:
        ref = parse_ref(text, default_tag=None)
    except InvalidReferenceError:
        return None
    return ImageName(registry=ref.registry, repository=ref.repository, tag=ref.tag, digest=ref.digest)


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
