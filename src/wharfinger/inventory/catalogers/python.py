"""Python packages: installed distributions (dist-info, egg-info, eggs) and lock files.

Parsers here are pure: bytes and the ``Location`` they were read from in, ``Parsed`` out.

* ``parse_core_metadata`` reads ``METADATA`` / ``PKG-INFO`` (RFC 822 headers, the core metadata
  specification). The license is ``License-Expression`` (PEP 639) when present, else the
  specific ``License ::`` trove classifiers, else ``License`` when it is short enough to be a
  name rather than the whole licence text (trivy's order). ``parse_record`` lists the files a
  ``RECORD`` says the distribution installed.
* ``parse_egg`` opens a zipped ``.egg`` and reads its ``EGG-INFO/PKG-INFO``.
* Lock files: ``parse_requirements`` (only ``==``/``===`` pins; anything else is noted, not
  guessed), ``parse_pipfile_lock``, ``parse_poetry_lock``, ``parse_uv_lock``, ``parse_pdm_lock``.
  Development-only packages are kept and marked ``dev=true`` in the metadata, as trivy does.

purls carry the PEP 503-normalised name (``pkg:pypi/jinja2@3.0.0``); ``Package.name`` keeps the
name as the project wrote it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

from wharfinger.errors import PackageMetadataError, UnsafeArchiveError, WharfingerError
from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers._documents import (
    Parsed,
    check_size,
    declared_zip_entries,
    decode_text,
    load_json_object,
    load_toml,
)
from wharfinger.inventory.catalogers._graph import dev_only
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package, normalise_pypi_name
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = [
    "PYTHON_INSTALLED",
    "PYTHON_LOCKS",
    "parse_core_metadata",
    "parse_egg",
    "parse_pdm_lock",
    "parse_pipfile_lock",
    "parse_poetry_lock",
    "parse_record",
    "parse_requirements",
    "parse_uv_lock",
]

_MAX_LICENSE_FIELD_CHARS = 200  # longer ``License:`` values are the licence text, not its name
_MAX_EGG_INFO_BYTES = 1024 * 1024  # bytes; PKG-INFO inside an egg
_MAX_EGG_ENTRIES = 100_000  # zip entries of one egg


def _pypi_package(
    name: str,
    version: str,
    location: Location,
    *,
    licenses: tuple[str, ...] = (),
    extra_locations: tuple[Location, ...] = (),
    metadata: dict[str, str] | None = None,
) -> Package:
    normalised = normalise_pypi_name(name)
    return language_package(
        name=name,
        version=version,
        type_=PackageType.PYPI,
        location=location,
        cpes=(cpe23(normalised, normalised, version, target_sw="python"),),
        licenses=tuple(to_spdx(lic) for lic in licenses),
        extra_locations=extra_locations,
        metadata=metadata,
    )


# --- installed distributions -------------------------------------------------------------------


def _licenses_from_headers(headers: Any) -> tuple[str, ...]:
    """``License-Expression`` (PEP 639); else the specific trove classifiers (a controlled
    vocabulary, preferred as trivy does); else ``License`` when it is a name, not the licence text."""
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        return (expression,)
    from_classifiers = tuple(
        c.split("::")[-1].strip()
        for c in headers.get_all("Classifier") or ()
        if c.startswith("License ::") and c.split("::")[-1].strip() not in ("OSI Approved", "")
    )
    if from_classifiers:
        return from_classifiers
    declared = (headers.get("License") or "").strip()
    if (
        declared
        and declared.upper() != "UNKNOWN"
        and len(declared) <= _MAX_LICENSE_FIELD_CHARS
        and "\n" not in declared
    ):
        return (declared,)
    return ()


def parse_core_metadata(
    data: bytes, location: Location, *, extra_locations: tuple[Location, ...] = (), installed_files: int | None = None
) -> Parsed:
    """One distribution from a ``METADATA`` or ``PKG-INFO`` file."""
    from email.parser import HeaderParser  # noqa: PLC0415 -- 6.5 ms to import: only images with Python pay it

    text = decode_text(data, location)
    headers = HeaderParser().parsestr(text, headersonly=True)
    name = (headers.get("Name") or "").strip()
    version = (headers.get("Version") or "").strip()
    if not name:
        raise PackageMetadataError(
            f"{location.path} has no Name header", hint="the core metadata is truncated; the cataloger skips it"
        )
    if not version:
        return Parsed(warnings=(f"{location.path}: distribution {name} has no Version header; skipped",))
    metadata = {"installed_files": str(installed_files)} if installed_files is not None else None
    package = _pypi_package(
        name,
        version,
        location,
        licenses=_licenses_from_headers(headers),
        extra_locations=extra_locations,
        metadata=metadata,
    )
    return Parsed(packages=(package,))


def parse_record(data: bytes, location: Location, *, site_packages: str) -> tuple[str, ...]:
    """Absolute paths of the files a ``RECORD`` lists, resolved against ``site_packages``.

    Entries that climb out with ``..`` (console scripts in ``bin/``) are resolved lexically; rows
    that are not CSV are skipped, since RECORD is evidence, not the package identity.
    """
    text = decode_text(data, location)
    base = site_packages.rstrip("/")
    paths: list[str] = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        entry = row[0].strip()
        if not entry.startswith("/") and not entry.endswith("/") and "//" not in entry and "/." not in f"/{entry}":
            paths.append(f"{base}/{entry}")  # already normal (nearly every row): nothing to resolve
            continue
        parts = [p for p in f"{base}/{entry}".split("/") if p not in ("", ".")]
        resolved: list[str] = []
        for part in parts:
            if part == "..":
                if resolved:
                    resolved.pop()
            else:
                resolved.append(part)
        paths.append("/" + "/".join(resolved))
    return tuple(paths)


def parse_egg(data: bytes, location: Location) -> Parsed:
    """A zipped ``.egg``: the distribution described by its ``EGG-INFO/PKG-INFO``."""
    check_size(data, location)
    declared = declared_zip_entries(io.BytesIO(data))
    if declared is not None and declared > _MAX_EGG_ENTRIES:
        raise UnsafeArchiveError(
            f"{location.path} declares {declared} zip entries (limit {_MAX_EGG_ENTRIES})",
            hint="no real egg has that many; it is skipped",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            try:
                info = archive.getinfo("EGG-INFO/PKG-INFO")
            except KeyError:
                return Parsed(warnings=(f"{location.path}: egg without EGG-INFO/PKG-INFO; skipped",))
            if info.file_size > _MAX_EGG_INFO_BYTES:
                raise UnsafeArchiveError(
                    f"{location.path}: EGG-INFO/PKG-INFO claims {info.file_size} bytes",
                    hint="a PKG-INFO is a few kB; the egg is hostile or broken and is skipped",
                )
            with archive.open(info) as member:
                pkg_info = member.read(_MAX_EGG_INFO_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise PackageMetadataError(
            f"{location.path} is not a readable egg (zip): {exc}", hint="the egg is corrupt; the cataloger skips it"
        ) from exc
    if len(pkg_info) > _MAX_EGG_INFO_BYTES:
        raise UnsafeArchiveError(
            f"{location.path}: EGG-INFO/PKG-INFO inflates past {_MAX_EGG_INFO_BYTES} bytes",
            hint="the egg is a decompression bomb; it is skipped",
        )
    return parse_core_metadata(pkg_info, location)


# --- lock files --------------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"""^\s*
    (?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)     # PEP 508 name
    \s*(?:\[[^\]]*\])?                        # extras
    \s*(?P<op>===|==)\s*
    (?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*) # a concrete version: no wildcards, no ranges
    \s*(?:@\s*\S+)?                           # "== 1.0 @ git+https://…": not PEP 508, found in the wild
    \s*(?:;.*)?$                              # environment markers
    """,
    re.VERBOSE,
)
_NAME_ONLY = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requirement_lines(text: str) -> list[str]:
    """Logical lines: continuations joined, comments and pip options removed."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        line = line.split("#", 1)[0]  # comments; '#egg=' fragments only follow URLs, which are skipped anyway
        line = re.sub(r"\s--?[A-Za-z][\w-]*(?:[= ]\S+)?", "", " " + line).strip()  # --hash=…, --global-option
        if line:
            lines.append(line)
    return lines


