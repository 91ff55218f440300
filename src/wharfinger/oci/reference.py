"""Image references: the Docker/OCI grammar, normalised the way ``docker pull`` does it.

Grammar (as in distribution/reference, re-expressed here)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path            (at most 255 characters)
    domain     := host [ ":" port ]
    host       := domain-name | "[" ipv6 "]"
    domain-name:= component ( "." component )*   component := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
    path       := path-component ( "/" path-component )*
    path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := "sha256:" 64 hex | "sha512:" 128 hex   (lowercase, the algorithms OCI registers)

Normalisation: the first path component is a registry only if it contains ``.`` or ``:``, is
``localhost``, or has an uppercase letter (then the name is refused, a repository is lowercase);
otherwise the registry is ``docker.io``. On ``docker.io`` a one-component repository gets
``library/``; ``index.docker.io`` is spelled ``docker.io``; a name with neither tag nor digest
gets the tag ``latest`` (unless the caller asks to keep it unset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from wharfinger.errors import InvalidDigestError, InvalidReferenceError
from wharfinger.oci.digest import parse_digest

__all__ = ["DEFAULT_REGISTRY", "DEFAULT_TAG", "ImageRef", "parse_ref"]

DEFAULT_REGISTRY: Final = "docker.io"
DEFAULT_TAG: Final = "latest"
DOCKER_HUB_API_HOST: Final = "registry-1.docker.io"  # where docker.io's v2 API actually lives
_LEGACY_HUB_NAMES: Final = frozenset({"index.docker.io", "registry-1.docker.io"})
MAX_NAME_LENGTH: Final = 255

_DOMAIN_COMPONENT: Final = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN_NAME: Final = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6: Final = r"\[[A-Fa-f0-9:]+\]"
_HOST_PORT_RE: Final = re.compile(rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?")
_PATH_COMPONENT_RE: Final = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE: Final = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_ANCHORED_HEX64_RE: Final = re.compile(r"[a-f0-9]{64}")
_MAX_PORT: Final = 65535
_PORT_RE: Final = re.compile(r":([0-9]+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRef:
    """A normalised image reference. ``str()`` gives the canonical, fully qualified form."""

    registry: str  # host[:port], e.g. "docker.io", "localhost:5000", "[::1]:5000"
    repository: str  # e.g. "library/alpine"
    tag: str | None = None
    digest: str | None = None  # "sha256:<hex>"; when set it, not the tag, names the content

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def is_pinned(self) -> bool:
        """True when the reference names content by digest (a tag can move, a digest cannot)."""
        return self.digest is not None

    @property
    def identifier(self) -> str:
        """What to ask the registry's ``/manifests/`` endpoint for: the digest if pinned, else the tag."""
        if self.digest is not None:
            return self.digest
        return self.tag if self.tag is not None else DEFAULT_TAG

    @property
    def api_host(self) -> str:
        """The host[:port] that serves the v2 API (Docker Hub's lives on another name)."""
        return DOCKER_HUB_API_HOST if self.registry == DEFAULT_REGISTRY else self.registry

    def familiar(self) -> str:
        """The short form ``docker`` prints: ``alpine:3.20`` for ``docker.io/library/alpine:3.20``."""
        text = str(self)
        if self.registry == DEFAULT_REGISTRY:
            text = text.removeprefix(f"{DEFAULT_REGISTRY}/")
            if self.repository.startswith("library/") and self.repository.count("/") == 1:
                text = text.removeprefix("library/")
        return text

    def with_digest(self, digest: str) -> ImageRef:
        """The same reference pinned to ``digest`` (the tag is kept for humans)."""
        try:
            parse_digest(digest)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(exc.message, hint=exc.hint) from exc
        return replace(self, digest=digest)

    def with_tag(self, tag: str) -> ImageRef:
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r}", hint=_TAG_HINT)
        return replace(self, tag=tag, digest=None)


_TAG_HINT: Final = "a tag is 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"
_REPO_HINT: Final = (
    "a repository is lowercase letters and digits separated by '/', '.', '_', '__' or '-' "
    "(e.g. docker.io/library/alpine:3.20)"
)


def parse_ref(text: str, *, default_tag: str | None = DEFAULT_TAG) -> ImageRef:
    """Parse and normalise an image reference; raise ``InvalidReferenceError`` with a hint.

    ``default_tag`` is the tag given to a reference with neither tag nor digest; ``None`` keeps
    it unset, for callers that must tell ``alpine`` from ``alpine:latest`` (the policy does).
    """
    if not text:
        raise InvalidReferenceError("empty image reference", hint="name an image, e.g. alpine:3.20")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidReferenceError(f"image reference {text!r} contains whitespace", hint="remove the spaces")

    name, at, digest_text = text.partition("@")
    digest: str | None = None
    if at:
        try:
            digest = str(parse_digest(digest_text))
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid digest in {text!r}: {exc.message}", hint=exc.hint) from exc

    # A tag follows the last ':' only if no '/' comes after it ("localhost:5000/x" has a port, no tag).
    tag: str | None = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            detail = "longer than 128 characters" if len(tag) > 128 else "not a valid tag"  # noqa: PLR2004
            raise InvalidReferenceError(f"invalid tag {tag!r} in {text!r}: {detail}", hint=_TAG_HINT)

    if not name:
        raise InvalidReferenceError(f"image reference {text!r} has no repository name", hint=_REPO_HINT)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            f"repository name in {text!r} is {len(name)} characters, the limit is {MAX_NAME_LENGTH}",
            hint="use a shorter repository path",
        )

    registry, repository = _split_registry(name, text)
    _check_repository(repository, text)

    if registry in _LEGACY_HUB_NAMES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if _ANCHORED_HEX64_RE.fullmatch(text):
        # docker refuses a bare 64-hex reference: it cannot be told apart from an image ID
        raise InvalidReferenceError(
            f"{text!r} looks like an image ID (64 hex digits), not a repository name",
            hint="name the image by repository, or pin it with NAME@sha256:<digest>",
        )
    if tag is None and digest is None:
        tag = default_tag
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


def _split_registry(name: str, text: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    looks_like_host = "." in first or ":" in first or first == "localhost" or first.lower() != first
    if not slash or not looks_like_host:
        return DEFAULT_REGISTRY, name
    if not _HOST_PORT_RE.fullmatch(first):
        raise InvalidReferenceError(
            f"invalid registry host {first!r} in {text!r}",
            hint="a registry is host[:port], e.g. registry.example.com:5000, localhost:5000 or [::1]:5000",
        )
    if first.lower() != first and "." not in first and ":" not in first:
        # `Foo/bar`: not a host by the rules above except for its case, and a repository is lowercase
        raise InvalidReferenceError(f"repository name {name!r} in {text!r} must be lowercase", hint=_REPO_HINT)
    port_match = _PORT_RE.search(first)
    if port_match is not None and not 0 < int(port_match.group(1)) <= _MAX_PORT:
        raise InvalidReferenceError(
            f"port {port_match.group(1)} in {text!r} is out of range", hint="a port is a number 1-65535"
        )
    return first.lower(), rest


def _check_repository(repository: str, text: str) -> None:
    for component in repository.split("/"):
        if _PATH_COMPONENT_RE.fullmatch(component):
            continue
        if component and _PATH_COMPONENT_RE.fullmatch(component.lower()):
            raise InvalidReferenceError(
                f"repository name {repository!r} in {text!r} must be lowercase", hint=_REPO_HINT
            )
        what = "an empty path component" if not component else f"the invalid path component {component!r}"
        raise InvalidReferenceError(f"repository name {repository!r} in {text!r} has {what}", hint=_REPO_HINT)
