"""OS catalogers against real package databases: shared fixtures, dpkg-query and rpm as oracles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from wharfinger.inventory.cataloger import CatalogContext, load_catalogers
from wharfinger.inventory.catalogers.apk import APK
from wharfinger.inventory.catalogers.dpkg import DPKG, parse_copyright_licenses
from wharfinger.inventory.catalogers.identifiers import MAX_OS_CPES, os_package_cpes
from wharfinger.inventory.catalogers.rpm import RPM
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Distro, PackageType

FIXTURES = "fixtures/inventory"
TRIVY_DPKG = "trivy/pkg/fanal/analyzer/pkg/dpkg/testdata"
SYFT_DEBIAN = "syft/syft/pkg/cataloger/debian/testdata"


def _installed_by_dpkg_query(admindir: Path, scratch: Path | None = None) -> set[tuple[str, str]]:
    if scratch is not None:  # dpkg-query wants a writable admin dir (updates/, lock): query a copy
        shutil.copytree(admindir, scratch / "dpkg-admin")
        (scratch / "dpkg-admin/updates").mkdir(exist_ok=True)
        admindir = scratch / "dpkg-admin"
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admindir}", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = set()
    for line in out.splitlines():
        name, version, status = line.split("\t")
        if version and status not in {"not-installed", "config-files"}:
            found.add((name, version))
    return found


def _unpack_txtar(archive: Path, root: Path) -> None:
    """txtar: ``-- path --`` lines open each file (Go's golang.org/x/tools/txtar format)."""
    current: Path | None = None
    chunks: dict[Path, list[str]] = {}
    for line in archive.read_text().splitlines(keepends=True):
        if line.startswith("-- ") and line.rstrip().endswith(" --"):
            current = root / line.strip()[3:-3].strip()
            chunks[current] = []
        elif current is not None:
            chunks[current].append(line)
    for path, lines in chunks.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines))


def _dpkg_txtar_fixtures(shared: Path) -> list[Path]:
    return sorted((shared / FIXTURES / TRIVY_DPKG).glob("*.txtar"))


@pytest.mark.parametrize("name", ["valid", "only-apt", "third-party", "md5sums", "digest"])
def test_dpkg_status_matches_dpkg_query(shared_dir: Path, tmp_path: Path, name: str) -> None:
    _unpack_txtar(shared_dir / FIXTURES / TRIVY_DPKG / f"{name}.txtar", tmp_path)
    if not (tmp_path / "var/lib/dpkg/status").exists():
        pytest.fail(f"{name}.txtar has no var/lib/dpkg/status")
    expected = _installed_by_dpkg_query(tmp_path / "var/lib/dpkg")
    packages = DPKG.catalog(DirFS(tmp_path), CatalogContext(distro=None))
    assert {(p.name, p.version) for p in packages} == expected
    assert expected  # the oracle found something: the comparison is not vacuous


def test_dpkg_syft_image_fixture_with_copyright_license(shared_dir: Path) -> None:
    root = shared_dir / FIXTURES / SYFT_DEBIAN / "image-dpkg"
    fs = DirFS(root)
    distro = Distro(id="debian", version_id="12")
    (package,) = DPKG.catalog(fs, CatalogContext(distro=distro))
    # dpkg-query itself refuses this status file (it also holds an empty "Package:" paragraph we skip)
    status = (root / "var/lib/dpkg/status").read_text()
    assert f"Package: {package.name}\n" in status
    assert f"Version: {package.version}\n" in status
    assert package.source_name == "pam"
    assert package.arch == "all"
    assert package.purl == "pkg:deb/debian/libpam-runtime@1.1.8-3.6?arch=all&distro=debian-12&upstream=pam"
    copyright_text = (root / "usr/share/doc/libpam-runtime/copyright").read_text()
    assert package.licenses == parse_copyright_licenses(copyright_text)
    assert "GPL-2" in package.licenses
    assert [loc.path for loc in package.locations] == [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/info/libpam-runtime.md5sums",
        "/usr/share/doc/libpam-runtime/copyright",
    ]
    owned = DPKG.owned_files(fs)
    assert "/lib/x86_64-linux-gnu/security/pam_access.so" in owned or owned  # md5sums paths become absolute
    assert all(p.startswith("/") for p in owned)