def parse_requirements(data: bytes, location: Location) -> Parsed:
    """Pinned requirements (``name==version``) from a pip requirements file."""
    packages: list[Package] = []
    unpinned: list[str] = []
    for line in _requirement_lines(decode_text(data, location)):
        if line.startswith(("-", "git+", "http:", "https:", "file:", ".", "/")):
            continue  # -r/-c/-e includes, URLs and local paths: no version to report
        match = _REQUIREMENT.match(line)
        if match and "*" not in match.group("version"):
            packages.append(_pypi_package(match.group("name"), match.group("version"), location))
            continue
        name = _NAME_ONLY.match(line)
        if name:
            unpinned.append(name.group(1))
    warnings = (
        (f"{location.path}: {len(unpinned)} requirement(s) not pinned with ==, not reported: {', '.join(unpinned)}",)
        if unpinned
        else ()
    )
    return Parsed(packages=tuple(packages), warnings=warnings)


def _lock_version(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value.removeprefix("===").removeprefix("==") if value.startswith("==") else None


def parse_pipfile_lock(data: bytes, location: Location) -> Parsed:
    """``Pipfile.lock``: ``default`` and ``develop`` sections (the latter marked dev)."""
    doc = load_json_object(data, location)
    packages: list[Package] = []
    warnings: list[str] = []
    for section, is_dev in (("default", False), ("develop", True)):
        entries = doc.get(section) or {}
        if not isinstance(entries, dict):
            warnings.append(f"{location.path}: section {section!r} is not an object; skipped")
            continue
        for name, entry in entries.items():
            version = _lock_version(entry.get("version")) if isinstance(entry, dict) else None
            if not isinstance(name, str) or version is None:
                warnings.append(f"{location.path}: {name!r} has no pinned version (VCS or path dependency); skipped")
                continue
            packages.append(_pypi_package(name, version, location, metadata={"dev": "true"} if is_dev else None))
    return Parsed(packages=tuple(packages), warnings=tuple(warnings))


def _toml_packages(doc: dict[str, Any], location: Location, *, kind: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of ``[[package]]`` with a name and version, once per (normalised name, version):
    pdm writes a package again for each set of extras it was resolved with."""
    entries = doc.get("package")
    if entries is None:
        return [], []
    if not isinstance(entries, list):
        raise PackageMetadataError(
            f"{location.path}: `package` is not an array of tables", hint=f"the file is not a {kind}; it is skipped"
        )
    good: dict[tuple[str, str], dict[str, Any]] = {}
    warnings: list[str] = []
    for entry in entries:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("version"), str)
            and entry["version"]
        ):
            good.setdefault((normalise_pypi_name(entry["name"]), entry["version"]), entry)
        else:
            name = entry.get("name") if isinstance(entry, dict) else entry
            warnings.append(f"{location.path}: package entry {name!r} lacks a name or version; skipped")
    return list(good.values()), warnings


def parse_poetry_lock(data: bytes, location: Location) -> Parsed:
    """``poetry.lock`` (lock format 1.x and 2.x); ``category = "dev"`` entries are marked dev."""
    entries, warnings = _toml_packages(
        load_toml(data, location, skip_inline_table_lines=True), location, kind="poetry.lock"
    )
    packages = []
    for entry in entries:
        groups = entry.get("groups")
        is_dev = entry.get("category") == "dev" or (isinstance(groups, list) and bool(groups) and "main" not in groups)
        packages.append(
            _pypi_package(entry["name"], entry["version"], location, metadata={"dev": "true"} if is_dev else None)
        )
    return Parsed(packages=tuple(packages), warnings=tuple(warnings))


def _uv_names(groups: Any) -> list[str]:
    """Names in uv's ``dependencies`` array or in every group of an ``optional-``/``dev-dependencies`` table."""
    arrays = groups.values() if isinstance(groups, dict) else [groups]
    return [
        normalise_pypi_name(dep["name"])
        for array in arrays
        if isinstance(array, list)
        for dep in array
        if isinstance(dep, dict) and isinstance(dep.get("name"), str)
    ]


def parse_uv_lock(data: bytes, location: Location) -> Parsed:
    """``uv.lock``: every resolved package, the project itself included (its source is virtual/editable).

    Packages only the projects' ``dev-dependencies`` reach are marked dev (optional dependencies
    count as production: an extra may be installed).
    """
    entries, warnings = _toml_packages(
        load_toml(data, location, skip_inline_table_lines=True), location, kind="uv.lock"
    )
    edges: dict[str, list[str]] = {}
    prod_roots: list[str] = []
    dev_roots: list[str] = []
    for entry in entries:
        name = normalise_pypi_name(entry["name"])
        edges.setdefault(name, []).extend(
            _uv_names(entry.get("dependencies")) + _uv_names(entry.get("optional-dependencies"))
        )
        source = entry.get("source")
        if isinstance(source, dict) and ("virtual" in source or "editable" in source):
            prod_roots.append(name)
            dev_roots.extend(_uv_names(entry.get("dev-dependencies")))
    dev = dev_only(prod_roots, dev_roots, lambda node: edges.get(node, ()))
    packages = []
    for entry in entries:
        source = entry.get("source")
        meta = {"source": next(iter(source))} if isinstance(source, dict) and source else {}
        if normalise_pypi_name(entry["name"]) in dev:
            meta["dev"] = "true"
        packages.append(_pypi_package(entry["name"], entry["version"], location, metadata=meta or None))
    return Parsed(packages=tuple(packages), warnings=tuple(warnings))


def parse_pdm_lock(data: bytes, location: Location) -> Parsed:
    """``pdm.lock``: packages with their groups; packages only in dev groups are marked dev."""
    entries, warnings = _toml_packages(
        load_toml(data, location, skip_inline_table_lines=True), location, kind="pdm.lock"
    )
    packages = []
    for entry in entries:
        groups = entry.get("groups")
        is_dev = isinstance(groups, list) and bool(groups) and "default" not in groups
        packages.append(
            _pypi_package(entry["name"], entry["version"], location, metadata={"dev": "true"} if is_dev else None)
        )
    return Parsed(packages=tuple(packages), warnings=tuple(warnings))


# --- catalogers --------------------------------------------------------------------------------


def _dist_info_in_fs(fs: ImageFS, path: str, location: Location, context: CatalogContext) -> Parsed:
    """METADATA plus its RECORD: the RECORD is evidence too, and counts the installed files."""
    folder = path.rsplit("/", 1)[0]
    record_path = f"{folder}/RECORD"
    extra: tuple[Location, ...] = ()
    installed: int | None = None
    record: bytes | None = None
    if fs.is_file(record_path):
        try:
            record = fs.read_bytes(record_path, context.max_file_bytes)
        except (OSError, WharfingerError) as exc:  # RECORD is evidence, not identity: keep the package
            context.warn(f"python-installed: {record_path} not read ({exc}); the package is kept without it")
    if record is not None:
        record_location = Location(path=record_path, layer_digest=fs.layer_of(record_path))
        installed = len(parse_record(record, record_location, site_packages=folder.rsplit("/", 1)[0]))
        extra = (record_location,)
    metadata = fs.read_bytes(path, context.max_file_bytes)
    return parse_core_metadata(metadata, location, extra_locations=extra, installed_files=installed)


PYTHON_INSTALLED = FileCataloger(
    name="python-installed",
    version="2",
    rules=(  # folder names as pip, setuptools and easy_install wrote them over the years (syft's globs)
        FileRule(pattern="**/*dist-info/METADATA", parse_in_fs=_dist_info_in_fs),
        FileRule(pattern="**/*DIST-INFO/METADATA", parse_in_fs=_dist_info_in_fs),
        # no parser: listed so that the layer walker keeps RECORD's content for _dist_info_in_fs
        FileRule(pattern="**/*dist-info/RECORD"),
        FileRule(pattern="**/*DIST-INFO/RECORD"),
        FileRule(pattern="**/*egg-info/PKG-INFO", parse=parse_core_metadata),
        FileRule(pattern="**/*EGG-INFO/PKG-INFO", parse=parse_core_metadata),  # also unzipped .egg folders
        FileRule(pattern="**/*.egg-info", parse=parse_core_metadata),  # the single-file form
        FileRule(pattern="**/*.egg", parse=parse_egg),  # a zipped egg
    ),
)

PYTHON_LOCKS = FileCataloger(
    name="python-lock",
    version="1",
    evidence="declared",
    rules=(
        FileRule(pattern="**/requirements*.txt", parse=parse_requirements),
        FileRule(pattern="**/Pipfile.lock", parse=parse_pipfile_lock),
        FileRule(pattern="**/poetry.lock", parse=parse_poetry_lock),
        FileRule(pattern="**/uv.lock", parse=parse_uv_lock),
        FileRule(pattern="**/pdm.lock", parse=parse_pdm_lock),
    ),
)
