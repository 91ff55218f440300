"""Parser details the expected.json fixtures do not cover: licences, RECORD, eggs, gems, crates,
.NET, Composer, purls and CPEs. Inputs are the shared fixtures (read in place) unless a row says
it adds an edge case by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers import dotnet, golang, javascript, php, python, ruby, rust
from wharfinger.inventory.catalogers.identifiers import cpe23, purl_for
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Location, PackageType

TRIVY = Path("fixtures/inventory/trivy/pkg")
HERE = Location(path="/fixture", layer_digest="sha256:" + "b" * 64)


def _read(shared_dir: Path, relative: str) -> bytes:
    return (shared_dir / TRIVY / relative).read_bytes()


def _txtar_member(text: str, name: str) -> bytes:
    """One file of a txtar archive (Go's test archive format: `-- name --` headers)."""
    parts = re.split(r"^-- (.+?) --$", text, flags=re.MULTILINE)
    members = dict(zip(parts[1::2], parts[2::2], strict=True))
    return members[name].lstrip("\n").encode()


# --- Python ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "name", "version", "licenses"),
    [
        ("classifier-license-dist/setuptools-51.3.3.dist-info/METADATA", "setuptools", "51.3.3", ("MIT",)),
        ("classifier-license-egg/setuptools-51.3.3.egg-info/PKG-INFO", "setuptools", "51.3.3", ("MIT",)),
        (
            "happy-dist/distlib-0.3.1.dist-info/METADATA",
            "distlib",
            "0.3.1",
            ("Python license",),
        ),  # not one SPDX id: kept
    ],
)
def test_core_metadata_licenses(
    shared_dir: Path, relative: str, name: str, version: str, licenses: tuple[str, ...]
) -> None:
    data = _read(shared_dir, f"fanal/analyzer/language/python/packaging/testdata/{relative}")
    (package,) = python.parse_core_metadata(data, HERE).packages
    assert (package.name, package.version, package.licenses) == (name, version, licenses)
    assert package.purl == f"pkg:pypi/{name}@{version}"
    assert package.layer_digest == HERE.layer_digest


def test_license_expression_wins_over_license_and_classifiers() -> None:
    data = (
        b"Name: X\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n"
        b"Classifier: License :: OSI Approved :: ISC License (ISCL)\n"
    )
    (package,) = python.parse_core_metadata(data, HERE).packages
    assert package.licenses == ("MIT OR Apache-2.0",)


def test_zipped_egg(shared_dir: Path) -> None:
    data = _read(shared_dir, "fanal/analyzer/language/python/packaging/testdata/egg-zip/kitchen-1.2.6-py2.7.egg")
    (package,) = python.parse_egg(data, HERE).packages
    # the classifier names no LGPL version, so it is kept as written rather than guessed
    lgpl = "GNU Library or Lesser General Public License (LGPL)"
    assert (package.name, package.version, package.licenses) == ("kitchen", "1.2.6", (lgpl,))


def test_record_paths_resolve_against_site_packages() -> None:
    record = b"yaml/__init__.py,sha256=x,1\n../../../bin/yamlfix,sha256=y,2\nPyYAML-6.0.dist-info/RECORD,,\n"
    paths = python.parse_record(record, HERE, site_packages="/usr/lib/python3.11/site-packages")
    assert paths == (
        "/usr/lib/python3.11/site-packages/yaml/__init__.py",
        "/usr/bin/yamlfix",
        "/usr/lib/python3.11/site-packages/PyYAML-6.0.dist-info/RECORD",
    )


def test_requirements_note_unpinned_and_normalise_purls(shared_dir: Path) -> None:
    data = _read(shared_dir, "dependency/parser/python/pip/testdata/requirements_operator.txt")
    parsed = python.parse_requirements(data, HERE)
    assert {p.purl for p in parsed.packages} == {"pkg:pypi/django@2.3.4", "pkg:pypi/someproject@5.4"}
    assert len(parsed.warnings) == 1
    assert "keyring" in parsed.warnings[0]
    assert "not pinned" in parsed.warnings[0]


def test_requirements_utf16(shared_dir: Path) -> None:
    data = _read(shared_dir, "dependency/parser/python/pip/testdata/requirements_utf16le.txt")
    assert [(p.name, p.version) for p in python.parse_requirements(data, HERE).packages] == [("attrs", "20.3.0")]


def test_pdm_lock(shared_dir: Path) -> None:
    data = (shared_dir / "fixtures/inventory/syft/syft/pkg/cataloger/python/testdata/pdm-lock/pdm.lock").read_bytes()
    parsed = python.parse_pdm_lock(data, HERE)
    names = re.findall(rb'^name = "([^"]+)"', data, re.MULTILINE)
    assert sorted(p.name for p in parsed.packages) == sorted(n.decode() for n in names)


