""".NET packages: ``*.deps.json`` next to built assemblies and NuGet ``packages.lock.json``.

* ``parse_deps_json``: every ``libraries`` entry of type ``package`` (``project`` entries are the
  application's own assemblies; ``reference assemblies`` ship with the SDK).
* ``parse_packages_lock``: every resolved dependency of every target framework, except
  ``Project`` references.

purls: ``pkg:nuget/Newtonsoft.Json@13.0.1``.
"""

from __future__ import annotations

from wharfinger.inventory.catalogers._documents import Parsed, load_json_object
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["parse_deps_json", "parse_packages_lock"]


def _nuget(name: str, version: str, location: Location) -> Package:
    return language_package(
        name=name,
        version=version,
        type_=PackageType.NUGET,
        location=location,
        cpes=(cpe23(name.split(".", maxsplit=1)[0], name, version),),
    )


def parse_deps_json(data: bytes, location: Location) -> Parsed:
    doc = load_json_object(data, location)
    libraries = doc.get("libraries")
    if not isinstance(libraries, dict):
        return Parsed(warnings=(f"{location.path} has no `libraries` object; nothing to report",))
    found: dict[tuple[str, str], Package] = {}
    warnings: list[str] = []
    for key, entry in libraries.items():
        if not isinstance(entry, dict) or str(entry.get("type", "")).lower() != "package":
            continue
        name, sep, version = key.partition("/")
        if not sep or not name or not version:
            warnings.append(f"{location.path}: library key {key!r} is not `name/version`; skipped")
            continue
        found.setdefault((name, version), _nuget(name, version, location))
    return Parsed(packages=tuple(found.values()), warnings=tuple(warnings))


def parse_packages_lock(data: bytes, location: Location) -> Parsed:
    doc = load_json_object(data, location)
    frameworks = doc.get("dependencies")
    if not isinstance(frameworks, dict):
        return Parsed(warnings=(f"{location.path} has no `dependencies` object; nothing to report",))
    found: dict[tuple[str, str], Package] = {}
    for packages in frameworks.values():
        if not isinstance(packages, dict):
            continue
        for name, entry in packages.items():
            if not isinstance(entry, dict) or str(entry.get("type", "")).lower() == "project":
                continue
            version = entry.get("resolved")
            if isinstance(version, str) and version:
                found.setdefault((name, version), _nuget(name, version, location))
    return Parsed(packages=tuple(found.values()))
