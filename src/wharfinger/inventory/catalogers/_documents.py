"""Loading untrusted package documents (JSON, TOML, YAML, text) with size limits.

Every language cataloger reads files an image author controls. The loaders here turn each way such a
file can be broken or hostile (too large, not UTF-8, malformed, nested past the parser's recursion
limit, the wrong top-level type) into one ``PackageMetadataError`` naming the file, so the cataloger
adapters can skip it with a warning instead of crashing the scan.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.package import Location, Package

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Parsed",
    "check_size",
    "decode_text",
    "load_json_object",
    "load_toml",
    "load_yaml_documents",
]

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # bytes; the largest real lock files are a few MB

_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """What a parser found in one file: packages, plus notes for what it deliberately left out."""

    packages: tuple[Package, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def check_size(data: bytes, location: Location, *, limit: int = MAX_DOCUMENT_BYTES) -> None:
    if len(data) > limit:
        raise PackageMetadataError(
            f"{location.path} is {len(data)} bytes, more than the {limit} allowed for a package document",
            hint="this is not a real lock file or manifest; the cataloger skips it",
        )


def decode_text(data: bytes, location: Location) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM, as editors on Windows write requirement files."""
    check_size(data, location)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageMetadataError(
            f"{location.path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="the file is not a package manifest or lock file",
        ) from exc


def _malformed(location: Location, kind: str, exc: BaseException) -> PackageMetadataError:
    detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:200]
    return PackageMetadataError(
        f"{location.path} is not valid {kind}: {detail}",
        hint="the file is malformed or truncated; the cataloger skips it",
    )


def load_json_object(data: bytes, location: Location) -> dict[str, Any]:
    text = decode_text(data, location)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _malformed(location, "JSON", exc) from exc
    if not isinstance(doc, dict):
        raise PackageMetadataError(
            f"{location.path} holds a JSON {type(doc).__name__}, not the object a package document has",
            hint="the file is not the package document its name suggests",
        )
    return doc


def load_toml(data: bytes, location: Location) -> dict[str, Any]:
    text = decode_text(data, location)
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise _malformed(location, "TOML", exc) from exc


def load_yaml_documents(data: bytes, location: Location) -> list[dict[str, Any]]:
    """Every mapping document in a YAML stream (pnpm 9 may write more than one)."""
    text = decode_text(data, location)
    try:
        docs = list(yaml.load_all(text, Loader=_YamlLoader))
    except (yaml.YAMLError, RecursionError) as exc:
        raise _malformed(location, "YAML", exc) from exc
    mappings = [d for d in docs if isinstance(d, dict)]
    if not mappings:
        raise PackageMetadataError(
            f"{location.path} holds no YAML mapping",
            hint="the file is not the lock file its name suggests",
        )
    return mappings
