"""What an SBOM describes: the image (or directory) named by the user, and its digest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SbomSubject"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SbomSubject:
    name: str  # as the user named it: "oci:/tmp/layout:1.0", "dir:/srv/rootfs", "ghcr.io/acme/api:1.2"
    kind: Literal["image", "directory", "sbom"]
    digest: str | None = None  # the image manifest digest ("sha256:…"), when an image
    platform: str | None = None  # "linux/amd64"
