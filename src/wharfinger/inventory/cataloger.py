"""The ``Cataloger`` protocol and the registry of catalogers.

A cataloger finds the packages of one ecosystem in an ``ImageFS``. It declares the files it
reads as globs (``patterns``), so the layer walker keeps only those files while it streams the
layers, and it is asked to ``catalog(fs, context)`` once the filesystem is assembled.

Each cataloger says what its packages are evidence of (``evidence``): ``"installed"`` (a package
database, an installed package's manifest, a binary) or ``"declared"`` (a lock file or manifest
that names dependencies, which may not be on disk). Image scans run only the installed ones, as
syft's ``image`` selection and trivy's image mode do; ``dir:`` scans run both (syft's
``directory`` selection, ``trivy fs``). ``select_catalogers`` applies a ``CatalogerSelection``.

OS catalogers (``kind="os"``) run first. Their packages' owned files (dpkg ``info/*.list``, rpm
file lists, apk ``R:`` lines) are handed to the language catalogers in
``CatalogContext.os_owned_files``, so a Python package installed by ``apt`` is reported once, as
a deb, not a second time as a PyPI package (as trivy does).

Registering a cataloger: add ``"module.path:ATTRIBUTE"`` to ``CATALOGER_SPECS`` (the attribute is a
``Cataloger`` instance); modules are imported only when an inventory runs::

    from wharfinger.inventory.cataloger import CatalogContext, load_catalogers
    from wharfinger.inventory.filesystem import DirFS

    fs = DirFS(Path("/srv/rootfs"))
    context = CatalogContext(distro=None)
    for cataloger in load_catalogers():
        packages = cataloger.catalog(fs, context)
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from wharfinger.inventory.filesystem import ImageFS

if TYPE_CHECKING:
    import mmap
from wharfinger.inventory.package import Distro, Package

__all__ = [
    "CATALOGER_SPECS",
    "DECLARED_CATALOGERS",
    "LANGUAGE_CATALOGER_SPECS",
    "OS_CATALOGER_SPECS",
    "CatalogContext",
    "Cataloger",
    "CatalogerKind",
    "CatalogerSelection",
    "DeclaredCataloger",
    "Evidence",
    "OwnsFiles",
    "load_catalogers",
    "select_catalogers",
]

log = logging.getLogger(__name__)

CatalogerKind = Literal["os", "language"]
Evidence = Literal["installed", "declared"]


class CatalogerSelection(StrEnum):
    """Which catalogers run, by the evidence they report (``--catalogers`` on the command line)."""

    INSTALLED = "installed"  # what is on disk: the default for images
    DECLARED = "declared"  # what lock files and manifests declare
    ALL = "all"  # both: the default for dir: sources


# "module:attribute" of every Cataloger instance, one per line to ease merges.
OS_CATALOGER_SPECS: tuple[str, ...] = (
    "wharfinger.inventory.catalogers.dpkg:DPKG",
    "wharfinger.inventory.catalogers.apk:APK",
    "wharfinger.inventory.catalogers.rpm:RPM",
)
# inventory-lang's catalogers (Python, JavaScript, Go, Java, Ruby, Rust, .NET, PHP, runtimes)
LANGUAGE_CATALOGER_SPECS: tuple[str, ...] = (
    "wharfinger.inventory.catalogers.python:PYTHON_INSTALLED",
    "wharfinger.inventory.catalogers.python:PYTHON_LOCKS",
    "wharfinger.inventory.catalogers.javascript:JAVASCRIPT_INSTALLED",
    "wharfinger.inventory.catalogers.javascript:JAVASCRIPT_LOCKS",
    "wharfinger.inventory.catalogers.golang:GO_MODULE_FILES",
    "wharfinger.inventory.catalogers.java:JAVA_ARCHIVES",
    "wharfinger.inventory.catalogers.ruby:RUBY_INSTALLED",
    "wharfinger.inventory.catalogers.ruby:RUBY_GEMFILE_LOCKS",
    "wharfinger.inventory.catalogers.rust:CARGO_LOCKS",
    "wharfinger.inventory.catalogers.dotnet:DOTNET_DEPS",
    "wharfinger.inventory.catalogers.dotnet:DOTNET_LOCKS",
    "wharfinger.inventory.catalogers.php:PHP_INSTALLED",
    "wharfinger.inventory.catalogers.php:PHP_COMPOSER_LOCKS",
    "wharfinger.inventory.catalogers.binaries:BINARIES",
    "wharfinger.inventory.catalogers.runtimes:RUNTIMES",
)
CATALOGER_SPECS: tuple[str, ...] = OS_CATALOGER_SPECS + LANGUAGE_CATALOGER_SPECS


def _no_warning(message: str) -> None:
    log.debug("cataloger note: %s", message)


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogContext:
    """What a cataloger knows besides the filesystem."""

    distro: Distro | None
    # absolute paths of files owned by the OS package manager (dpkg/rpm/apk), symlinks not resolved
    os_owned_files: frozenset[str] = frozenset()
    # how a cataloger reports a file it skipped (corrupt, too large) so the user sees why
    warn: Callable[[str], None] = field(default=_no_warning)
    max_file_bytes: int = 64 * 1024 * 1024  # bytes: catalogers read at most this much of one file
    # language catalogers skip files in os_owned_files (trivy's behaviour); False reports both, as syft
    skip_os_owned: bool = True


@dataclass(frozen=True, slots=True)
class ExecutableFilter:
    """Which native executables a cataloger reads, judged from a whole file's bytes while a layer streams.

    A Debian image holds ~600 executables and a Go or Rust program among them is rare: the layer
    reader keeps (in memory, in its cache) only the files ``keep`` accepts.
    """

    key: str  # stable name and version: part of the layer cache's key, change it when ``keep`` changes
    keep: Callable[[bytes | mmap.mmap], bool]
    # the same verdict from a few positional reads, ``keep_at(read, length)`` with ``read(offset,
    # size)``, for a file lying in place in a local plain-tar layer; None: only the whole file can tell
    keep_at: Callable[[Callable[[int, int], bytes], int], bool | None] | None = None


@runtime_checkable
class Cataloger(Protocol):
    """Finds one ecosystem's packages. Implementations are stateless and safe to reuse."""

    @property
    def name(self) -> str:
        """Stable short name: ``"dpkg"``, ``"python-installed"``… (used in cache keys and logs)."""
        ...

    @property
    def version(self) -> str:
        """Bump when the output for the same input changes: invalidates the layer cache."""
        ...

    @property
    def kind(self) -> CatalogerKind: ...

    @property
    def evidence(self) -> Evidence:
        """``"installed"`` for what is on disk, ``"declared"`` for what a lock file names."""
        ...

    @property
    def patterns(self) -> tuple[str, ...]:
        """Globs (``filesystem.PathPatterns`` syntax) of every file ``catalog`` reads."""
        ...

    @property
    def executable_filter(self) -> ExecutableFilter | None:
        """Which native executables (ELF, PE, Mach-O with an execute bit) ``catalog`` reads; None: none."""
        ...

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        """Packages found in ``fs``; never raises for a corrupt file (warn and skip it)."""
        ...


