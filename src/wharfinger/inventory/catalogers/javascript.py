"""JavaScript packages: installed ``package.json`` files and npm, yarn, pnpm and bun lock files.

* ``parse_package_json``: one package from any ``package.json`` (``node_modules/`` nested, scoped
  and global ``/usr/lib/node_modules`` alike, the application's own manifest, Debian's
  ``/usr/share/nodejs``). Manifests without a name and a version are not packages (sub-folder
  manifests such as ``{"type": "module"}``) and give nothing.
* ``parse_package_lock``: lockfileVersion 1 (nested ``dependencies``) and 2/3 (flat ``packages``
  keyed by install path; workspace links resolved to their folder's manifest).
* ``parse_yarn_lock``: classic (v1, its own syntax) and berry (YAML); entries resolved through
  ``workspace:``, ``file:``, ``link:``, ``portal:`` or unknown protocols are local code, not packages.
* ``parse_pnpm_lock``: lockfile 5.x (``/name/1.0.0``), 6.x (``/name@1.0.0``) and 9.x (``packages`` +
  ``snapshots``); peer-dependency suffixes are dropped, tarball and directory entries take the
  ``name``/``version`` they declare. Lockfiles 5/6 flag dev-only packages (``dev: true``); like
  trivy we leave them out, since ``pnpm install --prod`` does not install them. A multi-document
  pnpm 9 lock keeps its last document (the first one locks pnpm's own tooling).
* ``parse_bun_lock``: ``bun.lock`` (JSON with trailing commas); workspace members take the version
  of their workspace manifest.

Each package is reported once per (name, version); purls are ``pkg:npm/%40scope/name@version``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.catalogers._documents import (
    Parsed,
    decode_text,
    load_json_object,
    load_yaml_documents,
)
from wharfinger.inventory.catalogers._graph import dev_only
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = [
    "JAVASCRIPT_INSTALLED",
    "JAVASCRIPT_LOCKS",
    "parse_bun_lock",
    "parse_package_json",
    "parse_package_lock",
    "parse_pnpm_lock",
    "parse_yarn_lock",
]


class _Collector:
    """Packages in first-seen order, one per (name, version)."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.found: dict[tuple[str, str], Package] = {}
        self.warnings: list[str] = []

    def add(self, name: str, version: str, *, licenses: Iterable[str] = (), is_dev: bool = False) -> None:
        if not name:
            return
        seen = self.found.get((name, version))
        if seen is not None and (is_dev or ("dev", "true") not in seen.metadata):
            return  # a copy production needs makes the package production, whatever the other copies say
        bare = name.rsplit("/", 1)[-1]
        normalised = tuple(to_spdx(lic) for lic in licenses) or (seen.licenses if seen is not None else ())
        self.found[(name, version)] = language_package(
            name=name,
            version=version,
            type_=PackageType.NPM,
            location=self.location,
            cpes=(cpe23(bare, bare, version, target_sw="node.js"),) if version else (),
            licenses=normalised,
            metadata={"dev": "true"} if is_dev else None,
        )

    def result(self) -> Parsed:
        return Parsed(packages=tuple(self.found.values()), warnings=tuple(self.warnings))


def _licenses(manifest: dict[str, Any]) -> list[str]:
    """``license`` as a string or ``{type}``; the legacy ``licenses`` array of either."""
    found: list[str] = []
    values: list[Any] = []
    for key in ("license", "licenses"):  # both keys hold a string, an object or a list of either
        value = manifest.get(key)
        values.extend(value if isinstance(value, list) else [value])
    for value in values:
        text = value.get("type") if isinstance(value, dict) else value
        if isinstance(text, str) and text.strip():
            found.append(text.strip())
    return found


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# --- installed packages ------------------------------------------------------------------------


# npm's rule (validate-npm-package-name): URL-safe characters, an optional @scope/, no leading . or _
# (upper case is tolerated: old packages such as "JSONStream" have it)
_NPM_NAME = re.compile(r"^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$")


def parse_package_json(data: bytes, location: Location) -> Parsed:
    """One installed package, or nothing for a manifest without name and version."""
    manifest = load_json_object(data, location)
    name, version = _text(manifest.get("name")), _text(manifest.get("version"))
    if not name or not version:
        return Parsed()
    if len(name) > 214 or not _NPM_NAME.match(name):  # noqa: PLR2004 - npm's maximum name length
        raise PackageMetadataError(
            f"{location.path} names the package {name[:80]!r}, which npm would refuse",
            hint="the manifest is not a published package's; it is skipped",
        )
    collector = _Collector(location)
    collector.add(name, version, licenses=_licenses(manifest))
    return collector.result()


