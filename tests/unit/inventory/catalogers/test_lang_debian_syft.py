"""Language packages inside real Debian packages, checked against syft on the same files.

``libruby3.1`` ships Ruby's default gems (``specifications/default/*.gemspec``) and bundled gems,
one of which carries a ``package.json``; ``node-acorn`` lays npm packages out the Debian way
(``/usr/share/nodejs/<name>/package.json``, no ``node_modules``). Both are unpacked with
``dpkg-deb -x`` (no dpkg database, so nothing is skipped as OS-owned) and syft, run with its image
catalogers, gives the truth: the bench kit's ``big`` and ``node-app`` images showed syft finding
these where we did not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.peers import syft_artifacts
from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers.javascript import JAVASCRIPT_INSTALLED
from wharfinger.inventory.catalogers.ruby import RUBY_INSTALLED
from wharfinger.inventory.filesystem import DirFS

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wharfinger-tests"
DEBS = ("libruby3.1", "node-acorn")


@pytest.fixture(scope="module")
def debian_root() -> Path:
    """The two packages unpacked into one root (downloaded once, then cached)."""
    root = CACHE / "ruby-node-debs-root"
    if not (root / ".complete").exists():
        download = CACHE / "ruby-node-debs"
        download.mkdir(parents=True, exist_ok=True)
        if len(list(download.glob("*.deb"))) < len(DEBS):
            subprocess.run(["apt-get", "download", *DEBS], cwd=download, check=True, capture_output=True, timeout=300)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for deb in download.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        (root / ".complete").touch()
    return root


def test_gems_and_npm_packages_match_syft(debian_root: Path) -> None:
    truth = {
        (a["type"], a["name"], a["version"])
        for a in syft_artifacts(debian_root, "--override-default-catalogers", "image")
        if a["type"] in ("gem", "npm")
    }
    warnings: list[str] = []
    context = CatalogContext(distro=None, warn=warnings.append)
    found = [p for c in (RUBY_INSTALLED, JAVASCRIPT_INSTALLED) for p in c.catalog(DirFS(debian_root), context)]
    ours = {(p.type.value, p.name, p.version) for p in found}

    assert len({t for t in truth if t[0] == "gem"}) > 50, "Ruby's default gems alone are dozens"
    assert any(p.locations[0].path.startswith("/usr/share/nodejs/acorn/") for p in found)
    assert any("/specifications/default/" in p.locations[0].path for p in found)
    assert ours == truth, f"missed {sorted(truth - ours)[:10]}, extra {sorted(ours - truth)[:10]}"
    assert warnings == []
