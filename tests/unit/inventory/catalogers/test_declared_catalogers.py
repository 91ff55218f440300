"""The registry's declared catalogers: the same catalogers as their modules', imported only when needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wharfinger.inventory.cataloger import (
    DECLARED_CATALOGERS,
    LANGUAGE_CATALOGER_SPECS,
    CatalogContext,
    DeclaredCataloger,
    load_catalogers,
)
from wharfinger.inventory.catalogers.filecataloger import FileCataloger
from wharfinger.inventory.filesystem import DirFS

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("declared", DECLARED_CATALOGERS, ids=lambda d: d.name)
def test_a_declaration_is_what_its_cataloger_says_of_itself(declared: DeclaredCataloger) -> None:
    """Name and version key the inventory cache; patterns choose the files kept while layers stream."""
    real = declared.load()
    assert isinstance(real, FileCataloger)  # whose catalog reads only what its patterns glob
    assert (declared.name, declared.version, declared.kind, declared.evidence) == (
        real.name,
        real.version,
        real.kind,
        real.evidence,
    )
    assert declared.patterns == real.patterns
    assert declared.executable_filter == real.executable_filter


def test_every_file_cataloger_of_the_registry_is_declared() -> None:
    declared = {d.spec for d in DECLARED_CATALOGERS}
    assert declared <= set(LANGUAGE_CATALOGER_SPECS)
    imported = dict(zip(LANGUAGE_CATALOGER_SPECS, load_catalogers(LANGUAGE_CATALOGER_SPECS, defer=False), strict=True))
    assert {spec for spec, c in imported.items() if isinstance(c, FileCataloger)} == declared


def test_loading_gives_the_declarations_in_the_same_order_as_the_imported_catalogers() -> None:
    deferred, imported = load_catalogers(), load_catalogers(defer=False)
    assert [(c.name, c.version, c.patterns) for c in deferred] == [(c.name, c.version, c.patterns) for c in imported]
    assert sum(isinstance(c, DeclaredCataloger) for c in deferred) == len(DECLARED_CATALOGERS)
    assert not any(isinstance(c, DeclaredCataloger) for c in imported)


def _site_packages(root: Path) -> None:
    dist_info = root / "usr/lib/python3/site-packages/requests-2.31.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n")
    (root / "app").mkdir()
    (root / "app/requirements.txt").write_text("flask==3.0.0\n")


@pytest.mark.parametrize("declared", DECLARED_CATALOGERS, ids=lambda d: d.name)
@pytest.mark.parametrize("with_files", [True, False])
def test_a_declaration_finds_what_its_cataloger_finds(
    declared: DeclaredCataloger, with_files: bool, tmp_path: Path
) -> None:
    if with_files:
        _site_packages(tmp_path)
    fs, context = DirFS(tmp_path), CatalogContext(distro=None)
    assert declared.catalog(fs, context) == declared.load().catalog(fs, context)


def test_a_declaration_finds_packages_when_its_files_are_there(tmp_path: Path) -> None:
    _site_packages(tmp_path)
    (python,) = (d for d in DECLARED_CATALOGERS if d.name == "python-installed")
    assert [p.name for p in python.catalog(DirFS(tmp_path), CatalogContext(distro=None))] == ["requests"]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False, env=env, timeout=60
    )


@pytest.mark.parametrize(("with_files", "loaded"), [(False, False), (True, True)])
def test_sbom_imports_a_language_module_only_for_a_file_it_reads(
    tmp_path: Path, with_files: bool, loaded: bool
) -> None:
    """The point of declaring: `wharfinger sbom` of a tree without Python files never imports the
    Python cataloger (zipfile, csv, shutil… with it)."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "etc").mkdir()
    if with_files:
        _site_packages(root)
    result = _run(
        f"""
        import sys
        from wharfinger.cli.app import main
        try:
            main(["sbom", "dir:{root}", "-o", "json={tmp_path / "out.json"}"])
        except SystemExit as exc:
            assert not exc.code, exc.code
        print("wharfinger.inventory.catalogers.python" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(loaded)]