def test_dpkg_distroless_status_d(shared_dir: Path) -> None:
    root = shared_dir / FIXTURES / SYFT_DEBIAN / "image-distroless-deb"
    (package,) = DPKG.catalog(DirFS(root), CatalogContext(distro=None))
    control = (root / "var/lib/dpkg/status.d/libsqlite3-0").read_text()
    assert f"Package: {package.name}\n" in control
    assert f"Version: {package.version}\n" in control
    assert package.source_name == "sqlite3"
    assert package.locations[0].path == "/var/lib/dpkg/status.d/libsqlite3-0"
    assert package.locations[1].path == "/var/lib/dpkg/status.d/libsqlite3-0.md5sums"
    assert "public-domain" in package.licenses


def test_dpkg_source_version_in_parentheses(shared_dir: Path) -> None:
    root = shared_dir / FIXTURES / SYFT_DEBIAN
    packages = {p.name: p for p in DPKG.catalog(DirFS(root), CatalogContext(distro=None))}
    selinux = packages["libselinux1"]  # "Source: libselinux (3.4-1)" with binary version 3.4-1+b6
    assert (selinux.version, selinux.source_name, selinux.source_version) == ("3.4-1+b6", "libselinux", "3.4-1")


def test_copyright_license_patterns(shared_dir: Path) -> None:
    text = (shared_dir / FIXTURES / SYFT_DEBIAN / "copyright/trilicense").read_text()
    assert parse_copyright_licenses(text) == ("MPL-1.1 or GPL-2 or LGPL-2.1", "MPL-1.1", "GPL-2", "LGPL-2.1")


