"""Java archives: jar, war, ear, par (and Jenkins jpi/hpi), nested archives included.

``parse_java_archive`` opens an archive from bytes and reports, for it and for every archive
nested in it (``WEB-INF/lib``, Spring Boot ``BOOT-INF/lib``, ``lib/`` of an ear …):

1. one package per ``pom.properties`` (``META-INF/maven/<group>/<artifact>/`` by convention, but
   read wherever it is, as trivy does) — a shaded ("uber") jar reports every artifact it embeds;
2. ``META-INF/maven/**/pom.xml`` where no ``pom.properties`` sits beside it (coordinates from
   ``<groupId>``/``<artifactId>``/``<version>``, the parent's when the project omits them);
3. when neither names the archive itself, the ``MANIFEST.MF`` main section: version from
   ``Implementation-Version``/``Bundle-Version``/``Specification-Version`` (or the file name),
   artifact from the file name or ``Implementation-Title``/``Bundle-SymbolicName``, group
   inferred from ``Implementation-Vendor-Id``, ``Bundle-SymbolicName``, ``Automatic-Module-Name``
   or ``Extension-Name`` when one looks like a reverse domain name.

Licenses come from the artifact's ``pom.xml`` ``<licenses>`` and else from ``Bundle-License``.
Archives are untrusted: ``JavaArchiveLimits`` bounds nesting depth, entries, the bytes inflated
from one member and in total, and the compression ratio; a nested archive over a limit is skipped
with a warning, a top-level one raises ``UnsafeArchiveError``.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from wharfinger.errors import PackageMetadataError, UnsafeArchiveError
from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers._documents import Parsed, declared_zip_entries
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package, purl_for
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["JAVA_ARCHIVES", "JAVA_ARCHIVE_SUFFIXES", "JavaArchiveLimits", "parse_java_archive", "parse_manifest"]

JAVA_ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par", ".jpi", ".hpi", ".sar", ".kar", ".rar", ".nar")


@dataclass(frozen=True, slots=True, kw_only=True)
class JavaArchiveLimits:
    """Safe limits for reading one top-level archive and everything nested in it."""

    max_depth: int = 4  # archives inside archives (a Spring Boot fat jar needs 1)
    max_entries: int = 100_000  # zip entries per archive
    max_member_bytes: int = 256 * 1024 * 1024  # bytes inflated from one member (a nested jar)
    max_total_bytes: int = 1024 * 1024 * 1024  # bytes inflated for the whole top-level archive
    max_ratio: int = 200  # inflated/compressed size of a member larger than 1 MiB
    max_metadata_bytes: int = 4 * 1024 * 1024  # bytes of one pom.xml, pom.properties or manifest


_RATIO_FLOOR_BYTES = 1024 * 1024  # small members may compress arbitrarily well (runs of spaces)
_FILENAME_VERSION = re.compile(
    r"^(?P<name>.+?)[-_](?P<version>\d[\w.+~-]*?)(?:[-.](?:final|release|ga))?$", re.IGNORECASE
)
_REVERSE_DOMAIN = re.compile(r"^(?:com|org|io|net|de|edu|gov|uk|fr|ch|jp|me|dev|co|nl|be|at|eu|info|biz)\.[\w.-]+$")
_POM_NS = re.compile(r"^\{[^}]*\}")


class _Budget:
    """Inflated bytes left for one top-level archive, shared by all nested reads."""

    def __init__(self, limits: JavaArchiveLimits) -> None:
        self.limits = limits
        self.remaining = limits.max_total_bytes


@dataclass
class _Artifact:
    group: str
    artifact: str
    version: str
    source: str  # the archive entry that named it
    licenses: list[str] = field(default_factory=list)
    name: str = ""  # <name> from pom.xml, for display only


# --- small formats -----------------------------------------------------------------------------


def parse_manifest(text: str) -> dict[str, str]:
    """The main section of a ``MANIFEST.MF`` (continuation lines start with one space)."""
    attributes: dict[str, str] = {}
    last: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            if attributes:
                break  # the main section ends at the first blank line
            continue
        if raw.startswith(" ") and last is not None:
            attributes[last] += raw[1:]
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        last = key.strip()
        attributes[last] = value.strip()
    return attributes


def _parse_properties(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        match = re.match(r"^([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip()
    return values


def _child_text(element: Element | None, tag: str) -> str:
    if element is None:
        return ""
    for child in element:
        if _POM_NS.sub("", child.tag) == tag:
            return (child.text or "").strip()
    return ""


def _child(element: Element, tag: str) -> Element | None:
    for child in element:
        if _POM_NS.sub("", child.tag) == tag:
            return child
    return None


_PROPERTY = re.compile(r"\$\{([^}]+)\}")


def _expand(value: str, properties: dict[str, str]) -> str:
    """``${project.version}``-style references, a few rounds deep (properties may refer to others)."""
    for _ in range(5):
        expanded = _PROPERTY.sub(lambda m: properties.get(m.group(1), m.group(0)), value)
        if expanded == value:
            break
        value = expanded
    return value


def _parse_pom(data: bytes, where: str) -> tuple[_Artifact | None, list[str]]:
    """Coordinates and licence names of a pom.xml; (None, []) when it cannot be read."""
    # imported here: the XML stack costs 5-15 ms at start-up and most images hold no pom.xml
    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.ElementTree import ParseError  # noqa: PLC0415
    from defusedxml.ElementTree import fromstring as parse_xml  # noqa: PLC0415

    try:
        root = parse_xml(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, RecursionError):
        return None, []
    parent = _child(root, "parent")
    licenses: list[str] = []
    licenses_element = _child(root, "licenses")
    if licenses_element is not None:
        for lic in licenses_element:
            name = _child_text(lic, "name") or _child_text(lic, "url")
            if name:
                licenses.append(name)
    group = _child_text(root, "groupId") or _child_text(parent, "groupId")
    artifact = _child_text(root, "artifactId")
    version = _child_text(root, "version") or _child_text(parent, "version")
    properties = {
        "project.groupId": group,
        "project.artifactId": artifact,
        "project.version": version,
        "pom.version": version,
        "project.parent.groupId": _child_text(parent, "groupId"),
        "project.parent.version": _child_text(parent, "version"),
        "parent.version": _child_text(parent, "version"),
    }
    declared = _child(root, "properties")
    if declared is not None:
        properties.update({_POM_NS.sub("", p.tag): (p.text or "").strip() for p in declared})
    group, artifact, version = (_expand(value, properties) for value in (group, artifact, version))
    if not artifact or "${" in group + artifact + version:
        return None, licenses  # a property we cannot resolve without the parent pom
    return _Artifact(
        group=group, artifact=artifact, version=version, source=where, name=_child_text(root, "name")
    ), licenses


# --- archive reading ---------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, *, limit: int, where: str) -> bytes:
    limits = budget.limits
    if info.file_size > limit:
        raise UnsafeArchiveError(
            f"{where} declares {info.file_size} bytes, over the {limit}-byte limit",
            hint="raise JavaArchiveLimits if the archive is genuine; the member is skipped",
        )
    if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise UnsafeArchiveError(
            f"{where} inflates {info.file_size / max(info.compress_size, 1):.0f}x (limit {limits.max_ratio}x)",
            hint="a zip bomb; the member is skipped",
        )
    cap = min(limit, budget.remaining)
    with archive.open(info) as member:
        data = member.read(cap + 1)  # the header may lie about sizes: count what actually inflates
    if len(data) > cap:
        raise UnsafeArchiveError(
            f"{where} inflates past {cap} bytes (per-member or per-archive budget)",
            hint="a zip bomb; the member is skipped",
        )
    budget.remaining -= len(data)
    return data


def _open_zip(data: bytes | BinaryIO, where: str, limits: JavaArchiveLimits) -> zipfile.ZipFile:
    handle = io.BytesIO(data) if isinstance(data, bytes) else data
    declared = declared_zip_entries(handle)
    if declared is not None and declared > limits.max_entries:
        raise UnsafeArchiveError(
            f"{where} declares {declared} entries (limit {limits.max_entries})",
            hint="no real Java archive has that many; it is skipped",
        )
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PackageMetadataError(
            f"{where} is not a readable zip archive: {exc}", hint="the archive is corrupt or not a zip; it is skipped"
        ) from exc
    if len(archive.infolist()) > limits.max_entries:
        archive.close()
        raise UnsafeArchiveError(
            f"{where} has {len(archive.infolist())} entries (limit {limits.max_entries})",
            hint="no real Java archive has that many; it is skipped",
        )
    return archive


def _filename_coordinates(entry_path: str) -> tuple[str, str]:
    stem = entry_path.rsplit("/", 1)[-1]
    for suffix in JAVA_ARCHIVE_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    match = _FILENAME_VERSION.match(stem)
    return (match.group("name"), match.group("version")) if match else (stem, "")


def _manifest_group(manifest: dict[str, str], artifact: str) -> str:
    vendor_id = manifest.get("Implementation-Vendor-Id", "").strip()
    if _REVERSE_DOMAIN.match(vendor_id):
        return vendor_id
    for key in ("Bundle-SymbolicName", "Automatic-Module-Name", "Extension-Name"):
        value = manifest.get(key, "").split(";", 1)[0].strip()
        if not _REVERSE_DOMAIN.match(value):
            continue
        segments = value.split(".")
        if segments[-1] in (artifact, artifact.replace("-", ".")) or len(segments) > 2:  # noqa: PLR2004
            return ".".join(segments[:-1])
        return value
    return ""


def _manifest_artifact(manifest: dict[str, str], entry_path: str) -> _Artifact | None:
    file_name, file_version = _filename_coordinates(entry_path)
    version = (
        manifest.get("Implementation-Version")
        or manifest.get("Bundle-Version")
        or manifest.get("Specification-Version")
        or file_version
    ).split(" ", 1)[0]
    artifact = file_name or manifest.get("Implementation-Title", "") or manifest.get("Bundle-SymbolicName", "")
    if not artifact or not version:
        return None
    return _Artifact(
        group=_manifest_group(manifest, artifact), artifact=artifact, version=version, source="META-INF/MANIFEST.MF"
    )


def _java_package(found: _Artifact, location: Location, archive_path: str) -> Package:
    vendor = found.artifact
    segments = found.group.split(".")
    if len(segments) >= 2 and _REVERSE_DOMAIN.match(found.group):  # noqa: PLR2004 - org.apache → apache
        vendor = segments[1]
    return language_package(
        name=found.artifact,
        version=found.version,
        type_=PackageType.MAVEN,
        location=location,
        purl=purl_for(PackageType.MAVEN, found.artifact, found.version, namespace=found.group or None),
        cpes=(cpe23(vendor, found.artifact, found.version),),
        licenses=tuple(to_spdx(lic) for lic in found.licenses),
        metadata={"archive_entry": f"{archive_path}!/{found.source}" if archive_path else found.source}
        | ({"group_id": found.group} if found.group else {}),
    )


def _catalog_archive(  # noqa: PLR0917 - a private recursive walker; its state travels as arguments
    data: bytes | BinaryIO,
    archive_path: str,
    location: Location,
    budget: _Budget,
    depth: int,
    packages: list[Package],
    warnings: list[str],
) -> None:
    where = f"{location.path}!/{archive_path}" if archive_path else location.path
    limits = budget.limits
    with _open_zip(data, where, limits) as archive:
        infos = archive.infolist()
        properties: dict[str, _Artifact] = {}  # by META-INF/maven/<g>/<a>/ folder
        poms: dict[str, tuple[_Artifact | None, list[str]]] = {}
        manifest: dict[str, str] = {}
        nested: list[zipfile.ZipInfo] = []
        for info in infos:
            name = info.filename
            lowered = name.lower()
            if info.is_dir():
                continue
            try:
                if lowered.endswith("pom.properties"):  # META-INF/maven/g/a/ by convention, anywhere in practice
                    text = _read_member(
                        archive, info, budget, limit=limits.max_metadata_bytes, where=f"{where}!/{name}"
                    )
                    values = _parse_properties(text.decode("utf-8", "replace"))
                    if values.get("artifactId") and values.get("version"):
                        properties[name.rsplit("/", 1)[0]] = _Artifact(
                            group=values.get("groupId", ""),
                            artifact=values["artifactId"],
                            version=values["version"],
                            source=name,
                        )
                elif lowered.startswith("meta-inf/maven/") and lowered.endswith("/pom.xml"):
                    text = _read_member(
                        archive, info, budget, limit=limits.max_metadata_bytes, where=f"{where}!/{name}"
                    )
                    poms[name.rsplit("/", 1)[0]] = _parse_pom(text, name)
                elif lowered == "meta-inf/manifest.mf":
                    text = _read_member(
                        archive, info, budget, limit=limits.max_metadata_bytes, where=f"{where}!/{name}"
                    )
                    manifest = parse_manifest(text.decode("utf-8", "replace"))
                elif lowered.endswith(JAVA_ARCHIVE_SUFFIXES):
                    nested.append(info)
            except UnsafeArchiveError as exc:
                warnings.append(exc.message)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                warnings.append(f"{where}!/{name} cannot be read: {exc}")

        found: list[_Artifact] = []
        for folder, artifact in properties.items():
            pom_artifact, pom_licenses = poms.get(folder, (None, []))
            artifact.licenses = pom_licenses
            if pom_artifact is not None and not artifact.group:
                artifact.group = pom_artifact.group
            found.append(artifact)
        for folder, (pom_artifact, pom_licenses) in poms.items():
            if folder not in properties and pom_artifact is not None and pom_artifact.version:
                pom_artifact.licenses = pom_licenses
                found.append(pom_artifact)

        file_name, _ = _filename_coordinates(archive_path or location.path)
        names_itself = any(a.artifact == file_name for a in found) or (len(found) == 1 and not archive_path)
        if not names_itself:
            from_manifest = _manifest_artifact(manifest, archive_path or location.path)
            if from_manifest is not None and not any(
                (a.artifact, a.version) == (from_manifest.artifact, from_manifest.version) for a in found
            ):
                found.append(from_manifest)
        bundle_license = manifest.get("Bundle-License", "").split(";", 1)[0].strip()
        for artifact in found:
            describes_archive = artifact.source == "META-INF/MANIFEST.MF" or artifact.artifact == file_name
            if not artifact.licenses and bundle_license and (describes_archive or len(found) == 1):
                artifact.licenses = [bundle_license]  # the manifest speaks for the archive, not what it shades
            packages.append(_java_package(artifact, location, archive_path))

        for info in nested:
            inner_path = f"{archive_path}!/{info.filename}" if archive_path else info.filename
            if depth + 1 > limits.max_depth:
                warnings.append(
                    f"{where}!/{info.filename} is nested {depth + 1} archives deep (limit {limits.max_depth}); skipped"
                )
                continue
            try:
                inner = _read_member(
                    archive, info, budget, limit=limits.max_member_bytes, where=f"{where}!/{info.filename}"
                )
                _catalog_archive(inner, inner_path, location, budget, depth + 1, packages, warnings)
            except (UnsafeArchiveError, PackageMetadataError) as exc:
                warnings.append(exc.message)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                warnings.append(f"{where}!/{info.filename} cannot be read: {exc}")


def parse_java_archive(
    data: bytes | BinaryIO, location: Location, *, limits: JavaArchiveLimits | None = None
) -> Parsed:
    """Every Maven artifact in a Java archive (bytes or a seekable file) and the archives nested in it."""
    budget = _Budget(limits or JavaArchiveLimits())
    packages: list[Package] = []
    warnings: list[str] = []
    _catalog_archive(data, "", location, budget, 0, packages, warnings)
    unique: dict[tuple[str, str, str], Package] = {}
    for package in packages:
        unique.setdefault((package.purl, package.name, package.version), package)
    return Parsed(packages=tuple(unique.values()), warnings=tuple(warnings))


def _archive_in_fs(fs: ImageFS, path: str, location: Location, context: CatalogContext) -> Parsed:  # noqa: ARG001
    with fs.open(path) as handle:  # zipfile seeks to the central directory: no full read of a fat jar
        return parse_java_archive(handle, location)


JAVA_ARCHIVES = FileCataloger(
    name="java-archive",
    version="1",
    rules=tuple(FileRule(pattern=f"**/*{suffix}", parse_in_fs=_archive_in_fs) for suffix in JAVA_ARCHIVE_SUFFIXES),
)
