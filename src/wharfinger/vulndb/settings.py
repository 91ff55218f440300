"""Where the database lives, how old it may get, and where updates come from: one frozen settings object.

Only the CLI (or the service) reads the environment to build it (``settings_from_env``), once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from wharfinger.errors import InputError

__all__ = ["DEFAULT_OSV_URL", "DEFAULT_UPDATE_ECOSYSTEMS", "VulnDbSettings", "parse_age", "settings_from_env"]

DEFAULT_OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com"
# The OSV export folders `db update` fetches by default: what container images hold.
DEFAULT_UPDATE_ECOSYSTEMS: tuple[str, ...] = (
    "PyPI",
    "npm",
    "Go",
    "Maven",
    "RubyGems",
    "crates.io",
    "NuGet",
    "Packagist",
    "Debian",
    "Ubuntu",
    "Alpine",
    "Wolfi",
    "Chainguard",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "SUSE",
    "Azure Linux",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnDbSettings:
    path: Path  # the database file
    max_age: timedelta = timedelta(days=5)  # older than this: a warning on every use
    osv_url: str = DEFAULT_OSV_URL  # base of <ECO>/all.zip
    ecosystems: tuple[str, ...] = DEFAULT_UPDATE_ECOSYSTEMS
    offline: bool = False  # never touch the network
    max_download_bytes: int = 2 * 1024 * 1024 * 1024  # bytes per export zip
    timeout_s: float = 120.0  # seconds between two reads of a download
    verify_keys: tuple[Path, ...] = ()  # PEM public keys: `db pull` refuses a database none of them signed


def parse_age(text: str) -> timedelta:
    """``"5d"``, ``"12h"``, ``"90m"``, ``"2w"`` → a duration."""
    units = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not value.isdigit():
        raise InputError(f"age {text!r} does not parse", hint="write a number and a unit: 90m, 12h, 5d, 2w")
    return int(value) * units[unit]


def default_database_path(env: Mapping[str, str], home: Path) -> Path:
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "wharfinger" / "vulndb.sqlite"


def settings_from_env(env: Mapping[str, str], home: Path, *, path: Path | None = None) -> VulnDbSettings:
    """``WHARFINGER_DB``, ``WHARFINGER_DB_MAX_AGE``, ``WHARFINGER_OSV_URL``, ``WHARFINGER_OFFLINE``,
    ``WHARFINGER_DB_VERIFY_KEY`` (a public key path; several joined with ``os.pathsep``)."""
    return VulnDbSettings(
        path=path or (Path(env["WHARFINGER_DB"]) if env.get("WHARFINGER_DB") else default_database_path(env, home)),
        max_age=parse_age(env["WHARFINGER_DB_MAX_AGE"]) if env.get("WHARFINGER_DB_MAX_AGE") else timedelta(days=5),
        osv_url=env.get("WHARFINGER_OSV_URL") or DEFAULT_OSV_URL,
        offline=env.get("WHARFINGER_OFFLINE", "").lower() in {"1", "true", "yes"},
        verify_keys=tuple(Path(p) for p in env.get("WHARFINGER_DB_VERIFY_KEY", "").split(os.pathsep) if p),
    )
