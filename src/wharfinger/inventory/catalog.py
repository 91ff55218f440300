"""From a filesystem or a list of layers to an ``Inventory``: distro, packages, the layer of each.

Steps, in order:

1. (layers) ``read_layers`` streams every layer once, keeping only the files the catalogers and
   distro detection ask for;
2. the distro is detected, the OS catalogers run, and the files they own are collected;
3. the language catalogers run with those owned files in their context, so they skip what the
   OS package manager installed;
4. (layers) attribution: a package's layer is where its own evidence was written (a dpkg
   ``.list`` file, a ``package.json``); for package databases kept in one file (rpm, apk, dpkg
   ``status`` without file lists) the database is re-read as it was after each layer that changed it,
   and a package belongs to the first layer from which it is present to the end.

With a ``InventoryCache``, the whole result is stored under the image's chain of layer digests and
the catalogers' versions: a warm run opens no layer at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the layer walker is imported when layers are read: a cache hit never loads it
    # and the catalogers when an image or directory is catalogued: reading an SBOM (every `scan` of
    # one) needs only `Inventory`
    from wharfinger.inventory.cataloger import Cataloger
    from wharfinger.inventory.filesystem import ImageFS
    from wharfinger.inventory.layer_hasher import LayerHasher
    from wharfinger.inventory.layer_input import LayerInput
    from wharfinger.inventory.layers import LayeredFS, LayerLimits, Selection
from wharfinger.inventory.package import Distro, Package

__all__ = ["Inventory", "InventoryStore", "catalog_fs", "catalog_layers", "catalogers_fingerprint", "layers_key"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """What is inside one image (or directory, or SBOM)."""

    distro: Distro | None
    packages: tuple[Package, ...]
    layer_digests: tuple[str, ...] = ()  # in application order; empty for dir: and sbom: sources
    warnings: tuple[str, ...] = ()  # skipped files and entries, for the user to see


class InventoryStore(Protocol):
    """Where finished inventories are kept (``inventory.cache.InventoryCache`` on disk)."""

    def get(self, key: str) -> Inventory | None: ...

    def put(self, key: str, inventory: Inventory) -> None: ...


def catalogers_fingerprint(catalogers: Sequence[Cataloger]) -> str:
    return ",".join(f"{c.name}@{c.version}" for c in catalogers)


def layers_key(digests: Sequence[str], catalogers: Sequence[Cataloger]) -> str:
    """The cache key of an image's inventory: its layers in order (a chain id) and the catalogers."""
    import hashlib  # noqa: PLC0415 -- hashlib's OpenSSL binding costs SBOM reading (every scan) ~3 ms; only writers hash

    chain = hashlib.sha256()
    for digest in digests:
        chain.update(digest.encode() + b"\n")
    chain.update(catalogers_fingerprint(catalogers).encode())
    return "inv1:" + chain.hexdigest()


def _merge(packages: Sequence[Package]) -> list[Package]:
    """One entry per (type, name, version, purl); locations of repeated sightings are merged."""
    merged: dict[tuple[str, str, str, str], Package] = {}
    for package in packages:
        key = (*package.key, package.purl)
        if key in merged:
            first = merged[key]
            locations = tuple(dict.fromkeys((*first.locations, *package.locations)))
            merged[key] = replace(first, locations=locations)
        else:
            merged[key] = package
    return sorted(merged.values(), key=lambda p: (p.type.value, p.name, p.version, p.purl))


def catalog_fs(
    fs: ImageFS,
    catalogers: Sequence[Cataloger] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
    distro: Distro | None = None,
    skip_os_owned: bool = True,
) -> Inventory:
    """Run the catalogers (default: every one, as for ``dir:``) on ``fs``, OS ones first, and merge
    their packages.

    ``skip_os_owned=False`` also reports language packages whose files an OS package installed
    (syft's view; ``CatalogContext.skip_os_owned``)."""
    from wharfinger.inventory.cataloger import CatalogContext, OwnsFiles, load_catalogers  # noqa: PLC0415 -- see the TYPE_CHECKING import
    from wharfinger.inventory.distro import detect_distro  # noqa: PLC0415 -- see the TYPE_CHECKING import

    catalogers = list(catalogers) if catalogers is not None else load_catalogers()
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    distro = distro if distro is not None else detect_distro(fs)
    os_context = CatalogContext(distro=distro, warn=note)
    packages: list[Package] = []
    owned: set[str] = set()
    language = [c for c in catalogers if c.kind != "os"]
    for cataloger in catalogers:
        if cataloger.kind != "os":
            continue
        packages += cataloger.catalog(fs, os_context)
        if language and isinstance(cataloger, OwnsFiles):
            owned |= cataloger.owned_files(fs)
    language_context = CatalogContext(
        distro=distro, os_owned_files=frozenset(owned), warn=note, skip_os_owned=skip_os_owned
    )
    for cataloger in language:
        found = cataloger.catalog(fs, language_context)
        packages += [_with_layer(p) for p in found]
    return Inventory(distro=distro, packages=tuple(_merge(packages)), warnings=tuple(warnings))


def _with_layer(package: Package) -> Package:
    if package.layer_digest is not None or not package.locations:
        return package
    return replace(package, layer_digest=package.locations[0].layer_digest)


