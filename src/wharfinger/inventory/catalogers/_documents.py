"""Loading untrusted package documents (JSON, TOML, YAML, text) with size limits, and the entry
count a zip archive declares.

Every language cataloger reads files an image author controls. The loaders here turn each way such a
file can be broken or hostile (too large, not UTF-8, malformed, nested past the parser's recursion
limit, the wrong top-level type) into one ``PackageMetadataError`` naming the file, so the cataloger
adapters can skip it with a warning instead of crashing the scan.
"""

from __future__ import annotations

import io
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.package import Location, Package

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Parsed",
    "check_size",
    "declared_zip_entries",
    "decode_text",
    "load_json_object",
    "load_toml",
    "load_yaml_documents",
]

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # bytes; the largest real lock files are a few MB


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


# One inline table per line inside an array, naming a file by url/file/path and its hash: the
# `files`/`wheels` lists of poetry, uv and pdm locks — most of their bytes, none of the identities.
_INLINE_TABLE_LINE = re.compile(r"^[ \t]+\{[ \t]*(?:url|file|path)[ \t]*=[^\n]*\},?[ \t]*$", re.MULTILINE)


def load_toml(data: bytes, location: Location, *, skip_inline_table_lines: bool = False) -> dict[str, Any]:
    """Parse TOML; ``skip_inline_table_lines`` first drops array items written one inline table per
    line (tomllib is pure Python, and a uv.lock is mostly wheel hashes). Should that ever leave the
    document invalid, the whole text is parsed as it is."""
    import tomllib  # noqa: PLC0415 -- lock files are read from dir: sources only; images skip its 1.4 ms

    text = decode_text(data, location)
    if skip_inline_table_lines:
        try:
            return tomllib.loads(_INLINE_TABLE_LINE.sub("", text))
        except (tomllib.TOMLDecodeError, RecursionError):
            pass  # parse the untouched text below, which reports the real error
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise _malformed(location, "TOML", exc) from exc


def load_yaml_documents(data: bytes, location: Location) -> list[dict[str, Any]]:
    """Every mapping document in a YAML stream (pnpm 9 may write more than one)."""
    import yaml  # noqa: PLC0415 - 10-30 ms to import; only pnpm locks are YAML, so only they pay

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
    text = decode_text(data, location)
    try:
        docs = list(yaml.load_all(text, Loader=loader))
    except (yaml.YAMLError, RecursionError) as exc:
        raise _malformed(location, "YAML", exc) from exc
    mappings = [d for d in docs if isinstance(d, dict)]
    if not mappings:
        raise PackageMetadataError(
            f"{location.path} holds no YAML mapping",
            hint="the file is not the lock file its name suggests",
        )
    return mappings


_EOCD = b"PK\x05\x06"
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP64_MARKER = 0xFFFF  # a 16-bit count of 0xFFFF means "see the ZIP64 record"
_EOCD_SEARCH_BYTES = 22 + 65535 + 20 + 56  # EOCD, the longest comment, ZIP64 locator and record


def declared_zip_entries(handle: BinaryIO) -> int | None:
    """The entry count the end-of-central-directory record declares, read before ``zipfile``
    loads the whole central directory into memory (millions of entries cost gigabytes)."""
    size = handle.seek(0, io.SEEK_END)
    handle.seek(max(0, size - _EOCD_SEARCH_BYTES))
    tail = handle.read()
    handle.seek(0)
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):  # the EOCD record is 22 bytes
        return None
    (entries,) = struct.unpack_from("<H", tail, at + 10)
    if entries == _ZIP64_MARKER:  # ZIP64: the real count is in the ZIP64 EOCD record
        at64 = tail.rfind(_ZIP64_EOCD, 0, at)
        if at64 >= 0 and at64 + 40 <= len(tail):
            (entries,) = struct.unpack_from("<Q", tail, at64 + 32)
    return int(entries)
