"""Alpine, Wolfi and Chainguard packages: ``/lib/apk/db/installed``.

Each package is a block of ``X:value`` lines (``P`` name, ``V`` version, ``A`` arch, ``L`` license,
``o`` origin, ``m`` maintainer); ``F:`` and ``R:`` lines name the directories and files it owns.
"""

from __future__ import annotations

from collections.abc import Iterator

from wharfinger.errors import WharfingerError
from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence, ExecutableFilter
from wharfinger.inventory.catalogers.identifiers import os_package_cpes
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package, PackageType
from wharfinger.inventory.purl import os_package_purl

__all__ = ["APK", "ApkCataloger", "parse_apk_installed"]

_INSTALLED = "/lib/apk/db/installed"


def parse_apk_installed(text: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    """(fields, owned files) for each package block; repeated keys other than F/R keep the first value."""
    fields: dict[str, str] = {}
    files: list[str] = []
    directory = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields, files
            fields, files, directory = {}, [], ""
            continue
        key, sep, value = line.partition(":")
        if not sep or len(key) != 1:
            continue
        if key == "F":
            directory = value.strip("/")
        elif key == "R":
            files.append(f"/{directory}/{value}" if directory else f"/{value}")
        else:
            fields.setdefault(key, value)
    if fields:
        yield fields, files


def _license_expression(raw: str) -> tuple[str, ...]:
    # apk writes "MIT BSD-2-Clause" (space-separated, meaning AND) or an SPDX expression already
    text = raw.strip()
    if not text:
        return ()
    if any(op in text for op in (" AND ", " OR ", " WITH ", "(")):
        return (text,)
    return tuple(dict.fromkeys(text.split()))


class ApkCataloger:
    name = "apk"
    version = "2"  # 2: CPEs
    kind: CatalogerKind = "os"
    executable_filter: ExecutableFilter | None = None
    evidence: Evidence = "installed"
    patterns: tuple[str, ...] = (_INSTALLED,)

    def _text(self, fs: ImageFS, context: CatalogContext) -> str | None:
        if not fs.is_file(_INSTALLED):
            return None
        try:
            return fs.read_bytes(_INSTALLED, context.max_file_bytes).decode("utf-8", "replace")
        except (OSError, WharfingerError) as exc:
            context.warn(f"apk: skipped {_INSTALLED}: {exc}")
            return None

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        text = self._text(fs, context)
        if text is None:
            return []
        location = Location(path=_INSTALLED, layer_digest=fs.layer_of(_INSTALLED))
        packages: list[Package] = []
        for fields, _ in parse_apk_installed(text):
            name, version = fields.get("P", ""), fields.get("V", "")
            if not name or not version:
                context.warn(f"apk: a package in {_INSTALLED} has no P: or V: line; skipped")
                continue
            arch = fields.get("A") or None
            origin = fields.get("o") or None
            metadata = [("maintainer", fields.get("m", "")), ("commit", fields.get("c", ""))]
            packages.append(
                Package(
                    name=name,
                    version=version,
                    type=PackageType.APK,
                    purl=os_package_purl(
                        PackageType.APK,
                        distro=context.distro,
                        name=name,
                        version=version,
                        arch=arch,
                        upstream=origin if origin and origin != name else None,
                        default_namespace="alpine",
                    ),
                    cpes=os_package_cpes(name, version, source_name=origin),
                    licenses=_license_expression(fields.get("L", "")),
                    source_name=origin or name,
                    source_version=version,
                    arch=arch,
                    layer_digest=location.layer_digest,
                    locations=(location,),
                    metadata=tuple(sorted((k, v) for k, v in metadata if v)),
                )
            )
        return packages

    def owned_files(self, fs: ImageFS) -> set[str]:
        text = self._text(fs, _QUIET_CONTEXT)
        if text is None:
            return set()
        return {path for _, files in parse_apk_installed(text) for path in files}


_QUIET_CONTEXT = CatalogContext(distro=None)

APK = ApkCataloger()