# --- Ruby, Rust, .NET, PHP ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("dependency/parser/ruby/gemspec/testdata/normal00.gemspec", ("rake", "13.0.3", ("MIT",))),
        ("dependency/parser/ruby/gemspec/testdata/license.gemspec", ("async", "1.25.0", ("MIT",))),
        # `spec.licenses = "MIT"`: not an array, ignored (trivy's "another variable name" case)
        ("dependency/parser/ruby/gemspec/testdata/normal01.gemspec", ("async", "1.25.0", ())),
        (
            "dependency/parser/ruby/gemspec/testdata/multiple_licenses.gemspec",
            ("test-unit", "3.3.7", ("Ruby", "BSDL", "PSFL")),
        ),
    ],
)
def test_gemspecs(shared_dir: Path, relative: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    (package,) = ruby.parse_gemspec(_read(shared_dir, relative), HERE).packages
    assert (package.name, package.version, package.licenses) == expected
    assert package.purl == f"pkg:gem/{expected[0]}@{expected[1]}"


@pytest.mark.parametrize("name", ["malformed00.gemspec", "malformed01.gemspec"])
def test_malformed_gemspecs_are_refused(shared_dir: Path, name: str) -> None:
    from wharfinger.errors import PackageMetadataError

    with pytest.raises(PackageMetadataError, match="assigns no name or version"):
        ruby.parse_gemspec(_read(shared_dir, f"dependency/parser/ruby/gemspec/testdata/{name}"), HERE)


def test_gemfile_lock_sections_and_platforms() -> None:  # hand-written: no Gemfile.lock among the fixtures
    lock = b"""GIT
  remote: https://github.com/rails/rails.git
  revision: 0123
  specs:
    rails (7.1.0)
      actionpack (= 7.1.0)

GEM
  remote: https://rubygems.org/
  specs:
    actionpack (7.1.0)
      rack (>= 2.2.4)
    nokogiri (1.15.4-x86_64-linux)
      racc (~> 1.4)
    rack (3.0.8)

PLATFORMS
  x86_64-linux

BUNDLED WITH
   2.4.10
"""
    parsed = ruby.parse_gemfile_lock(lock, HERE)
    assert {p.purl for p in parsed.packages} == {
        "pkg:gem/rails@7.1.0",
        "pkg:gem/actionpack@7.1.0",
        "pkg:gem/nokogiri@1.15.4?platform=x86_64-linux",
        "pkg:gem/rack@3.0.8",
    }


def test_cargo_lock_from_trivy_txtar(shared_dir: Path) -> None:
    text = _read(shared_dir, "fanal/analyzer/language/rust/cargo/testdata/happy.txtar").decode()
    lock = _txtar_member(text, "Cargo.lock")
    parsed = rust.parse_cargo_lock(lock, HERE)
    assert len(parsed.packages) == len(re.findall(rb"^name = ", lock, re.MULTILINE))
    app = next(p for p in parsed.packages if p.name == "app")
    assert ("source", "local") in app.metadata
    assert next(p for p in parsed.packages if p.name == "libc").purl == "pkg:cargo/libc@0.2.140"


@pytest.mark.parametrize("name", ["test.elf", "test.exe", "test.macho"])
def test_cargo_auditable_in_every_executable_format(shared_dir: Path, name: str) -> None:
    data = _read(shared_dir, f"dependency/parser/rust/binary/testdata/{name}")
    parsed = rust.parse_rust_binary(data, HERE)
    assert {(p.name, p.version) for p in parsed.packages} == {
        ("crate_with_features", "0.1.0"),
        ("library_crate", "0.1.0"),
    }


def test_deps_json(shared_dir: Path) -> None:
    parsed = dotnet.parse_deps_json(
        _read(shared_dir, "fanal/analyzer/language/dotnet/deps/testdata/datacollector.deps.json"), HERE
    )
    assert [p.purl for p in parsed.packages] == ["pkg:nuget/Newtonsoft.Json@9.0.1"]


def test_deps_json_skips_libraries_the_runtime_target_deploys_nothing_of(shared_dir: Path) -> None:
    # trivy's core_deps parse_test "happy path with skipped libs" expects exactly these three
    data = _read(shared_dir, "dependency/parser/dotnet/core_deps/testdata/without-runtime.deps.json")
    parsed = dotnet.parse_deps_json(data, HERE)
    assert {(p.name, p.version) for p in parsed.packages} == {
        ("JsonDiffPatch", "2.0.61"),
        ("Libuv", "1.9.1"),
        ("System.Collections.Immutable", "1.3.0"),
    }


def test_packages_lock_json(shared_dir: Path) -> None:
    data = _read(shared_dir, "fanal/analyzer/language/dotnet/nuget/testdata/lock/packages.lock.json")
    parsed = dotnet.parse_packages_lock(data, HERE)
    assert {p.purl for p in parsed.packages} == {"pkg:nuget/Newtonsoft.Json@12.0.3", "pkg:nuget/NuGet.Frameworks@5.7.0"}


def test_composer_lock_marks_dev(shared_dir: Path) -> None:
    data = _read(shared_dir, "fanal/analyzer/language/php/composer/testdata/composer/with-dev/composer.lock")
    parsed = php.parse_composer_lock(data, HERE)
    by_name = {p.name: p for p in parsed.packages}
    assert by_name["psr/log"].purl == "pkg:composer/psr/log@1.1.4"
    assert by_name["psr/log"].licenses == ("MIT",)
    assert ("dev", "true") in by_name["pear/log"].metadata


def test_installed_json_v2_and_v1(shared_dir: Path) -> None:
    data = _read(shared_dir, "fanal/analyzer/language/php/composer/testdata/composer-vendor/happy/installed.json")
    v2 = php.parse_installed_json(data, HERE)
    assert {(p.name, p.version) for p in v2.packages} == {("pear/log", "1.13.3"), ("pear/pear_exception", "v1.0.2")}
    import json

    v1 = php.parse_installed_json(
        json.dumps(json.loads(data)["packages"]).encode(), HERE
    )  # Composer 1 wrote the bare list
    assert {p.purl for p in v1.packages} == {p.purl for p in v2.packages}


# --- JavaScript and Go details --------------------------------------------------------------------


def test_installed_node_modules_fixture_nested_and_scoped(shared_dir: Path) -> None:
    root = shared_dir / TRIVY / "fanal/analyzer/language/nodejs/npm/testdata/happy"
    found = javascript.JAVASCRIPT_INSTALLED.catalog(DirFS(root), CatalogContext(distro=None))
    pairs = {(p.name, p.version) for p in found}
    assert ("@babel/parser", "7.23.6") in pairs
    assert {v for n, v in pairs if n == "debug"} >= {"2.6.9"}  # nested copies under express/ and body-parser/
    babel = next(p for p in found if p.name == "@babel/parser")
    assert babel.purl == "pkg:npm/%40babel/parser@7.23.6"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("package.json", ("bootstrap", "5.0.2", ("MIT",))),
        ("legacy_package.json", ("angular", "4.1.2", ("ISC",))),
        ("legacy_array_package.json", ("tv4", "1.3.0", ("LicenseRef-Public-Domain", "MIT"))),
        ("without_version_package.json", None),
        ("without_name_and_version_package.json", None),
    ],
)
def test_trivy_package_json_cases(
    shared_dir: Path, name: str, expected: tuple[str, str, tuple[str, ...]] | None
) -> None:
    parsed = javascript.parse_package_json(
        _read(shared_dir, f"dependency/parser/nodejs/packagejson/testdata/{name}"), HERE
    )
    assert [(p.name, p.version, p.licenses) for p in parsed.packages] == ([expected] if expected else [])


