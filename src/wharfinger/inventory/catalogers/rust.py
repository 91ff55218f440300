"""Rust crates: ``Cargo.lock`` and binaries built with ``cargo auditable``.

* ``parse_cargo_lock``: every ``[[package]]``; crates without a ``source`` are the workspace's
  own and are marked ``source=local``.
* ``parse_rust_binary``: ``cargo auditable`` embeds the dependency tree as zlib-compressed JSON in
  a ``.dep-v0`` section; every crate of kind ``runtime`` is reported (build-time crates such as
  proc macros are not in the binary). Binaries without the section report nothing: plain
  ``cargo build`` output carries no dependency list.

purls: ``pkg:cargo/serde@1.0.190``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from wharfinger.errors import PackageMetadataError, UnsafeArchiveError
from wharfinger.inventory.catalogers._documents import Parsed, load_toml
from wharfinger.inventory.catalogers.executables import find_section
from wharfinger.inventory.catalogers.filecataloger import BinaryData, FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["AUDITABLE_SECTION", "AUDITABLE_SECTION_MACHO", "CARGO_LOCKS", "parse_cargo_lock", "parse_rust_binary"]

AUDITABLE_SECTION = ".dep-v0"
AUDITABLE_SECTION_MACHO = "__dep_v0"  # Mach-O spells section names with underscores
_MAX_AUDIT_JSON_BYTES = 8 * 1024 * 1024  # bytes; cargo-auditable itself caps the inflated data at 8 MiB


def _crate(name: str, version: str, location: Location, *, source: str = "") -> Package:
    return language_package(
        name=name,
        version=version,
        type_=PackageType.CARGO,
        location=location,
        cpes=(cpe23(name, name, version, target_sw="rust"),),
        metadata={"source": source} if source else None,
    )


def parse_cargo_lock(data: bytes, location: Location) -> Parsed:
    doc = load_toml(data, location)
    entries = doc.get("package")
    if not isinstance(entries, list):
        raise PackageMetadataError(f"{location.path} has no [[package]] entries", hint="not a Cargo.lock")
    found: dict[tuple[str, str], Package] = {}
    warnings: list[str] = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("version"), str)
        ):
            warnings.append(f"{location.path}: a [[package]] lacks name or version; skipped")
            continue
        source = entry.get("source")
        source_kind = source.split("+", 1)[0] if isinstance(source, str) else "local"
        key = (entry["name"], entry["version"])
        found.setdefault(key, _crate(key[0], key[1], location, source=source_kind))
    return Parsed(packages=tuple(found.values()), warnings=tuple(warnings))


def parse_rust_binary(data: BinaryData, location: Location) -> Parsed:
    try:
        section = find_section(data, AUDITABLE_SECTION)
        if section is None:
            section = find_section(data, AUDITABLE_SECTION_MACHO)
    except ValueError as exc:
        raise PackageMetadataError(f"{location.path}: {exc}", hint="the binary is corrupt; it is skipped") from exc
    if section is None:
        return Parsed()
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(section, _MAX_AUDIT_JSON_BYTES + 1)
    except zlib.error as exc:
        raise PackageMetadataError(
            f"{location.path}: the {AUDITABLE_SECTION} section is not zlib data ({exc})",
            hint="the embedded data is corrupt; the binary's dependencies are skipped",
        ) from exc
    if len(raw) > _MAX_AUDIT_JSON_BYTES:
        raise UnsafeArchiveError(
            f"{location.path}: the {AUDITABLE_SECTION} section inflates past {_MAX_AUDIT_JSON_BYTES} bytes",
            hint="a decompression bomb; the binary's dependency list is skipped",
        )
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PackageMetadataError(
            f"{location.path}: the {AUDITABLE_SECTION} section is not JSON",
            hint="the embedded data is corrupt; the binary's dependencies are skipped",
        ) from exc
    crates = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(crates, list):
        raise PackageMetadataError(
            f"{location.path}: the audit data has no packages list",
            hint="the embedded data is corrupt; the binary's dependencies are skipped",
        )
    found: dict[tuple[str, str], Package] = {}
    for crate in crates:
        if not isinstance(crate, dict) or crate.get("kind", "runtime") != "runtime":
            continue
        name, version = crate.get("name"), crate.get("version")
        if isinstance(name, str) and isinstance(version, str) and name and version:
            source = crate.get("source")
            found.setdefault(
                (name, version), _crate(name, version, location, source=source if isinstance(source, str) else "")
            )
    return Parsed(packages=tuple(found.values()))


CARGO_LOCKS = FileCataloger(
    name="rust-cargo-lock",
    version="1",
    evidence="declared",
    rules=(FileRule(pattern="**/Cargo.lock", parse=parse_cargo_lock, skip_inside=("/.cargo/registry/",)),),
)