# --- package-lock.json -------------------------------------------------------------------------


def _name_from_install_path(path: str) -> str:
    return path.rsplit("node_modules/", 1)[-1]


def parse_package_lock(data: bytes, location: Location) -> Parsed:
    """``package-lock.json`` / ``npm-shrinkwrap.json``, lockfileVersion 1, 2 or 3."""
    doc = load_json_object(data, location)
    collector = _Collector(location)
    packages = doc.get("packages")
    if isinstance(packages, dict):
        for path, entry in packages.items():
            if not path or not isinstance(entry, dict):
                continue  # "" is the project itself
            if "node_modules/" not in path:
                continue  # a workspace folder: reported through the link that installs it
            target = entry
            if entry.get("link"):
                resolved = packages.get(_text(entry.get("resolved")))
                if not isinstance(resolved, dict):
                    collector.warnings.append(f"{location.path}: link {path} points at a missing folder; skipped")
                    continue
                target = resolved
            name = _text(target.get("name")) if entry.get("link") else _text(entry.get("name"))
            name = name or _name_from_install_path(path)
            collector.add(name, _text(target.get("version")), licenses=_licenses(target), is_dev=bool(entry.get("dev")))
        return collector.result()
    dependencies = doc.get("dependencies")
    if not isinstance(dependencies, dict):
        raise PackageMetadataError(
            f"{location.path} has neither `packages` nor `dependencies`",
            hint="the file is not an npm lock file; it is skipped",
        )
    stack: list[dict[str, Any]] = [dependencies]
    while stack:  # iterative: a hostile lock may nest thousands of levels
        level = stack.pop()
        for name, entry in level.items():
            if not isinstance(entry, dict):
                continue
            version = _text(entry.get("version"))
            if version.startswith(("file:", "link:")):
                continue
            collector.add(name, version, is_dev=bool(entry.get("dev")))
            nested = entry.get("dependencies")
            if isinstance(nested, dict):
                stack.append(nested)
    # v1 lists nested installs after their parents; keep the order stable by name for readers
    return collector.result()


# --- yarn.lock ---------------------------------------------------------------------------------

_REGISTRY_PROTOCOLS = ("npm:",)
_LOCAL_PROTOCOLS = ("workspace:", "file:", "link:", "portal:", "patch:", "exec:")


def _split_descriptor(descriptor: str) -> tuple[str, str]:
    """``@scope/name@^1.0`` → (``@scope/name``, ``^1.0``)."""
    descriptor = descriptor.strip().strip('"')
    at = descriptor.find("@", 1)
    if at < 0:
        return descriptor, ""
    return descriptor[:at], descriptor[at + 1 :]


def _yarn_entry_name(header: str) -> str | None:
    """The package name a yarn entry is for, or None when it resolves to local or unknown code."""
    first = header.split(",", maxsplit=1)[0]
    name, spec = _split_descriptor(first)
    if spec.startswith(_LOCAL_PROTOCOLS):
        return None
    if spec.startswith("npm:"):
        alias_target = spec.removeprefix("npm:")
        if "@" in alias_target[1:]:  # "alias@npm:real-name@^1": the package is real-name
            return _split_descriptor(alias_target)[0]
        return name
    if re.match(r"^[a-z][a-z0-9+.-]*:", spec) and not spec.startswith(("http:", "https:")):
        return None  # git:, github:, unsupported: … — not a registry package
    return name


def parse_yarn_lock(data: bytes, location: Location) -> Parsed:
    """``yarn.lock``, classic v1 or berry (v2+)."""
    text = decode_text(data, location)
    collector = _Collector(location)
    header: str | None = None
    version = ""
    saw_entry = False

    def flush() -> None:
        if header is None or header.strip().strip('"') == "__metadata":
            return
        name = _yarn_entry_name(header)
        if name is None:
            return
        if not version or version == "0.0.0-use.local":
            collector.warnings.append(f"{location.path}: entry {header.strip()!r} has no version; skipped")
            return
        collector.add(name, version)

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            if not line.rstrip().endswith(":"):
                raise PackageMetadataError(
                    f"{location.path}: line {line[:80]!r} is neither an entry header nor inside one",
                    hint="the file is not a yarn lock file or is corrupt; it is skipped",
                )
            header, version, saw_entry = line.rstrip()[:-1], "", True
            continue
        if line.startswith("  ") and not line.startswith("   "):
            key, _, value = line.strip().partition(" ")
            if (
                key.strip('"').rstrip(":") == "version"
            ):  # classic `version "1.0"` (keys quoted or not), berry `version: 1.0`
                version = value.strip().strip('"')
    flush()
    if not saw_entry:
        raise PackageMetadataError(f"{location.path} has no entries", hint="the file is not a yarn lock file")
    return collector.result()