def test_package_json_with_a_name_npm_refuses(shared_dir: Path) -> None:
    from wharfinger.errors import PackageMetadataError

    data = _read(shared_dir, "dependency/parser/nodejs/packagejson/testdata/invalid_name.json")
    with pytest.raises(PackageMetadataError, match="npm would refuse"):
        javascript.parse_package_json(data, HERE)


def test_go_mod_local_replacement_drops_the_module() -> None:  # hand-written edge case
    mod = (
        b"module example.com/app\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/text v0.3.0\n\tgithub.com/a/b v1.0.0\n)\n"
        b"\nreplace github.com/a/b => ../b\n"
    )
    parsed = golang.parse_go_mod(mod, HERE)
    assert [p.purl for p in parsed.packages] == ["pkg:golang/example.com/app", "pkg:golang/golang.org/x/text@v0.3.0"]


# --- identifiers and licences -------------------------------------------------------------------


def test_purls_follow_the_purl_spec() -> None:
    assert purl_for(PackageType.PYPI, "Zope.Interface_X", "5.0") == "pkg:pypi/zope-interface-x@5.0"
    assert purl_for(PackageType.NPM, "@types/node", "20.1.0") == "pkg:npm/%40types/node@20.1.0"
    assert purl_for(PackageType.GOLANG, "github.com/x/y/v2", "v2.1.0") == "pkg:golang/github.com/x/y/v2@v2.1.0"
    assert purl_for(PackageType.COMPOSER, "symfony/console", "v5.4.0") == "pkg:composer/symfony/console@v5.4.0"
    assert purl_for(PackageType.NUGET, "Newtonsoft.Json", "13.0.1") == "pkg:nuget/Newtonsoft.Json@13.0.1"


def test_cpe_escapes_reserved_characters() -> None:
    assert cpe23("nodejs", "node.js", "18.0.0") == "cpe:2.3:a:nodejs:node.js:18.0.0:*:*:*:*:*:*:*"
    assert cpe23("a+b", "c:d", "1.0") == "cpe:2.3:a:a\\+b:c\\:d:1.0:*:*:*:*:*:*:*"
