"""Every fixture in ``fixtures/inventory/expected.json`` for a language ecosystem gives exactly the
expected packages (name, version and, where the expectation lists them, licenses and the
development-only flag).

The expectations were written by trivy's authors for trivy's parsers; the table below says which of
our parsers reads the same file. Names are compared the way trivy spells them: Maven as
``group:artifact`` (taken from our purl, so the purl is checked too), everything else as written.
We report one package per (name, version) in a file, so expectations are compared as sets: trivy
lists a pnpm package twice when two snapshots differ only in peer dependencies.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from wharfinger.inventory.catalogers import golang, java, javascript, python
from wharfinger.inventory.catalogers._documents import Parsed
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

ParserFn = Callable[[bytes, Location], Parsed]

# trivy parser folder (under trivy/pkg/dependency/parser/) → our parser
PARSERS: dict[str, ParserFn] = {
    "golang/mod/": golang.parse_go_mod,
    "golang/sum/": golang.parse_go_sum,
    "java/jar/": java.parse_java_archive,
    "nodejs/bun/": javascript.parse_bun_lock,
    "nodejs/npm/": javascript.parse_package_lock,
    "nodejs/pnpm/": javascript.parse_pnpm_lock,
    "nodejs/yarn/": javascript.parse_yarn_lock,
    "python/pip/": python.parse_requirements,
    "python/pipenv/": python.parse_pipfile_lock,
    "python/poetry/": python.parse_poetry_lock,
    "python/uv/": python.parse_uv_lock,
}
OS_DATABASES = ("go-rpmdb/",)  # inventory-os checks these


def _expected(shared: Path) -> dict[str, Any]:
    with (shared / "fixtures" / "inventory" / "expected.json").open(encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _cases() -> list[str]:
    # the folder the shared_dir fixture checks (tests/conftest.py); a missing folder fails there
    shared = Path(os.environ.get("WHARFINGER_SHARED", Path(__file__).resolve().parents[4].parent / "shared"))
    return sorted(_expected(shared)) if (shared / "fixtures").is_dir() else []


def _parser_for(key: str) -> ParserFn:
    for folder, parser in PARSERS.items():
        if f"/parser/{folder}" in key:
            return parser
    raise AssertionError(f"no parser of ours is mapped to the expected fixture {key}")


def _trivy_name(package: Package) -> str:
    if package.type is PackageType.MAVEN:
        purl = PackageURL.from_string(package.purl)
        return f"{purl.namespace}:{purl.name}"
    return package.name


def _licenses(raw: list[str]) -> list[str]:
    return sorted(to_spdx(lic) for lic in raw)


@pytest.mark.parametrize("key", [k for k in _cases() if not k.startswith(OS_DATABASES)])
def test_fixture_gives_exactly_the_expected_packages(shared_dir: Path, key: str) -> None:
    case = _expected(shared_dir)[key]
    path = shared_dir / "fixtures" / "inventory" / key
    parser = _parser_for(key)
    if "GoModUnreplaced" in case["source"]:  # trivy's "no replace" case: the parser ran with replace=false
        parser = functools.partial(golang.parse_go_mod, apply_replaces=False)
    parsed = parser(path.read_bytes(), Location(path="/" + path.name))

    got = [(_trivy_name(p), p.version) for p in parsed.packages]
    assert len(got) == len(set(got)), f"duplicates: {[k for k, n in Counter(got).items() if n > 1]}"
    want = {(p["Name"], p.get("Version", "")) for p in case["packages"]}
    assert set(got) == want, f"missing {want - set(got)}, unexpected {set(got) - want}"

    by_key = {(_trivy_name(p), p.version): p for p in parsed.packages}
    if any("Dev" in p for p in case["packages"]):  # dev-only packages are marked, production wins a tie
        want_dev: dict[tuple[str, str], bool] = {}
        for p in case["packages"]:
            pair = (p["Name"], p.get("Version", ""))
            want_dev[pair] = want_dev.get(pair, True) and bool(p.get("Dev", False))
        got_dev = {pair: ("dev", "true") in by_key[pair].metadata for pair in want_dev}
        assert got_dev == want_dev
    for expected in case["packages"]:
        if "Licenses" in expected:
            ours = by_key[(expected["Name"], expected.get("Version", ""))]
            assert _licenses(list(ours.licenses)) == _licenses(expected["Licenses"]), expected["Name"]


def test_every_language_fixture_is_mapped(shared_dir: Path) -> None:
    keys = [k for k in _expected(shared_dir) if not k.startswith(OS_DATABASES)]
    assert keys, "expected.json lists no language fixtures"
    for key in keys:
        _parser_for(key)