# --- pnpm-lock.yaml ----------------------------------------------------------------------------

_PEER_SUFFIX = re.compile(r"\(.*$")
_PNPM_AT_KEYS = 6  # lockfile 6 switched keys from /name/1.0.0 to /name@1.0.0
_PNPM_SNAPSHOTS = 9  # lockfile 9 split resolved packages (snapshots) from package metadata


def _pnpm_key(key: str, *, lock_major: int) -> tuple[str, str]:
    """(name, version) from a packages/snapshots key, peer suffixes dropped."""
    key = _PEER_SUFFIX.sub("", key.strip())
    if lock_major < _PNPM_AT_KEYS and key.startswith("/"):  # /name/1.0.0_peer@2  or  /@scope/name/1.0.0
        body = key[1:]
        name, _, version = body.rpartition("/")
        return name, version.split("_", 1)[0]
    name, version = _split_descriptor(key.removeprefix("/"))
    return name, version


def _is_plain_version(version: str) -> bool:
    return bool(re.match(r"^\d+\.\d+", version)) and ":" not in version and "/" not in version


def parse_pnpm_lock(data: bytes, location: Location) -> Parsed:
    """``pnpm-lock.yaml``, lockfile 5.x, 6.x and 9.x."""
    doc = load_yaml_documents(data, location)[-1]
    collector = _Collector(location)
    raw_version = str(doc.get("lockfileVersion", "")).strip("'\"")
    try:
        lock_major = int(raw_version.split(".")[0])
    except ValueError:
        raise PackageMetadataError(
            f"{location.path} has no usable lockfileVersion ({raw_version!r})",
            hint="the file is not a pnpm lock file; it is skipped",
        ) from None
    packages = doc.get("packages") or {}
    if not isinstance(packages, dict):
        raise PackageMetadataError(f"{location.path}: `packages` is not a mapping", hint="the lock file is corrupt")
    snapshots = doc.get("snapshots")
    keys = list(snapshots) if lock_major >= _PNPM_SNAPSHOTS and isinstance(snapshots, dict) else list(packages)
    dev = _pnpm_dev_only(doc, snapshots) if lock_major >= _PNPM_SNAPSHOTS and isinstance(snapshots, dict) else set()
    for key in keys:
        if not isinstance(key, str):
            continue
        name, version = _pnpm_key(key, lock_major=lock_major)
        entry = packages.get(key) or packages.get(_PEER_SUFFIX.sub("", key)) or {}
        if not isinstance(entry, dict):
            entry = {}
        declared_name, declared_version = _text(entry.get("name")), _text(entry.get("version"))
        if declared_name:
            name = declared_name
        if declared_version:
            version = declared_version
        elif not _is_plain_version(version):
            version = ""  # a directory or tarball dependency without a declared version
        if not name or name.startswith(("file:", "link:")):
            collector.warnings.append(f"{location.path}: entry {key!r} names no package; skipped")
            continue
        if lock_major < _PNPM_SNAPSHOTS and entry.get("dev") is True:  # lockfile 9 dropped the flag
            continue  # as trivy: lockfiles 5/6 mark dev-only packages, which production installs leave out
        collector.add(name, version, is_dev=bool(entry.get("dev")) or key in dev)
    return collector.result()


def _pnpm_dev_only(doc: dict[str, Any], snapshots: dict[str, Any]) -> set[str]:
    """Snapshot keys (``name@version(peers)``) only the importers' devDependencies reach."""

    def refs(deps: Any) -> list[str]:
        if not isinstance(deps, dict):
            return []
        out = []
        for name, ref in deps.items():
            version = ref.get("version") if isinstance(ref, dict) else ref  # importers: {specifier, version}
            if isinstance(version, str) and not version.startswith("link:"):
                out.append(version if f"{name}@" not in version and version in snapshots else f"{name}@{version}")
        return out

    def edges(key: str) -> list[str]:
        snapshot = snapshots.get(key)
        if not isinstance(snapshot, dict):
            return []
        return refs(snapshot.get("dependencies")) + refs(snapshot.get("optionalDependencies"))

    prod_roots: list[str] = []
    dev_roots: list[str] = []
    importers = doc.get("importers")
    for importer in importers.values() if isinstance(importers, dict) else ():
        if isinstance(importer, dict):
            prod_roots += refs(importer.get("dependencies")) + refs(importer.get("optionalDependencies"))
            dev_roots += refs(importer.get("devDependencies"))
    return dev_only(prod_roots, dev_roots, edges)