def test_apk_installed_database(shared_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "lib/apk/db/installed"
    db.parent.mkdir(parents=True)
    shutil.copy(shared_dir / FIXTURES / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk", db)
    distro = Distro(id="alpine", version_id="3.4.6")
    packages = {p.name: p for p in APK.catalog(DirFS(tmp_path), CatalogContext(distro=distro))}
    text = db.read_text()
    blocks = [b for b in text.split("\n\n") if "\nV:" in f"\n{b}" and "\nP:" in f"\n{b}"]
    assert len(packages) == len(blocks)
    assert "invalidPackageWithoutAVersion" not in packages
    musl = packages["musl"]
    assert (musl.version, musl.arch, musl.licenses, musl.source_name) == ("1.1.14-r10", "x86_64", ("MIT",), "musl")
    assert musl.purl == "pkg:apk/alpine/musl@1.1.14-r10?arch=x86_64&distro=alpine-3.4.6"
    assert "/lib/libc.musl-x86_64.so.1" in APK.owned_files(DirFS(tmp_path))


def test_rpm_berkeley_db_matches_expected(shared_dir: Path, tmp_path: Path) -> None:
    expected = json.loads((shared_dir / FIXTURES / "expected.json").read_text())
    key = "go-rpmdb/pkg/testdata/libuuid/Packages"
    db = tmp_path / "var/lib/rpm/Packages"
    db.parent.mkdir(parents=True)
    shutil.copy(shared_dir / FIXTURES / key, db)
    packages = RPM.catalog(DirFS(tmp_path), CatalogContext(distro=Distro(id="rhel", version_id="8.8")))
    got = [
        {
            "Name": p.name,
            "Epoch": int(p.version.split(":")[0]) if ":" in p.version else 0,
            "Version": p.version.split(":")[-1].rsplit("-", 1)[0],
            "Release": p.version.rsplit("-", 1)[1],
            "Arch": p.arch,
            "Licenses": list(p.licenses),
        }
        for p in packages
    ]
    assert got == expected[key]["packages"]
    (package,) = packages
    expected_purl = "pkg:rpm/redhat/libuuid@2.32.1-42.el8_8?arch=x86_64&distro=rhel-8.8"
    assert package.purl == expected_purl + "&upstream=util-linux-2.32.1-42.el8_8.src.rpm"
    assert package.source_name == "util-linux"
    assert "/usr/lib64/libuuid.so.1" in RPM.owned_files(DirFS(tmp_path))


def test_registry_loads_os_catalogers_first() -> None:
    catalogers = load_catalogers()
    names = [c.name for c in catalogers]
    assert names[:3] == ["dpkg", "apk", "rpm"]
    assert all(c.kind == "os" for c in catalogers[:3])
    assert {c.name for c in catalogers if c.kind == "os"} == {"dpkg", "apk", "rpm"}
    assert PackageType.DEB.value == "deb"


@pytest.mark.parametrize(
    ("name", "version", "source", "expected"),
    [
        (
            "libssl3",
            "3.0.11-1~deb12u2",
            "openssl",
            ("libssl3:libssl3:3.0.11-1\\~deb12u2", "openssl:openssl:3.0.11-1\\~deb12u2"),
        ),
        ("bash", "5.2.15-2+b2", "bash", ("bash:bash:5.2.15-2\\+b2",)),
        ("py3-yaml", "6.0-r0", None, ("py3-yaml:py3-yaml:6.0-r0", "yaml:yaml:6.0-r0", "py3_yaml:py3_yaml:6.0-r0")),
        (
            "libuuid",
            "2.32.1-42.el8_8",
            "util-linux",
            (
                "libuuid:libuuid:2.32.1-42.el8_8",
                "util-linux:util-linux:2.32.1-42.el8_8",
                "util_linux:util_linux:2.32.1-42.el8_8",
            ),
        ),
        ("shadow", "2:4.6-17.el8", None, ("shadow:shadow:2\\:4.6-17.el8",)),
        (
            "ruby-bundler-doc",
            "2.4-r1",
            "Ruby-Bundler",
            (
                "ruby-bundler-doc:ruby-bundler-doc:2.4-r1",
                "bundler-doc:bundler-doc:2.4-r1",
                "ruby-bundler:ruby-bundler:2.4-r1",
                "bundler:bundler:2.4-r1",
            ),
        ),
    ],
    ids=["deb-source", "deb-same-source", "apk-python", "rpm-source", "rpm-epoch", "bounded"],
)
def test_os_package_cpes_as_syft_guesses_them(
    name: str, version: str, source: str | None, expected: tuple[str, ...]
) -> None:
    """Product from the name and source package (language prefix dropped, ``-`` as ``_``), vendor the
    product, CPE 2.3 escaping of ``:``, ``+`` and ``~``; at most ``MAX_OS_CPES``, most likely first."""
    cpes = os_package_cpes(name, version, source_name=source)
    assert cpes == tuple(f"cpe:2.3:a:{e}:*:*:*:*:*:*:*" for e in expected)
    assert len(cpes) <= MAX_OS_CPES
    assert os_package_cpes(name, version, source_name=source) == cpes


def test_os_catalogers_give_every_package_cpes(shared_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(shared_dir / FIXTURES / "syft/syft/pkg/cataloger/debian/testdata/image-dpkg", root)
    (root / "lib/apk/db").mkdir(parents=True)
    shutil.copy(shared_dir / FIXTURES / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk", root / "lib/apk/db/installed")
    (root / "var/lib/rpm").mkdir(parents=True)
    shutil.copy(shared_dir / FIXTURES / "go-rpmdb/pkg/testdata/libuuid/Packages", root / "var/lib/rpm/Packages")
    context = CatalogContext(distro=None)
    packages = [p for cataloger in (DPKG, APK, RPM) for p in cataloger.catalog(DirFS(root), context)]
    assert {p.type for p in packages} == {PackageType.DEB, PackageType.APK, PackageType.RPM}
    for package in packages:
        assert package.cpes == os_package_cpes(package.name, package.version, source_name=package.source_name)
        assert package.cpes[0].startswith(f"cpe:2.3:a:{package.name.lower()}:{package.name.lower()}:"), package


def test_dpkg_database_behind_a_symlinked_directory_in_a_root_filesystem(shared_dir: Path, tmp_path: Path) -> None:
    """``dir:`` as images: a symlinked ``/var/lib/dpkg`` hides neither distroless ``status.d/`` nor
    the file lists (``walk`` does not follow symlinks; literal-directory globs do)."""
    for fixture in ("image-distroless-deb", "image-dpkg"):
        original = shared_dir / FIXTURES / SYFT_DEBIAN / fixture
        root = tmp_path / fixture
        shutil.copytree(original, root, symlinks=True)
        (root / "var/lib/dpkg").rename(root / "opt-db")
        (root / "var/lib/dpkg").symlink_to("../../opt-db")
        moved, kept = DirFS(root), DirFS(original)
        context = CatalogContext(distro=None)
        assert [(p.name, p.version, p.locations) for p in DPKG.catalog(moved, context)] == [
            (p.name, p.version, p.locations) for p in DPKG.catalog(kept, context)
        ]
        assert DPKG.owned_files(moved) == DPKG.owned_files(kept)
        assert DPKG.owned_files(moved)
        assert list(moved.glob(["/var/lib/dpkg/status.d/*"])) == list(kept.glob(["/var/lib/dpkg/status.d/*"]))
