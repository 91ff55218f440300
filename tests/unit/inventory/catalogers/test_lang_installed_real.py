"""Installed packages and runtimes on this machine, each checked against the tool that owns them:
``importlib.metadata`` for a real site-packages, ``npm ls`` for a real global node_modules,
``node --version``, CPython's own ``sys.version_info`` and ``java``'s ``java.version`` property.
"""

from __future__ import annotations

import importlib.metadata
import json
import mmap
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers.identifiers import normalise_pypi_name
from wharfinger.inventory.catalogers.javascript import JAVASCRIPT_INSTALLED
from wharfinger.inventory.catalogers.python import PYTHON_INSTALLED
from wharfinger.inventory.catalogers.runtimes import RUNTIMES, parse_node_binary, parse_python_binary
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Location, PackageType


def test_site_packages_match_importlib_metadata() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    truth = {
        (normalise_pypi_name(d.metadata["Name"]), d.version)
        for d in importlib.metadata.distributions(path=[str(site)])
        if d.metadata["Name"]
    }
    assert len(truth) > 50
    warnings: list[str] = []
    found = PYTHON_INSTALLED.catalog(DirFS(site), CatalogContext(distro=None, warn=warnings.append))
    ours = {(normalise_pypi_name(p.name), p.version) for p in found}
    assert truth <= ours, f"missed {sorted(truth - ours)[:10]}"
    assert all(p.type is PackageType.PYPI and p.purl.startswith("pkg:pypi/") for p in found)
    httpx = next(p for p in found if p.name.lower() == "httpx")
    assert [loc.path.rsplit("/", 1)[-1] for loc in httpx.locations] == ["METADATA", "RECORD"]
    recorded = len(importlib.metadata.distribution("httpx").files or [])
    assert dict(httpx.metadata)["installed_files"] == str(recorded)


def test_os_owned_dist_info_is_skipped_unless_asked(tmp_path: Path) -> None:
    dist = tmp_path / "usr/lib/python3/dist-packages/PyYAML-6.0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\nLicense: MIT\n")
    fs = DirFS(tmp_path)
    owned = frozenset({"/usr/lib/python3/dist-packages/PyYAML-6.0.1.dist-info/METADATA"})
    assert PYTHON_INSTALLED.catalog(fs, CatalogContext(distro=None, os_owned_files=owned)) == []
    both = PYTHON_INSTALLED.catalog(fs, CatalogContext(distro=None, os_owned_files=owned, skip_os_owned=False))
    assert [(p.purl, p.licenses) for p in both] == [("pkg:pypi/pyyaml@6.0.1", ("MIT",))]


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: run scripts/install-test-deps")
    return npm


NPM_RECIPE = ("express@4.18.2", "@babel/parser@7.23.6", "debug@2.6.9", "ms@2.1.3")  # nested, scoped, duplicate names


@pytest.fixture(scope="module")
def npm_project() -> Path:
    """A project installed by the real npm from the npm registry once, then cached by recipe."""
    npm = _npm()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wharfinger-tests"
    project = cache / ("npm-project-" + "-".join(r.replace("/", "_").replace("@", "") for r in NPM_RECIPE))
    if not (project / ".complete").exists():
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        (project / "package.json").write_text('{"name": "fixture", "version": "1.0.0", "private": true}')
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", *NPM_RECIPE],
            cwd=project,
            check=True,
            capture_output=True,
            timeout=300,
        )
        (project / ".complete").touch()
    return project


def test_node_modules_match_npm_ls(npm_project: Path) -> None:
    listing = subprocess.run(
        [_npm(), "ls", "--all", "--parseable", "--long"],
        cwd=npm_project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    ).stdout
    truth = set()
    for line in listing.splitlines():
        _, _, spec = line.partition(":")
        if "@" not in spec[1:]:
            continue
        at = spec.rfind("@")
        truth.add((spec[:at], spec[at + 1 :]))
    assert len(truth) > 40, "express alone brings dozens of packages"
    assert ("fixture", "1.0.0") in truth  # the project's own manifest counts, as trivy and syft report it
    found = JAVASCRIPT_INSTALLED.catalog(DirFS(npm_project), CatalogContext(distro=None))
    ours = {(p.name, p.version) for p in found}
    assert ours == truth, f"missed {sorted(truth - ours)[:10]}, extra {sorted(ours - truth)[:10]}"
    babel = next(p for p in found if p.name == "@babel/parser")
    assert babel.purl == "pkg:npm/%40babel/parser@7.23.6"
    assert {p.version for p in found if p.name == "debug"} >= {"2.6.9"}


