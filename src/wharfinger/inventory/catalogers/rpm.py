"""RPM packages (RHEL/UBI, Rocky, Alma, Oracle, Amazon Linux, Azure Linux/CBL-Mariner, SUSE, Fedora).

The database is found where rpm keeps it (``/var/lib/rpm`` or ``/usr/lib/sysimage/rpm``), in the
newest backend present: SQLite, then NDB, then Berkeley DB. See ``inventory.rpmdb`` for the formats.
``gpg-pubkey`` entries are signing keys imported into the database, not software; they are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wharfinger.errors import WharfingerError
from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence, ExecutableFilter
from wharfinger.inventory.catalogers.identifiers import os_package_cpes
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package, PackageType
from wharfinger.inventory.purl import os_package_purl

if TYPE_CHECKING:
    from wharfinger.inventory.rpmdb import RpmHeader

__all__ = ["RPM", "RpmCataloger", "find_rpmdb"]

_DIRECTORIES = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
_FILES = ("rpmdb.sqlite", "Packages.db", "Packages")  # newest backend first


def find_rpmdb(fs: ImageFS) -> str | None:
    for directory in _DIRECTORIES:
        for name in _FILES:
            if fs.is_file(f"{directory}/{name}"):
                return f"{directory}/{name}"
    return None


def _headers(fs: ImageFS, context: CatalogContext) -> tuple[str, list[RpmHeader]] | None:
    path = find_rpmdb(fs)
    if path is None:
        return None
    # the formats' readers (~1 ms of imports) only for an image that has an rpm database
    from wharfinger.inventory.rpmdb import parse_header, read_rpmdb_blobs  # noqa: PLC0415

    try:
        database = fs.read_bytes(path, context.max_file_bytes * 4)
        headers = []
        for blob in read_rpmdb_blobs(path, database):
            try:
                headers.append(parse_header(blob))
            except WharfingerError as exc:
                context.warn(f"rpm: skipped a package in {path}: {exc.message}")
    except (OSError, WharfingerError) as exc:
        context.warn(f"rpm: skipped {path}: {exc}")
        return None
    return path, headers


def _source_name_version(source_rpm: str | None) -> tuple[str | None, str | None]:
    # "openssl-3.0.7-24.el9.src.rpm" → ("openssl", "3.0.7-24.el9")
    if not source_rpm or not source_rpm.endswith(".rpm"):
        return None, None
    stem = source_rpm.removesuffix(".rpm").rsplit(".", 1)[0]  # drop ".src"/".nosrc"
    parts = stem.rsplit("-", 2)
    if len(parts) != 3:  # noqa: PLR2004 -- name-version-release
        return None, None
    return parts[0], f"{parts[1]}-{parts[2]}"


class RpmCataloger:
    name = "rpm"
    version = "2"  # 2: CPEs
    kind: CatalogerKind = "os"
    executable_filter: ExecutableFilter | None = None
    evidence: Evidence = "installed"
    patterns: tuple[str, ...] = tuple(f"{d}/{f}" for d in _DIRECTORIES for f in _FILES)

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        found = _headers(fs, context)
        if found is None:
            return []
        path, headers = found
        location = Location(path=path, layer_digest=fs.layer_of(path))
        packages = []
        for header in headers:
            if header.name == "gpg-pubkey":
                continue
            source_name, source_version = _source_name_version(header.source_rpm)
            metadata = [
                ("vendor", header.vendor or ""),
                ("modularity_label", header.modularity_label or ""),
                ("source_rpm", header.source_rpm or ""),
            ]
            packages.append(
                Package(
                    name=header.name,
                    version=header.evr,
                    type=PackageType.RPM,
                    purl=os_package_purl(
                        PackageType.RPM,
                        distro=context.distro,
                        name=header.name,
                        version=f"{header.version}-{header.release}",
                        arch=header.arch,
                        epoch=str(header.epoch) if header.epoch else None,
                        upstream=header.source_rpm,
                        default_namespace="redhat",
                    ),
                    cpes=os_package_cpes(header.name, header.evr, source_name=source_name),
                    licenses=(header.license,) if header.license else (),
                    source_name=source_name,
                    source_version=source_version,
                    arch=header.arch,
                    layer_digest=location.layer_digest,
                    locations=(location,),
                    metadata=tuple(sorted((k, v) for k, v in metadata if v)),
                )
            )
        return packages

    def owned_files(self, fs: ImageFS) -> set[str]:
        found = _headers(fs, CatalogContext(distro=None))
        if found is None:
            return set()
        return {f for header in found[1] for f in header.files}


RPM = RpmCataloger()
