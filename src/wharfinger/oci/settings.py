"""Safe limits and locations for everything in ``wharfinger.oci``, with their units.

One frozen ``Settings`` value is built once at the edge (``Settings.from_env`` in the CLI or the
service) and passed down; nothing below reads the environment itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from wharfinger.errors import InputError

__all__ = ["Settings", "default_cache_root", "parse_flag", "parse_size"]

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    # documents
    max_manifest_bytes: int = 4 * MIB  # bytes; manifests and indexes (what distribution itself accepts)
    max_config_bytes: int = 8 * MIB  # bytes; image configs (their history can be long)
    max_index_depth: int = 4  # nested indexes followed before giving up (index → index → manifest is 2)
    max_referrers: int = 10_000  # referrer descriptors read per subject
    # archives and layouts on disk
    max_archive_manifest_bytes: int = 1 * MIB  # bytes; docker-archive manifest.json, oci-layout
    max_archive_entries: int = 100_000  # tar members in an oci-archive or docker-archive
    max_archive_link_hops: int = 8  # symlinks followed inside an archive (docker save links duplicate layers)
    # blob cache
    cache_root: Path | None = None  # None: $WHARFINGER_CACHE_DIR, else $XDG_CACHE_HOME/wharfinger, else ~/.cache
    cache_max_bytes: int = 10 * GIB  # bytes; least recently used blobs are evicted beyond it
    cache_tmp_max_age: float = 3600.0  # seconds; older temp files are debris of a crashed writer
    # registry client (used by wharfinger.oci.client)
    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 60.0  # seconds, between two received chunks
    max_retries: int = 4  # attempts after the first, on 429/5xx and connection errors
    max_backoff: float = 30.0  # seconds; also the cap on an honoured Retry-After
    parallel_downloads: int = 4  # layers fetched at once
    chunk_bytes: int = 1 * MIB  # bytes; read and upload chunk
    insecure_hosts: frozenset[str] = field(default_factory=frozenset)  # host[:port] allowed over plain HTTP
    ca_bundle: Path | None = None  # extra PEM CA certificates trusted for registries ($WHARFINGER_CA_BUNDLE)
    http2: bool = False  # offer HTTP/2 over TLS (ALPN) to registries ($WHARFINGER_HTTP2=1); off: measured slower

    @property
    def blob_cache_dir(self) -> Path:
        return (self.cache_root or default_cache_root({})) / "blobs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``WHARFINGER_*`` variables (the CLI's and the service's one call)."""
        env = os.environ if environ is None else environ
        settings = cls(cache_root=default_cache_root(env))
        if value := env.get("WHARFINGER_CACHE_MAX_SIZE"):
            settings = replace(settings, cache_max_bytes=parse_size(value, "WHARFINGER_CACHE_MAX_SIZE"))
        if value := env.get("WHARFINGER_CA_BUNDLE"):
            settings = replace(settings, ca_bundle=Path(value).expanduser())
        if value := env.get("WHARFINGER_HTTP2"):
            settings = replace(settings, http2=parse_flag(value, "WHARFINGER_HTTP2"))
        if value := env.get("WHARFINGER_MAX_MANIFEST_SIZE"):
            settings = replace(settings, max_manifest_bytes=parse_size(value, "WHARFINGER_MAX_MANIFEST_SIZE"))
        return settings


def default_cache_root(environ: Mapping[str, str]) -> Path:
    """``$WHARFINGER_CACHE_DIR``, else ``$XDG_CACHE_HOME/wharfinger``, else ``~/.cache/wharfinger``."""
    if value := environ.get("WHARFINGER_CACHE_DIR"):
        return Path(value).expanduser()
    if (xdg := environ.get("XDG_CACHE_HOME")) and Path(xdg).is_absolute():  # the XDG spec ignores relative paths
        return Path(xdg) / "wharfinger"
    return Path(environ.get("HOME") or Path.home()) / ".cache" / "wharfinger"


_SIZE_RE: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*", re.IGNORECASE)


def parse_size(text: str, what: str = "size") -> int:
    """``"500MiB"``, ``"10G"``, ``"2048"`` → bytes (K/M/G/T are 1024-based either way, as du does)."""
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise InputError(f"invalid {what} {text!r}", hint="write a number of bytes with an optional unit: 500MiB, 10G")
    number, unit, _ = match.groups()
    factor = 1024 ** "BKMGT".index(unit.upper() or "B")
    return int(float(number) * factor)


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def parse_flag(text: str, what: str = "flag") -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case); anything else is an ``InputError``, not a silent off."""
    value = text.strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise InputError(f"invalid {what} {text!r}", hint="write 1 or 0 (true/false, yes/no, on/off)")