def _selection(catalogers: Sequence[Cataloger]) -> Selection:
    from wharfinger.inventory.distro import DISTRO_PATTERNS  # noqa: PLC0415 -- see the TYPE_CHECKING import
    from wharfinger.inventory.layers import Selection  # noqa: PLC0415 -- see the TYPE_CHECKING import

    patterns = list(DISTRO_PATTERNS)
    for cataloger in catalogers:
        patterns += cataloger.patterns
    return Selection(
        patterns=tuple(dict.fromkeys(patterns)),
        executable_filters=tuple(dict.fromkeys(f for c in catalogers if (f := c.executable_filter) is not None)),
    )


def _attribute_database_packages(
    fs: LayeredFS, cataloger: Cataloger, packages: list[Package], distro: Distro | None
) -> list[Package]:
    """Give packages kept in a single database file the first layer from which they are present."""
    from wharfinger.inventory.cataloger import CatalogContext  # noqa: PLC0415 -- see the TYPE_CHECKING import
    from wharfinger.inventory.filesystem import PathPatterns  # noqa: PLC0415 -- see the TYPE_CHECKING import

    # a dpkg package with its own .list file already names its layer precisely: only the others
    # (rpm, apk, distroless status.d) need the database read again as older layers left it
    unplaced = [p for p in packages if not _has_own_evidence(p)]
    wanted = PathPatterns(cataloger.patterns)
    changed = sorted(i for i, paths in fs.changed.items() if any(wanted.matches(p) for p in paths))
    if len(changed) <= 1 or not unplaced:
        return packages
    context = CatalogContext(distro=distro)
    present_since: dict[tuple[str, str, str], int] = {p.key: changed[-1] for p in unplaced}
    still_present = set(present_since)
    for index in reversed(changed[:-1]):
        keys = {p.key for p in cataloger.catalog(fs.at_layer(index), context)}
        still_present &= keys
        for key in still_present:
            present_since[key] = index
        if not still_present:
            break
    return [
        package if _has_own_evidence(package) else replace(package, layer_digest=fs.digests[present_since[package.key]])
        for package in packages
    ]


def _has_own_evidence(package: Package) -> bool:
    return len(package.locations) > 1 and package.locations[1].path.endswith((".list", ".md5sums"))


def catalog_layers(
    layers: Sequence[LayerInput],
    catalogers: Sequence[Cataloger] | None = None,
    *,
    store: InventoryStore | None = None,
    limits: LayerLimits | None = None,
    warn: Callable[[str], None] | None = None,
    skip_os_owned: bool = True,
    hasher: LayerHasher | None = None,
) -> Inventory:
    """The inventory of an image given as its layers, bottom first.

    By default only the catalogers of installed packages run (syft's ``image`` selection, trivy's
    image mode): a lock file left in an image declares what a build resolved, not what was
    installed. Their files are then not even kept while the layers stream. ``skip_os_owned``: as
    ``catalog_fs``. ``hasher``: as ``read_layers``'s (the caller's, started early, still the caller's)."""
    from wharfinger.inventory.cataloger import (  # noqa: PLC0415 -- see the TYPE_CHECKING import
        CatalogerSelection,
        load_catalogers,
        select_catalogers,
    )
    from wharfinger.inventory.filesystem import PathPatterns  # noqa: PLC0415 -- see the TYPE_CHECKING import

    if catalogers is None:
        catalogers = select_catalogers(load_catalogers(), CatalogerSelection.INSTALLED)
    catalogers = list(catalogers)
    digests = tuple(layer.digest for layer in layers)
    key = layers_key(digests, catalogers) + ("" if skip_os_owned else ":with-os-owned")
    if store is not None and (cached := store.get(key)) is not None:
        log.debug("inventory cache hit", extra={"event": "inventory.cache.hit", "key": key})
        return cached
    from wharfinger.inventory.layers import LayerIndexStore, read_layers  # noqa: PLC0415 -- a cache miss only

    layer_store = store if isinstance(store, LayerIndexStore) else None
    # layers hashed in place are confirmed when the block is left, before the inventory is used or
    # stored: cataloguing overlaps the hash of the largest layer
    with read_layers(
        layers,
        selection=_selection(catalogers),
        limits=limits,
        warn=warn,
        store=layer_store,
        defer_verification=True,
        hasher=hasher,
    ) as fs:
        inventory = catalog_fs(fs, catalogers, warn=warn, skip_os_owned=skip_os_owned)
        by_cataloger: list[Package] = []
        for cataloger in catalogers:
            if cataloger.kind != "os":
                continue
            mine = [
                p
                for p in inventory.packages
                if p.locations and PathPatterns(cataloger.patterns).matches(p.locations[0].path)
            ]
            by_cataloger += _attribute_database_packages(fs, cataloger, mine, inventory.distro)
        attributed = {(*p.key, p.purl): p for p in by_cataloger}
        packages = tuple(attributed.get((*p.key, p.purl), p) for p in inventory.packages)
        inventory = Inventory(
            distro=inventory.distro,
            packages=packages,
            layer_digests=digests,
            warnings=tuple(dict.fromkeys((*fs.warnings, *inventory.warnings))),
        )
    if store is not None:
        store.put(key, inventory)
    return inventory