# --- bun.lock ----------------------------------------------------------------------------------

_JSONC_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def _strip_jsonc(text: str) -> str:
    """Remove comments and trailing commas outside strings (bun writes JSON with trailing commas)."""
    return _JSONC_TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)


def parse_bun_lock(data: bytes, location: Location) -> Parsed:
    """``bun.lock`` (text format, lockfileVersion 0/1); the binary ``bun.lockb`` is not read."""
    text = _strip_jsonc(decode_text(data, location))
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PackageMetadataError(
            f"{location.path} is not valid bun.lock JSON: {str(exc)[:200]}",
            hint="the file is malformed or truncated; it is skipped",
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), dict):
        raise PackageMetadataError(f"{location.path} has no `packages` object", hint="the file is not a bun.lock")
    raw_workspaces = doc.get("workspaces")
    workspaces: dict[str, Any] = raw_workspaces if isinstance(raw_workspaces, dict) else {}
    packages: dict[str, Any] = doc["packages"]
    dev = _bun_dev_only(workspaces, packages)
    collector = _Collector(location)
    for key, entry in packages.items():
        if not isinstance(entry, list) or not entry or not isinstance(entry[0], str):
            collector.warnings.append(f"{location.path}: package {key!r} is not a bun entry; skipped")
            continue
        name, spec = _split_descriptor(entry[0])
        if spec.startswith("workspace:"):
            member = workspaces.get(spec.removeprefix("workspace:"))
            version = _text(member.get("version")) if isinstance(member, dict) else ""
        elif spec.startswith(_LOCAL_PROTOCOLS) or spec.startswith(("github:", "git+")):
            continue
        else:
            version = spec.removeprefix("npm:")
        collector.add(name, version, is_dev=key in dev)
    return collector.result()


_PROD_DEPENDENCY_KEYS = ("dependencies", "optionalDependencies", "peerDependencies")


def _bun_dev_only(workspaces: dict[str, Any], packages: dict[str, Any]) -> set[str]:
    """Keys of ``packages`` only the workspaces' devDependencies reach (bun nests a conflicting
    copy under ``parent/name``, so a dependency resolves to the nearest such key)."""

    def resolve(parent: str, name: str) -> str:
        scope = parent
        while scope:
            if f"{scope}/{name}" in packages:
                return f"{scope}/{name}"
            scope = scope.rpartition("/")[0]
        return name

    def edges(key: str) -> list[str]:
        entry = packages.get(key)
        info = next((part for part in entry if isinstance(part, dict)), {}) if isinstance(entry, list) else {}
        return [resolve(key, dep) for field in _PROD_DEPENDENCY_KEYS for dep in (info.get(field) or {})]

    prod_roots: list[str] = []
    dev_roots: list[str] = []
    for member in workspaces.values():
        if not isinstance(member, dict):
            continue
        prod_roots += [dep for field in _PROD_DEPENDENCY_KEYS for dep in (member.get(field) or {})]
        dev_roots += list(member.get("devDependencies") or {})
    return dev_only(prod_roots, dev_roots, edges)


# --- catalogers --------------------------------------------------------------------------------

JAVASCRIPT_INSTALLED = FileCataloger(
    name="javascript-installed",
    version="2",
    # every package.json with a name and a version, as trivy and syft read them: installed packages
    # under node_modules/, but also the application's own manifest (/app/package.json) and packages
    # laid out without node_modules (Debian's /usr/share/nodejs/<name>/)
    rules=(FileRule(pattern="**/package.json", parse=parse_package_json),),
)

_SHIPPED_INSIDE_PACKAGES = ("/node_modules/",)  # lock files published inside packages lock nothing here

JAVASCRIPT_LOCKS = FileCataloger(
    name="javascript-lock",
    version="1",
    evidence="declared",
    rules=(
        FileRule(pattern="**/package-lock.json", parse=parse_package_lock, skip_inside=_SHIPPED_INSIDE_PACKAGES),
        FileRule(pattern="**/npm-shrinkwrap.json", parse=parse_package_lock, skip_inside=_SHIPPED_INSIDE_PACKAGES),
        FileRule(pattern="**/yarn.lock", parse=parse_yarn_lock, skip_inside=_SHIPPED_INSIDE_PACKAGES),
        FileRule(pattern="**/pnpm-lock.yaml", parse=parse_pnpm_lock, skip_inside=_SHIPPED_INSIDE_PACKAGES),
        FileRule(pattern="**/bun.lock", parse=parse_bun_lock, skip_inside=_SHIPPED_INSIDE_PACKAGES),
    ),
)
