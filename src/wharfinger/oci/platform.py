"""Platforms (``os/arch[/variant]``): parsing, normalisation, and choosing one from an index.

Normalisation follows what containerd and the Docker CLI do, so ``--platform linux/aarch64``
finds the ``linux/arm64/v8`` entry: ``aarch64`` → ``arm64`` (variant ``v8`` when unset),
``x86_64``/``x86-64`` → ``amd64``, ``i386`` → ``386``, ``armhf`` → ``arm/v7``, ``armel`` → ``arm/v6``,
``arm`` without a variant → ``arm/v7``, variant ``8`` → ``v8``, ``macos`` → ``darwin``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from wharfinger.errors import InputError

__all__ = ["Platform", "host_platform", "parse_platform"]

_ARCH_ALIASES: Final = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "i386": ("386", None),
    "i686": ("386", None),
    "386": ("386", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
}
_DEFAULT_VARIANT: Final = {"arm64": "v8", "arm": "v7"}
_OS_ALIASES: Final = {"macos": "darwin"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    def normalized(self) -> Platform:
        """The canonical spelling, with the default variant filled in (``arm64`` → ``v8``)."""
        os_name = _OS_ALIASES.get(self.os.lower(), self.os.lower())
        arch, alias_variant = _ARCH_ALIASES.get(self.architecture.lower(), (self.architecture.lower(), None))
        variant = (self.variant or "").lower() or alias_variant
        if variant and variant.isdigit():
            variant = f"v{variant}"
        if arch == "amd64" and variant == "v1":
            variant = None  # v1 is the baseline every amd64 CPU runs
        if not variant:
            variant = _DEFAULT_VARIANT.get(arch)
        return Platform(
            os=os_name,
            architecture=arch,
            variant=variant,
            os_version=self.os_version,
            os_features=self.os_features,
        )

    def matches(self, other: Platform) -> bool:
        """Same os, architecture and variant after normalisation (os version is not compared)."""
        a, b = self.normalized(), other.normalized()
        return (a.os, a.architecture, a.variant) == (b.os, b.architecture, b.variant)


def parse_platform(text: str) -> Platform:
    """Parse ``os/arch[/variant]`` (as ``--platform`` takes it); raise ``InputError`` otherwise."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(
            f"invalid platform {text!r}",
            hint="write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8",
        )
    if not all(part.replace("-", "").replace("_", "").replace(".", "").isalnum() for part in parts):
        raise InputError(f"invalid platform {text!r}: unexpected characters", hint="e.g. linux/arm/v7")
    return Platform(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)  # noqa: PLR2004


def host_platform() -> Platform:
    """The platform images default to: Linux on this machine's CPU (containers are Linux images)."""
    return Platform(os="linux", architecture=os.uname().machine or "amd64").normalized()
