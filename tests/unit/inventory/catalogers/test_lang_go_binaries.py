"""Go build info read from real binaries: built here with the Go toolchain for Linux (ELF),
Windows (PE) and macOS (Mach-O), Debian's ``docker-registry`` (GOPATH mode), and trivy's go1.15
fixture (the pre-1.18 pointer format).

The expected modules come from ``go version -m`` — Go's own reader of the same blob — not from
what the test wrote.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.peers import syft_artifacts
from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers.binaries import BINARIES
from wharfinger.inventory.catalogers.gobuildinfo import read_build_info
from wharfinger.inventory.catalogers.golang import parse_go_binary
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Location, PackageType

GO = shutil.which("go")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wharfinger-tests"

MAIN_GO = """package main

import (
\t"fmt"

\t"example.com/greeting"
)

var version = "dev"

func main() { fmt.Println(greeting.Hello(), version) }
"""
GO_MOD = """module example.com/app

go 1.19

require example.com/greeting v1.4.2

replace example.com/greeting v1.4.2 => ./greeting
"""
LIB_GO = 'package greeting\n\nfunc Hello() string { return "hello" }\n'


def _recipe_key() -> str:
    return hashlib.sha256((MAIN_GO + GO_MOD + LIB_GO).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def go_binaries() -> dict[str, Path]:
    """app.elf / app.exe / app.macho built from a module with a replaced dependency, cached by recipe."""
    if GO is None:
        pytest.fail("the Go toolchain is missing: run scripts/install-test-deps (apt golang-go)")
    out = CACHE / f"go-buildinfo-{_recipe_key()}"
    targets = {"app.elf": ("linux", "amd64"), "app.exe": ("windows", "amd64"), "app.macho": ("darwin", "arm64")}
    if not all((out / name).is_file() for name in targets):
        src = out / "src"
        (src / "greeting").mkdir(parents=True, exist_ok=True)
        (src / "main.go").write_text(MAIN_GO)
        (src / "go.mod").write_text(GO_MOD)
        (src / "greeting" / "go.mod").write_text("module example.com/greeting\n\ngo 1.19\n")
        (src / "greeting" / "greeting.go").write_text(LIB_GO)
        for name, (goos, goarch) in targets.items():
            env = {
                **os.environ,
                "GOOS": goos,
                "GOARCH": goarch,
                "CGO_ENABLED": "0",
                "GOFLAGS": "-mod=mod",
                "GOPROXY": "off",
                "GOCACHE": str(out / "gocache"),
                "GOPATH": str(out / "gopath"),
            }
            subprocess.run(
                [GO, "build", "-ldflags", "-X main.version=v1.2.3", "-o", str(out / name), "."],
                cwd=src,
                env=env,
                check=True,
                capture_output=True,
                timeout=240,
            )
    return {name: out / name for name in targets}


def _go_version_m(binary: Path) -> dict[str, list[list[str]]]:
    """`go version -m` output grouped by line kind (path, mod, dep, =>, build)."""
    assert GO is not None
    result = subprocess.run([GO, "version", "-m", str(binary)], capture_output=True, text=True, check=True)
    lines: dict[str, list[list[str]]] = {}
    for line in result.stdout.splitlines()[1:]:
        fields = line.strip().split("\t")
        lines.setdefault(fields[0], []).append(fields[1:])
    return lines


@pytest.mark.parametrize("name", ["app.elf", "app.exe", "app.macho"])
def test_build_info_matches_go_version_m(go_binaries: dict[str, Path], name: str) -> None:
    binary = go_binaries[name]
    truth = _go_version_m(binary)
    info = read_build_info(binary.read_bytes())
    assert info is not None
    assert info.path == truth["path"][0][0]
    assert info.main is not None
    assert [info.main.path, info.main.version] == truth["mod"][0][:2]
    assert [[d.path, d.version] for d in info.deps] == [d[:2] for d in truth["dep"]]
    assert [[d.replaced_by.path] for d in info.deps if d.replaced_by] == [r[:1] for r in truth["=>"]]
    assert dict(info.settings)["GOOS"] == next(
        v for k, v in (s[0].split("=", 1) for s in truth["build"]) if k == "GOOS"
    )


def test_packages_of_a_module_binary(go_binaries: dict[str, Path]) -> None:
    binary = go_binaries["app.elf"]
    go_version = subprocess.run([GO or "go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    parsed = parse_go_binary(binary.read_bytes(), Location(path="/app", layer_digest="sha256:" + "a" * 64))
    by_name = {p.name: p for p in parsed.packages}
    assert by_name["example.com/app"].version == "v1.2.3"  # (devel) replaced by the -X main.version stamp
    assert by_name["example.com/app"].purl == "pkg:golang/example.com/app@v1.2.3"
    # replaced by a local directory: the required module and version are what we can report
    assert by_name["example.com/greeting"].purl == "pkg:golang/example.com/greeting@v1.4.2"
    assert ("replaced_by", "./greeting") in by_name["example.com/greeting"].metadata
    stdlib = by_name["stdlib"]
    assert stdlib.version == go_version.strip().removeprefix("go")
    assert stdlib.purl == f"pkg:golang/stdlib@{stdlib.version}"
    assert all(p.layer_digest == "sha256:" + "a" * 64 for p in parsed.packages)


def test_debian_docker_registry_gopath_binary(tmp_path: Path) -> None:
    binary = Path("/usr/bin/docker-registry")
    if not binary.is_file():
        pytest.fail("Debian's docker-registry is missing: run scripts/install-test-deps")
    truth = subprocess.run([GO or "go", "version", str(binary)], capture_output=True, text=True, check=True).stdout
    toolchain = truth.split(": ", 1)[1].strip().removeprefix("go")  # "1.19.8"
    debian = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "docker-registry"], capture_output=True, text=True, check=True
    ).stdout
    upstream = debian.split(":", 1)[-1].rsplit("-", 1)[0]  # "2.8.2+ds1-1" → "2.8.2+ds1", the string in the binary
    parsed = parse_go_binary(binary.read_bytes(), Location(path=str(binary)))
    # GOPATH mode: no module lines; the main package stands for its module, versioned from the binary
    main, stdlib = parsed.packages
    assert (main.name, main.version) == ("github.com/docker/distribution", f"v{upstream}")
    assert main.purl == f"pkg:golang/github.com/docker/distribution@v{upstream.replace('+', '%2B')}#cmd/registry"
    assert stdlib.purl == f"pkg:golang/stdlib@{toolchain}"
    assert stdlib.cpes == (f"cpe:2.3:a:golang:go:{toolchain}:*:*:*:*:*:*:*",)
    # syft, on the same file, reports the same module and version
    shutil.copy(binary, tmp_path / "registry")
    syft_purls = {a["purl"].split("?", 1)[0] for a in syft_artifacts(tmp_path)}
    assert main.purl in syft_purls


def test_gopath_binary_without_a_version_string(tmp_path: Path) -> None:
    """A GOPATH-mode build (``GO111MODULE=off``) on a host we cannot split: the package path is the
    name, ``(devel)`` the version, as ``go version -m`` and syft name it."""
    if GO is None:
        pytest.fail("the Go toolchain is missing: run scripts/install-test-deps (apt golang-go)")
    package = tmp_path / "gopath/src/example.com/tool/cmd/tool"
    package.mkdir(parents=True)
    (package / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("tool") }\n')
    binary = tmp_path / "out/tool"
    env = {
        **os.environ,
        "GOPATH": str(tmp_path / "gopath"),
        "GO111MODULE": "off",
        "CGO_ENABLED": "0",
        "GOCACHE": str(CACHE / "go-gopath-cache"),
    }
    subprocess.run(
        [GO, "build", "-o", str(binary), "example.com/tool/cmd/tool"], env=env, check=True, capture_output=True
    )
    truth = _go_version_m(binary)
    assert "mod" not in truth
    parsed = parse_go_binary(binary.read_bytes(), Location(path="/usr/local/bin/tool"))
    main, _stdlib = parsed.packages
    assert (main.name, main.version) == (truth["path"][0][0], "(devel)")
    assert ("main_module", "true") in main.metadata
    assert {(a["name"], a["version"]) for a in syft_artifacts(binary.parent)} >= {(main.name, main.version)}


def test_pointer_format_of_go_1_15(shared_dir: Path) -> None:
    binary = shared_dir / "fixtures/inventory/trivy/pkg/dependency/parser/golang/binary/testdata/test.elf"
    info = read_build_info(binary.read_bytes())
    assert info is not None
    assert info.go_version == "go1.15.2"
    if GO is not None:  # go version -m reads go1.13+ binaries too: the same modules
        truth = _go_version_m(binary)
        assert [[d.path, d.version] for d in info.deps] == [d[:2] for d in truth["dep"]]


def test_ldflags_version_fixture(shared_dir: Path) -> None:
    binary = (
        shared_dir
        / "fixtures/inventory/trivy/pkg/dependency/parser/golang/binary/testdata/main-version-via-ldflags.elf"
    )
    parsed = parse_go_binary(binary.read_bytes(), Location(path="/x"))
    assert {(p.name, p.version) for p in parsed.packages} == {
        ("github.com/aquasecurity/test", "v1.0.0"),
        ("stdlib", "1.22.1"),
    }


def test_binaries_cataloger_walks_executables_and_skips_os_owned(go_binaries: dict[str, Path], tmp_path: Path) -> None:
    bin_dir = tmp_path / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(go_binaries["app.elf"], bin_dir / "app")
    (bin_dir / "app").chmod(0o755)
    shutil.copy(go_binaries["app.elf"], tmp_path / "not-executable")
    (tmp_path / "not-executable").chmod(0o644)
    (bin_dir / "script").write_text("#!/bin/sh\necho hi\n")
    (bin_dir / "script").chmod(0o755)
    fs = DirFS(tmp_path)

    found = BINARIES.catalog(fs, CatalogContext(distro=None))
    assert {p.locations[0].path for p in found} == {"/usr/local/bin/app"}
    assert {p.type for p in found} == {PackageType.GOLANG}

    owned = CatalogContext(distro=None, os_owned_files=frozenset({"/usr/local/bin/app"}))
    assert BINARIES.catalog(fs, owned) == []
    reported_anyway = CatalogContext(distro=None, os_owned_files=frozenset({"/usr/local/bin/app"}), skip_os_owned=False)
    assert {p.name for p in BINARIES.catalog(fs, reported_anyway)} == {p.name for p in found}


@pytest.fixture(scope="module")
def go_vcs_binary() -> tuple[Path, str, str]:
    """A binary built inside a git checkout without a version stamp: Go records vcs.revision/time."""
    if GO is None or shutil.which("git") is None:
        pytest.fail("Go and git are needed: run scripts/install-test-deps")
    out = CACHE / f"go-vcs-{_recipe_key()}"
    src = out / "src"
    binary = out / "app-vcs.elf"
    if not binary.is_file():
        shutil.rmtree(out, ignore_errors=True)
        (src / "greeting").mkdir(parents=True)
        (src / "main.go").write_text(MAIN_GO)
        (src / "go.mod").write_text(GO_MOD)
        (src / "greeting" / "go.mod").write_text("module example.com/greeting\n\ngo 1.19\n")
        (src / "greeting" / "greeting.go").write_text(LIB_GO)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
        subprocess.run([*git, "init", "-q"], cwd=src, check=True)
        subprocess.run([*git, "add", "."], cwd=src, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "x"], cwd=src, check=True, env={**os.environ, "TZ": "UTC"})
        env = {
            **os.environ,
            "CGO_ENABLED": "0",
            "GOFLAGS": "-mod=mod",
            "GOPROXY": "off",
            "GOCACHE": str(out / "gocache"),
            "GOPATH": str(out / "gopath"),
        }
        subprocess.run(
            [GO, "build", "-o", str(binary), "."], cwd=src, env=env, check=True, capture_output=True, timeout=240
        )
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, check=True).stdout
    when = subprocess.run(
        ["git", "log", "-1", "--format=%cd", "--date=format-local:%Y%m%d%H%M%S"],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    return binary, revision.strip(), when.strip()


def test_vcs_revision_gives_a_pseudo_version(go_vcs_binary: tuple[Path, str, str]) -> None:
    binary, revision, when = go_vcs_binary
    parsed = parse_go_binary(binary.read_bytes(), Location(path="/app"))
    main = next(p for p in parsed.packages if p.name == "example.com/app")
    assert main.version == f"v0.0.0-{when}-{revision[:12]}"


def test_build_info_without_a_section_table_is_found_by_scanning(go_binaries: dict[str, Path]) -> None:
    """The blob is looked for in ``.go.buildinfo`` first; a file without a section table (zeroed
    e_shoff/e_shnum, as sstrip leaves it) is scanned whole and gives the same answer."""
    data = bytearray(go_binaries["app.elf"].read_bytes())
    assert data[4] == 2
    data[0x28:0x30] = bytes(8)
    data[0x3C:0x3E] = bytes(2)
    with_sections = read_build_info(go_binaries["app.elf"].read_bytes())
    without = read_build_info(bytes(data))
    assert with_sections is not None
    assert without == with_sections
    truth = _go_version_m(go_binaries["app.elf"])
    assert without.path == truth["path"][0][0]
