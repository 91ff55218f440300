"""Debian packages: ``/var/lib/dpkg/status``, distroless ``status.d/``, file lists and licenses.

1. Paragraphs of ``status`` (deb822) whose ``Status`` is ``install ok installed``, and every file in
   ``status.d/`` (distroless writes one paragraph per package there, without ``Status``).
2. Owned files from ``info/<name>[:<arch>].list`` (or ``.md5sums``; distroless: ``status.d/<name>.md5sums``):
   they let language catalogers skip what dpkg installed, and the ``.list`` file's layer tells which
   layer installed the package.
3. Licenses from the machine-readable ``/usr/share/doc/<name>/copyright`` (``License:`` fields and
   references to ``/usr/share/common-licenses/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from wharfinger.errors import WharfingerError
from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence, ExecutableFilter
from wharfinger.inventory.catalogers.identifiers import os_package_cpes
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package, PackageType
from wharfinger.inventory.purl import os_package_purl

__all__ = ["DPKG", "DpkgCataloger", "parse_copyright_licenses", "parse_deb822"]

_STATUS = "/var/lib/dpkg/status"
_STATUS_D = "/var/lib/dpkg/status.d"
_INFO = "/var/lib/dpkg/info"
_MAX_COPYRIGHT_BYTES = 2 * 1024 * 1024  # bytes: some copyright files list thousands of files
# a "License:" line, found through its literal "\n" prefix (the text gets one in front): re scans for
# a literal prefix in C, where "^" with MULTILINE tries the whole pattern at every character (5x slower
# on deb-min's copyright files). rstrip() then drops the trailing whitespace that "\S.*?\s*$" used
# to leave out: str.isspace() and re's \s agree on every code point.
_LICENSE_FIELD = re.compile(r"\nLicense:[ \t]*(?P<value>\S[^\n]*)")
_COMMON_LICENSE = re.compile(r"/usr/share/common-licenses/(?P<name>[0-9A-Za-z_.+\-]+)")
_CONTROL_SUFFIXES = (".md5sums", ".preinst", ".postinst", ".prerm", ".postrm", ".conffiles", ".list", ".triggers")
_STATUS_WORDS = 3  # "want flag state"
_SOURCE_FIELD = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")


def parse_deb822(text: str) -> Iterator[dict[str, str]]:
    """Paragraphs of a deb822 file; continuation lines are joined with newlines."""
    fields: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
        # a line that is neither a field nor a continuation is garbage: ignore it as dpkg's parsers do
    if fields:
        yield fields


def parse_copyright_licenses(text: str) -> tuple[str, ...]:
    """License names from a Debian copyright file, deduplicated in first-seen order."""
    found: dict[str, None] = {}
    for m in _LICENSE_FIELD.finditer("\n" + text):
        found.setdefault(m.group("value").rstrip(), None)
    for m in _COMMON_LICENSE.finditer(text):
        found.setdefault(m.group("name").rstrip("."), None)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    fields: dict[str, str]
    path: str  # the status file it came from


def _read_text(fs: ImageFS, path: str, context: CatalogContext, max_bytes: int) -> str | None:
    try:
        return fs.read_bytes(path, max_bytes).decode("utf-8", "replace")
    except (OSError, WharfingerError) as exc:
        context.warn(f"dpkg: skipped {path}: {exc}")
        return None


def _owned_file_lists(fs: ImageFS, name: str, arch: str | None, *, distroless: bool) -> list[str]:
    candidates = []
    if distroless:
        candidates += [f"{_STATUS_D}/{name}.md5sums"]
    for stem in ([f"{name}:{arch}"] if arch else []) + [name]:
        candidates += [f"{_INFO}/{stem}.list", f"{_INFO}/{stem}.md5sums"]
    return [c for c in candidates if fs.is_file(c)]


def _files_of(text: str, *, md5sums: bool) -> list[str]:
    files = []
    for line in text.splitlines():
        if md5sums:
            _, _, line_path = line.partition("  ")
            path = line_path.strip()
        else:
            path = line.strip()
        if path and path != "/.":
            files.append("/" + path.lstrip("/"))
    return files


class DpkgCataloger:
    name = "dpkg"
    version = "2"  # 2: CPEs
    kind: CatalogerKind = "os"
    executable_filter: ExecutableFilter | None = None
    evidence: Evidence = "installed"
    patterns: tuple[str, ...] = (
        _STATUS,
        f"{_STATUS_D}/*",
        f"{_INFO}/*.list",
        f"{_INFO}/*.md5sums",
        "/usr/share/doc/*/copyright",
    )

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        paragraphs: list[_Paragraph] = []
        if fs.is_file(_STATUS) and (text := _read_text(fs, _STATUS, context, context.max_file_bytes)) is not None:
            paragraphs += [_Paragraph(p, _STATUS) for p in parse_deb822(text) if _is_installed(p)]
        if fs.is_dir(_STATUS_D):
            for entry in fs.listdir(_STATUS_D):
                path = f"{_STATUS_D}/{entry}"
                if entry.startswith(".") or entry.endswith(_CONTROL_SUFFIXES):
                    continue
                if not fs.is_file(path):
                    continue
                text = _read_text(fs, path, context, context.max_file_bytes)
                if text is not None:
                    paragraphs += [_Paragraph(p, path) for p in parse_deb822(text) if _is_installed(p)]
        packages: dict[tuple[str, str, str | None], Package] = {}
        for paragraph in paragraphs:
            package = self._package(fs, context, paragraph)
            if package is not None:
                packages.setdefault((package.name, package.version, package.arch), package)
        return list(packages.values())

    def _package(self, fs: ImageFS, context: CatalogContext, paragraph: _Paragraph) -> Package | None:
        fields = paragraph.fields
        name = fields.get("Package", "").strip()
        version = fields.get("Version", "").strip()
        if not version:
            return None  # a stub paragraph (only Package:, as dpkg keeps for removed packages)
        if not name:
            context.warn(f"dpkg: a paragraph in {paragraph.path} has no Package or Version; skipped")
            return None
        arch = fields.get("Architecture", "").strip() or None
        source_name, source_version = name, version
        if (source := fields.get("Source", "").strip()) and (m := _SOURCE_FIELD.match(source)):
            source_name = m.group("name")
            source_version = m.group("version") or version
        distroless = paragraph.path.startswith(_STATUS_D)
        locations = [Location(path=paragraph.path, layer_digest=fs.layer_of(paragraph.path))]
        list_files = _owned_file_lists(fs, name, arch, distroless=distroless)
        locations += [Location(path=f, layer_digest=fs.layer_of(f)) for f in list_files[:1]]
        licenses: tuple[str, ...] = ()
        copyright_path = f"/usr/share/doc/{name}/copyright"
        if fs.is_file(copyright_path):
            text = _read_text(fs, copyright_path, context, _MAX_COPYRIGHT_BYTES)
            if text is not None:
                licenses = parse_copyright_licenses(text)
                locations.append(Location(path=copyright_path, layer_digest=fs.layer_of(copyright_path)))
        upstream = None
        if source_name != name or source_version != version:
            upstream = source_name if source_version == version else f"{source_name}@{source_version}"
        metadata = [
            ("maintainer", fields.get("Maintainer", "")),
            ("installed_size_kib", fields.get("Installed-Size", "")),
        ]
        # the layer that installed the package: where its file list was written (status changes in every layer)
        introduced = locations[1].layer_digest if len(locations) > 1 and list_files else locations[0].layer_digest
        return Package(
            name=name,
            version=version,
            type=PackageType.DEB,
            purl=os_package_purl(
                PackageType.DEB,
                distro=context.distro,
                name=name,
                version=version,
                arch=arch,
                upstream=upstream,
                default_namespace="debian",
            ),
            cpes=os_package_cpes(name, version, source_name=source_name),
            licenses=licenses,
            source_name=source_name,
            source_version=source_version,
            arch=arch,
            layer_digest=introduced,
            locations=tuple(locations),
            metadata=tuple(sorted((k, v) for k, v in metadata if v)),
        )

    def owned_files(self, fs: ImageFS) -> set[str]:
        """Every path dpkg says it installed (for ``CatalogContext.os_owned_files``)."""
        owned: set[str] = set()
        for pattern, suffix, md5sums in (
            (f"{_INFO}/*.list", ".list", False),
            (f"{_INFO}/*.md5sums", ".md5sums", True),
            (f"{_STATUS_D}/*", ".md5sums", True),  # the selected glob itself: an image's reader globs selections only
        ):
            for path in fs.glob([pattern]):
                if not path.endswith(suffix):
                    continue
                try:
                    text = fs.read_bytes(path, 64 * 1024 * 1024).decode("utf-8", "replace")
                except (OSError, WharfingerError):
                    continue
                owned.update(_files_of(text, md5sums=md5sums))
        return owned


def _is_installed(fields: dict[str, str]) -> bool:
    status = fields.get("Status")
    if status is None:
        return True  # distroless status.d files carry no Status: every entry is installed
    # "want flag state": the files are on disk unless the state says they are gone, whatever is wanted
    words = status.split()
    return len(words) == _STATUS_WORDS and words[2] not in {"not-installed", "config-files"}


DPKG = DpkgCataloger()
