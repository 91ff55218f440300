"""The language catalogers are registered, satisfy the ``Cataloger`` protocol, and their public
names stay what other parts import."""

from __future__ import annotations

import importlib

import pytest

from wharfinger.inventory.cataloger import (
    LANGUAGE_CATALOGER_SPECS,
    Cataloger,
    CatalogerSelection,
    load_catalogers,
    select_catalogers,
)
from wharfinger.inventory.filesystem import PathPatterns


def test_every_language_cataloger_loads_with_a_unique_name() -> None:
    catalogers = load_catalogers(LANGUAGE_CATALOGER_SPECS)
    assert len(catalogers) == len(LANGUAGE_CATALOGER_SPECS)
    assert all(isinstance(c, Cataloger) and c.kind == "language" for c in catalogers)
    names = [c.name for c in catalogers]
    assert len(names) == len(set(names))


def test_patterns_select_the_files_they_are_meant_for() -> None:
    selected = PathPatterns([p for c in load_catalogers(LANGUAGE_CATALOGER_SPECS) for p in c.patterns])
    for path in (
        "/usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA",
        "/app/node_modules/@babel/core/package.json",
        "/usr/lib/node_modules/npm/node_modules/semver/package.json",
        "/app/package.json",  # the application's own manifest: trivy and syft report it
        "/usr/share/nodejs/acorn/package.json",  # Debian's layout, without node_modules
        "/srv/app.war",
        "/usr/local/bundle/specifications/rails-7.1.0.gemspec",
        "/app/composer.lock",
        "/app/bin/App.deps.json",
        "/opt/java/openjdk/release",
        "/usr/local/bin/node",
        "/usr/local/lib/libpython3.12.so.1.0",
    ):
        assert selected.matches(path), path
    assert not selected.matches("/app/node_modules/lodash/lodash.js")


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("python", {"PYTHON_INSTALLED", "PYTHON_LOCKS", "parse_core_metadata", "parse_requirements"}),
        ("javascript", {"JAVASCRIPT_INSTALLED", "JAVASCRIPT_LOCKS", "parse_package_lock", "parse_pnpm_lock"}),
        ("golang", {"GO_MODULE_FILES", "parse_go_binary", "parse_go_mod", "parse_go_sum"}),
        ("java", {"JAVA_ARCHIVES", "JavaArchiveLimits", "parse_java_archive"}),
        ("binaries", {"BINARIES"}),
        ("runtimes", {"RUNTIMES"}),
    ],
)
def test_public_names_are_exported(module: str, names: set[str]) -> None:
    exported = set(importlib.import_module(f"wharfinger.inventory.catalogers.{module}").__all__)
    assert names <= exported


def test_lock_file_catalogers_say_they_report_declared_packages() -> None:
    """Image scans by syft and trivy skip lock files; an orchestrator filters on ``evidence``."""
    evidence = {c.name: getattr(c, "evidence", None) for c in load_catalogers(LANGUAGE_CATALOGER_SPECS)}
    assert set(evidence.values()) == {"installed", "declared"}
    assert evidence["python-lock"] == evidence["javascript-lock"] == evidence["go-module-file"] == "declared"
    assert evidence["python-installed"] == evidence["binaries"] == evidence["java-archive"] == "installed"


LOCK_FILES = (
    "/app/requirements.txt",
    "/app/requirements-dev.txt",
    "/app/poetry.lock",
    "/app/Pipfile.lock",
    "/app/uv.lock",
    "/app/pdm.lock",
    "/app/package-lock.json",
    "/app/yarn.lock",
    "/app/pnpm-lock.yaml",
    "/app/go.mod",
    "/app/Cargo.lock",
    "/app/Gemfile.lock",
    "/app/composer.lock",
    "/app/packages.lock.json",
)


def test_selections_split_catalogers_by_evidence() -> None:
    everything = load_catalogers()
    installed = select_catalogers(everything, CatalogerSelection.INSTALLED)
    declared = select_catalogers(everything, CatalogerSelection.DECLARED)
    assert select_catalogers(everything, CatalogerSelection.ALL) == everything
    assert {c.name for c in installed} | {c.name for c in declared} == {c.name for c in everything}
    assert not {c.name for c in installed} & {c.name for c in declared}
    assert {"dpkg", "apk", "rpm", "python-installed", "binaries"} <= {c.name for c in installed}
    assert {c.name for c in declared} == {
        "python-lock",
        "javascript-lock",
        "go-module-file",
        "ruby-gemfile-lock",
        "rust-cargo-lock",
        "dotnet-packages-lock",
        "php-composer-lock",
    }


def test_installed_catalogers_do_not_keep_lock_files_while_layers_stream() -> None:
    """The layer walker keeps the files the catalogers' globs match: an image scan reads no lock file."""

    def globs(selection: CatalogerSelection) -> PathPatterns:
        return PathPatterns([p for c in select_catalogers(load_catalogers(), selection) for p in c.patterns])

    installed, declared = globs(CatalogerSelection.INSTALLED), globs(CatalogerSelection.DECLARED)
    for path in LOCK_FILES:
        assert declared.matches(path), path
        assert not installed.matches(path), path
