""".NET packages: ``*.deps.json`` next to built assemblies and NuGet ``packages.lock.json``.

* ``parse_deps_json``: every ``libraries`` entry of type ``package`` (``project`` entries are the
  application's own assemblies; ``reference assemblies`` ship with the SDK) that the runtime
  target deploys something of (``runtime``, ``runtimeTargets`` or ``native`` assets), as trivy
  does: meta-packages and compile-only references put no code in the image.
* ``parse_packages_lock``: every resolved dependency of every target framework, except
  ``Project`` references.

purls: ``pkg:nuget/Newtonsoft.Json@13.0.1``.
"""

from __future__ import annotations

from typing import Any

from wharfinger.inventory.catalogers._documents import Parsed, load_json_object
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["DOTNET_DEPS", "DOTNET_LOCKS", "parse_deps_json", "parse_packages_lock"]


def _nuget(name: str, version: str, location: Location) -> Package:
    return language_package(
        name=name,
        version=version,
        type_=PackageType.NUGET,
        location=location,
        cpes=(cpe23(name.split(".", maxsplit=1)[0], name, version),),
    )


_ASSET_KINDS = ("runtime", "runtimeTargets", "native")


def _assetless_libraries(doc: dict[str, Any]) -> set[str]:
    """Library keys the runtime target lists without any asset (absent ones are kept: no evidence)."""
    runtime_target = doc.get("runtimeTarget")
    name = runtime_target.get("name") if isinstance(runtime_target, dict) else None
    targets = doc.get("targets")
    target = targets.get(name) if isinstance(targets, dict) and isinstance(name, str) else None
    if not isinstance(target, dict):
        return set()
    return {
        key
        for key, assets in target.items()
        if isinstance(assets, dict) and not any(assets.get(k) for k in _ASSET_KINDS)
    }


def parse_deps_json(data: bytes, location: Location) -> Parsed:
    doc = load_json_object(data, location)
    libraries = doc.get("libraries")
    if not isinstance(libraries, dict):
        return Parsed(warnings=(f"{location.path} has no `libraries` object; nothing to report",))
    found: dict[tuple[str, str], Package] = {}
    warnings: list[str] = []
    assetless = _assetless_libraries(doc)
    for key, entry in libraries.items():
        if not isinstance(entry, dict) or str(entry.get("type", "")).lower() != "package":
            continue
        if key in assetless:
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


DOTNET_DEPS = FileCataloger(
    name="dotnet-deps",
    version="1",
    rules=(FileRule(pattern="**/*.deps.json", parse=parse_deps_json),),
)

DOTNET_LOCKS = FileCataloger(
    name="dotnet-packages-lock",
    version="1",
    evidence="declared",
    rules=(FileRule(pattern="**/packages.lock.json", parse=parse_packages_lock),),
)
