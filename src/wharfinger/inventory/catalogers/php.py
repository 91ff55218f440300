"""PHP packages: ``composer.lock`` and ``vendor/composer/installed.json``.

* ``parse_composer_lock``: ``packages`` and ``packages-dev`` (the latter marked ``dev=true``).
* ``parse_installed_json``: Composer 1 writes a JSON array of packages, Composer 2 an object with
  ``packages``, and ``dev-package-names`` for the dev-only ones.

Versions are reported as Composer wrote them (``v5.4.0`` keeps its ``v``, as Packagist and the
advisory databases do). purls: ``pkg:composer/symfony/console@v5.4.0``.
"""

from __future__ import annotations

import json
from typing import Any

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.catalogers._documents import Parsed, check_size, decode_text
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["PHP_COMPOSER_LOCKS", "PHP_INSTALLED", "parse_composer_lock", "parse_installed_json"]


def _composer(entry: dict[str, Any], location: Location, *, is_dev: bool) -> Package | None:
    name, version = entry.get("name"), entry.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    raw_licenses = entry.get("license")
    licenses = raw_licenses if isinstance(raw_licenses, list) else [raw_licenses]
    vendor, _, product = name.partition("/")
    return language_package(
        name=name,
        version=version,
        type_=PackageType.COMPOSER,
        location=location,
        cpes=(cpe23(vendor, product or vendor, version.removeprefix("v")),),
        licenses=tuple(to_spdx(lic) for lic in licenses if isinstance(lic, str)),
        metadata={"dev": "true"} if is_dev else None,
    )


def _collect(entries: Any, location: Location, dev_names: set[str], *, all_dev: bool = False) -> Parsed:
    if not isinstance(entries, list):
        raise PackageMetadataError(f"{location.path}: packages is not a list", hint="the file is corrupt; skipped")
    packages: list[Package] = []
    warnings: list[str] = []
    for entry in entries:
        package = (
            _composer(entry, location, is_dev=all_dev or entry.get("name") in dev_names)
            if isinstance(entry, dict)
            else None
        )
        if package is None:
            warnings.append(f"{location.path}: a package entry has no name or version; skipped")
        else:
            packages.append(package)
    return Parsed(packages=tuple(packages), warnings=tuple(warnings))


def _load(data: bytes, location: Location) -> Any:
    """Any JSON value: installed.json of Composer 1 is a list, not an object."""
    check_size(data, location)
    try:
        return json.loads(decode_text(data, location))
    except (ValueError, RecursionError) as exc:
        raise PackageMetadataError(
            f"{location.path} is not valid JSON: {str(exc)[:200]}", hint="the file is malformed; it is skipped"
        ) from exc


def parse_composer_lock(data: bytes, location: Location) -> Parsed:
    doc = _load(data, location)
    if not isinstance(doc, dict):
        raise PackageMetadataError(f"{location.path} is not a JSON object", hint="the file is not a composer.lock")
    runtime = _collect(doc.get("packages") or [], location, set())
    dev = _collect(doc.get("packages-dev") or [], location, set(), all_dev=True)
    return Parsed(packages=runtime.packages + dev.packages, warnings=runtime.warnings + dev.warnings)


def parse_installed_json(data: bytes, location: Location) -> Parsed:
    doc = _load(data, location)
    if isinstance(doc, list):  # Composer 1
        return _collect(doc, location, set())
    if not isinstance(doc, dict):
        raise PackageMetadataError(f"{location.path} is neither a list nor an object", hint="not an installed.json")
    dev_names = doc.get("dev-package-names")
    return _collect(doc.get("packages") or [], location, set(dev_names) if isinstance(dev_names, list) else set())


PHP_INSTALLED = FileCataloger(
    name="php-composer-installed",
    version="1",
    rules=(FileRule(pattern="**/vendor/composer/installed.json", parse=parse_installed_json),),
)

PHP_COMPOSER_LOCKS = FileCataloger(
    name="php-composer-lock",
    version="1",
    evidence="declared",
    rules=(FileRule(pattern="**/composer.lock", parse=parse_composer_lock, skip_inside=("/vendor/",)),),
)