def test_node_binary_version() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run scripts/install-test-deps (npm pulls it in)")
    truth = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    # upstream builds carry the version in bin/node; Debian's links libnode.so, which carries it
    candidates = [Path(node).resolve(), *sorted(Path("/usr/lib").glob("*/libnode.so.*"))]
    for candidate in candidates:
        with candidate.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            parsed = parse_node_binary(data, Location(path="/usr/local/bin/node"))
        if parsed.packages:
            break
    assert [(p.name, p.version, p.purl) for p in parsed.packages] == [
        ("node", truth.removeprefix("v"), f"pkg:generic/node@{truth.removeprefix('v')}")
    ]
    assert parsed.packages[0].cpes[0].startswith("cpe:2.3:a:nodejs:node.js:")


def test_libpython_version() -> None:
    libdir = Path(sysconfig.get_config_var("LIBDIR") or "/usr/lib")
    candidates = sorted(libdir.glob(f"libpython{sys.version_info.major}.{sys.version_info.minor}*.so*"))
    candidates = [c for c in candidates if c.is_file() and not c.is_symlink()]
    # a static interpreter (no libpython) carries PY_VERSION in its own executable
    library = candidates[0] if candidates else Path(sys.executable).resolve()
    if not candidates and not re.search(r"python3\.\d+$", library.name):
        library = library.with_name(f"python{sys.version_info.major}.{sys.version_info.minor}")
    truth = "{}.{}.{}".format(*sys.version_info[:3])
    parsed = parse_python_binary(library.read_bytes(), Location(path=f"/usr/local/lib/{library.name}"))
    if not parsed.packages and not candidates:
        pytest.fail(f"PY_VERSION not found in {library}")
    assert [(p.name, p.version) for p in parsed.packages] == [("python", truth)]


def test_jdk_release_files_match_java_version(tmp_path: Path) -> None:
    jvm = Path("/usr/lib/jvm")
    releases = [r for r in sorted(jvm.glob("*/release")) if not r.parent.is_symlink()]
    if not releases:
        pytest.fail("no JDK under /usr/lib/jvm: run scripts/install-test-deps (default-jdk-headless)")
    for release in releases:
        java = release.parent / "bin" / "java"
        if not java.exists():
            continue
        shown = subprocess.run(
            [str(java), "-XshowSettings:properties", "-version"], capture_output=True, text=True, check=True
        ).stderr
        version = re.search(r"^\s*java\.version = (\S+)", shown, re.MULTILINE)
        assert version is not None
        root = tmp_path / release.parent.name
        (root / "opt/java/openjdk").mkdir(parents=True)
        shutil.copy(release, root / "opt/java/openjdk/release")
        found = RUNTIMES.catalog(DirFS(root), CatalogContext(distro=None))
        assert [p.version for p in found] == [version.group(1)], release
        assert found[0].purl.startswith("pkg:generic/")
        owned = CatalogContext(
            distro=None, os_owned_files=frozenset({"/opt/java/openjdk/release"}), skip_os_owned=False
        )
        assert RUNTIMES.catalog(DirFS(root), owned) == []  # runtimes yield to OS packages whatever the option


def test_syft_jvm_fixtures(shared_dir: Path) -> None:
    base = shared_dir / "fixtures/inventory/syft/syft/pkg/cataloger/java/testdata/jvm-installs"
    found = RUNTIMES.catalog(DirFS(base), CatalogContext(distro=None))
    by_path = {p.locations[0].path: p for p in found}
    oracle = by_path["/oracle-jdk-se-8/usr/lib/jvm/jdk-1.8-oracle-x64/release"]
    assert (oracle.name, oracle.version) == ("jdk", "1.8.0_411")
    openjdk = by_path["/valid-post-jep223/jvm/openjdk/release"]
    assert openjdk.name == "openjdk"
    assert json.dumps(openjdk.cpes).count("oracle:openjdk") == 1