@runtime_checkable
class OwnsFiles(Protocol):
    """An OS cataloger that knows which files its package manager installed."""

    def owned_files(self, fs: ImageFS) -> set[str]:
        """Absolute paths installed by the package manager (not resolved through symlinks)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredCataloger:
    """A ``FileCataloger`` of the registry known by what it declares; its module is imported when needed.

    A ``FileCataloger`` reads only the files its patterns glob (``FileCataloger.catalog``): on a
    filesystem without one it finds nothing, and importing its parsers is wasted. Importing every
    language module (and csv, the json encoder… under them) cost go-bin's and deb-min's start-up
    ~6 ms more than the ones they use; the layer walker needs only the patterns, declared here.
    Each declaration equals its cataloger's own attributes: a test holds every entry to that.
    ``BINARIES`` is not declared: its executable filter runs on every executable of every image.
    """

    spec: str  # "module:ATTRIBUTE" of the FileCataloger
    name: str
    version: str
    evidence: Evidence
    patterns: tuple[str, ...]
    kind: CatalogerKind = "language"
    executable_filter: ExecutableFilter | None = None

    def load(self) -> Cataloger:
        return _import_cataloger(self.spec)

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        if next(iter(fs.glob(self.patterns)), None) is None:
            return []  # what FileCataloger.catalog returns when its glob is empty
        return self.load().catalog(fs, context)


_PY = "wharfinger.inventory.catalogers.python"
_JS = "wharfinger.inventory.catalogers.javascript"
_RB = "wharfinger.inventory.catalogers.ruby"
_NET = "wharfinger.inventory.catalogers.dotnet"
_PHP = "wharfinger.inventory.catalogers.php"
# The FileCatalogers of LANGUAGE_CATALOGER_SPECS; BINARIES is imported: its executable filter runs
# while layers stream, on every native executable of an image.
DECLARED_CATALOGERS: tuple[DeclaredCataloger, ...] = (
    DeclaredCataloger(
        spec=f"{_PY}:PYTHON_INSTALLED",
        name="python-installed",
        version="2",
        evidence="installed",
        patterns=(
            "**/*dist-info/METADATA",
            "**/*DIST-INFO/METADATA",
            "**/*dist-info/RECORD",
            "**/*DIST-INFO/RECORD",
            "**/*egg-info/PKG-INFO",
            "**/*EGG-INFO/PKG-INFO",
            "**/*.egg-info",
            "**/*.egg",
        ),
    ),
    DeclaredCataloger(
        spec=f"{_PY}:PYTHON_LOCKS",
        name="python-lock",
        version="1",
        evidence="declared",
        patterns=("**/requirements*.txt", "**/Pipfile.lock", "**/poetry.lock", "**/uv.lock", "**/pdm.lock"),
    ),
    DeclaredCataloger(
        spec=f"{_JS}:JAVASCRIPT_INSTALLED",
        name="javascript-installed",
        version="2",
        evidence="installed",
        patterns=("**/package.json",),
    ),
    DeclaredCataloger(
        spec=f"{_JS}:JAVASCRIPT_LOCKS",
        name="javascript-lock",
        version="1",
        evidence="declared",
        patterns=(
            "**/package-lock.json",
            "**/npm-shrinkwrap.json",
            "**/yarn.lock",
            "**/pnpm-lock.yaml",
            "**/bun.lock",
        ),
    ),
    DeclaredCataloger(
        spec="wharfinger.inventory.catalogers.golang:GO_MODULE_FILES",
        name="go-module-file",
        version="1",
        evidence="declared",
        patterns=("**/go.mod",),
    ),
    DeclaredCataloger(
        spec="wharfinger.inventory.catalogers.java:JAVA_ARCHIVES",
        name="java-archive",
        version="1",
        evidence="installed",
        patterns=tuple(
            f"**/*.{suffix}" for suffix in ("jar", "war", "ear", "par", "jpi", "hpi", "sar", "kar", "rar", "nar")
        ),
    ),
    DeclaredCataloger(
        spec=f"{_RB}:RUBY_INSTALLED",
        name="ruby-installed",
        version="2",
        evidence="installed",
        patterns=("**/specifications/*.gemspec", "**/specifications/default/*.gemspec"),
    ),
    DeclaredCataloger(
        spec=f"{_RB}:RUBY_GEMFILE_LOCKS",
        name="ruby-gemfile-lock",
        version="1",
        evidence="declared",
        patterns=("**/Gemfile.lock",),
    ),
    DeclaredCataloger(
        spec="wharfinger.inventory.catalogers.rust:CARGO_LOCKS",
        name="rust-cargo-lock",
        version="1",
        evidence="declared",
        patterns=("**/Cargo.lock",),
    ),
    DeclaredCataloger(
        spec=f"{_NET}:DOTNET_DEPS",
        name="dotnet-deps",
        version="1",
        evidence="installed",
        patterns=("**/*.deps.json",),
    ),
    DeclaredCataloger(
        spec=f"{_NET}:DOTNET_LOCKS",
        name="dotnet-packages-lock",
        version="1",
        evidence="declared",
        patterns=("**/packages.lock.json",),
    ),
    DeclaredCataloger(
        spec=f"{_PHP}:PHP_INSTALLED",
        name="php-composer-installed",
        version="1",
        evidence="installed",
        patterns=("**/vendor/composer/installed.json",),
    ),
    DeclaredCataloger(
        spec=f"{_PHP}:PHP_COMPOSER_LOCKS",
        name="php-composer-lock",
        version="1",
        evidence="declared",
        patterns=("**/composer.lock",),
    ),
    DeclaredCataloger(
        spec="wharfinger.inventory.catalogers.runtimes:RUNTIMES",
        name="runtimes",
        version="1",
        evidence="installed",
        patterns=("**/bin/node", "**/bin/nodejs", "**/bin/python3.*", "**/libpython3.*.so*", "**/release"),
    ),
)


def load_catalogers(specs: Iterable[str] = CATALOGER_SPECS, *, defer: bool = True) -> list[Cataloger]:
    """The registered catalogers, OS ones first (stable order within each kind).

    With ``defer``, a spec of ``DECLARED_CATALOGERS`` gives its declaration, which imports the
    cataloger's module only when a filesystem holds a file it reads; ``defer=False`` imports them all.
    """
    declared = {d.spec: d for d in DECLARED_CATALOGERS} if defer else {}
    catalogers: list[Cataloger] = [declared.get(spec) or _import_cataloger(spec) for spec in specs]
    catalogers.sort(key=lambda c: 0 if c.kind == "os" else 1)
    return catalogers


def _import_cataloger(spec: str) -> Cataloger:
    module_name, _, attribute = spec.partition(":")
    cataloger = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(cataloger, Cataloger):
        msg = f"{spec} is not a Cataloger"
        raise TypeError(msg)
    return cataloger


def select_catalogers(catalogers: Iterable[Cataloger], selection: CatalogerSelection) -> list[Cataloger]:
    """The catalogers whose evidence ``selection`` asks for, in their order."""
    if selection is CatalogerSelection.ALL:
        return list(catalogers)
    return [c for c in catalogers if c.evidence == selection.value]
