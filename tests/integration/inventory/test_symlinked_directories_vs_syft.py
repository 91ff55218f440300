"""Packages below a symlinked directory, judged against the real syft run on the same image.

A ``vendor`` or ``specifications`` directory that is a symlink elsewhere in the image holds its
packages at paths no ``**/vendor/composer/installed.json`` matches; syft follows the link in
images (``oci-dir:``), and so must we: every package it finds there, we find.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.peers import syft_binary
from wharfinger.inventory.sources import inventory_of_source
from wharfinger.oci.settings import Settings

pytestmark = pytest.mark.slow

_TRIVY = "fixtures/inventory/trivy/pkg"
_PHP = f"{_TRIVY}/fanal/analyzer/language/php/composer/testdata/composer-vendor/happy/installed.json"
_GEMSPEC = f"{_TRIVY}/dependency/parser/ruby/gemspec/testdata/normal00.gemspec"


def _tar(files: dict[str, bytes], links: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize("layers", ["one layer", "the links in a later layer"])
def test_packages_below_symlinked_directories_match_syft(
    shared_dir: Path, tmp_path: Path, layers: str, make_oci_layout: Callable[[Path, list[bytes]], Path]
) -> None:
    files = {
        "opt/php-deps/composer/installed.json": (shared_dir / _PHP).read_bytes(),
        "srv/gems/specs/normal00.gemspec": (shared_dir / _GEMSPEC).read_bytes(),
    }
    links = {"app/vendor": "../opt/php-deps", "usr/local/bundle/specifications": "/srv/gems/specs"}
    tars = [_tar(files, links)] if layers == "one layer" else [_tar(files, {}), _tar({}, links)]
    layout = make_oci_layout(tmp_path / "layout", tars)
    report = subprocess.run(
        [syft_binary(), f"oci-dir:{layout}", "-q", "-o", "json"],
        capture_output=True,
        check=True,
        timeout=300,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    theirs = {(a["name"], a["version"]) for a in json.loads(report.stdout)["artifacts"]}
    assert {"php", "ruby"} <= {  # syft found both ecosystems: the comparison means something
        a["language"] for a in json.loads(report.stdout)["artifacts"]
    }
    inventory, _ = inventory_of_source(f"oci:{layout}:latest", settings=Settings(), use_cache=False)
    ours = {(p.name, p.version) for p in inventory.packages}
    assert theirs <= ours, theirs - ours
    assert {p.locations[0].path for p in inventory.packages} == {
        "/app/vendor/composer/installed.json",
        "/usr/local/bundle/specifications/normal00.gemspec",
    }
