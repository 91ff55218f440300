"""The version of a ``(devel)`` main module: from an ``-ldflags -X`` stamp, else from the binary's
bytes (syft's "main module version from contents"), on binaries built here by the real Go
toolchain, judged against the real syft (1.18, which searches contents by default) run on the same
files, and the stamps against the ``-ldflags`` we built with.

A ``-X pkg.var=…`` string lands in read-only data between NULs, which is what the contents search
finds; a variable syft's and our ldflags rules do not recognise as a version (``info.ref``) leaves
the build-settings route empty, so the version can only come from the contents. ``-X`` for a
variable the program does not have is recorded in the build settings all the same (the linker
ignores it), which isolates the ldflags rules.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testkit.peers import syft_artifacts
from wharfinger.inventory.catalogers.gobuildinfo import read_build_info
from wharfinger.inventory.catalogers.golang import parse_go_binary
from wharfinger.inventory.package import Location

GO = shutil.which("go")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wharfinger-tests"
MODULE = "example.com/app"

MAIN_GO = """package main

import (
\t"fmt"

\t"example.com/app/info"
)

var version = "dev"

func main() { fmt.Println(version, info.Ref()) }
"""
INFO_GO = """package info

// a plain literal: Go packs string literals without separators, so no NUL surrounds it
var ref = "9.9.9"

func Ref() string { return ref }
"""
STAMP = "v2.5.0"
# -ldflags → (our version, syft's); the variables do not exist in the program
LDFLAGS_CASES = {
    # trivy's own stamp: a `…ver` variable in a package of the main module
    "ldflags-module-ver.elf": (f"-s -w -X {MODULE}/pkg/version/app.ver=0.59.1", "v0.59.1", "v0.59.1"),
    # syft's own: main.version without a v, beside other main.* stamps; quotes in -ldflags
    "ldflags-main-version.elf": (
        "-extldflags '-static' -X main.version=1.18.1 -X main.gitDescription=v1.18.1",
        "v1.18.1",
        "v1.18.1",
    ),
    # kpt's: a pre-release with dots; syft's pattern stops at the first dot after "-"
    "ldflags-prerelease.elf": (f"-X {MODULE}/run.version=1.0.0-beta.56", "v1.0.0-beta.56", "v1.0.0-beta"),
    "ldflags-not-a-version.elf": ("-X main.version=dev", "(devel)", "(devel)"),
    # another module's version variable is not the main module's version
    "ldflags-dependency.elf": ("-X k8s.io/client-go/pkg/version.gitVersion=v1.30.0", "(devel)", "(devel)"),
}
# name → (GOOS, GOARCH, -ldflags)
BUILDS = {
    "content.elf": ("linux", "amd64", f"-X {MODULE}/info.ref={STAMP}"),
    "content.exe": ("windows", "amd64", f"-X {MODULE}/info.ref={STAMP}"),
    "content.macho": ("darwin", "arm64", f"-X {MODULE}/info.ref={STAMP}"),
    "stamped.elf": ("linux", "amd64", f"-X main.version=v1.2.3 -X {MODULE}/info.ref={STAMP}"),
    "plain.elf": ("linux", "amd64", ""),
    # ldflags rules: (GOOS, GOARCH, -ldflags) as above, the expected version, syft's if it differs
    **{name: ("linux", "amd64", flags) for name, (flags, _ours, _syft) in LDFLAGS_CASES.items()},
}
# the three bytes before the NUL-delimited stamp in content.elf, rewritten: how Go's regexp (and so
# syft) reads the byte before a version decides whether it is found
PREFIXES = {
    "stray-byte": b"\x00\x00\xbe",  # invalid UTF-8: Go reads U+FFFD, which syft accepts like a NUL
    "replacement-char": b"\xef\xbf\xbd",  # U+FFFD itself
    "valid-char": b"\x00\xc3\xa9",  # "é": a valid character, not a prefix
    "char-and-L": b"\x00\xa0L",  # NUL, one character, "L": syft's second form
    "ascii": b"\x00\x00-",
}


@pytest.fixture(scope="module")
def binaries() -> dict[str, Path]:
    """The builds above (cached by recipe) plus content.elf with each rewritten prefix."""
    if GO is None:
        pytest.fail("the Go toolchain is missing: run scripts/install-test-deps (apt golang-go)")
    recipe = hashlib.sha256(repr((MAIN_GO, INFO_GO, BUILDS, PREFIXES)).encode()).hexdigest()[:16]
    out = CACHE / f"go-content-version-{recipe}"
    if not all((out / name).is_file() for name in BUILDS):
        src = out / "src"
        (src / "info").mkdir(parents=True, exist_ok=True)
        (src / "main.go").write_text(MAIN_GO)
        (src / "go.mod").write_text(f"module {MODULE}\n\ngo 1.19\n")
        (src / "info" / "info.go").write_text(INFO_GO)
        for name, (goos, goarch, ldflags) in BUILDS.items():
            env = {
                **os.environ,
                "GOOS": goos,
                "GOARCH": goarch,
                "CGO_ENABLED": "0",
                "GOPROXY": "off",
                "GOCACHE": str(out / "gocache"),
                "GOPATH": str(out / "gopath"),
            }
            # -buildvcs=false: no VCS revision, whatever checkout the cache lives in
            subprocess.run(
                [GO, "build", "-buildvcs=false", "-ldflags", ldflags, "-o", str(out / name), "."],
                cwd=src,
                env=env,
                check=True,
                capture_output=True,
                timeout=240,
            )
    found = {name: out / name for name in BUILDS}
    data = (out / "content.elf").read_bytes()
    stamp = b"\x00" + STAMP.encode() + b"\x00"
    assert data.count(stamp) == 1, "the -X string is no longer NUL-delimited in read-only data"
    at = data.index(stamp) + 1
    for label, prefix in PREFIXES.items():
        patched = out / f"prefix-{label}.elf"
        patched.write_bytes(data[: at - len(prefix)] + prefix + data[at:])
        found[f"prefix-{label}.elf"] = patched
    return found


def _syft_main_versions(directory: Path) -> dict[str, str]:
    """Per file name, the version the real syft gives the main module ``MODULE``."""
    versions: dict[str, str] = {}
    for artifact in syft_artifacts(directory):
        if artifact["name"] == MODULE:
            for location in artifact["locations"]:
                versions[Path(location["path"]).name] = artifact["version"]
    return versions


def _our_main_version(binary: Path) -> str:
    parsed = parse_go_binary(binary.read_bytes(), Location(path=f"/{binary.name}"))
    return next(p.version for p in parsed.packages if p.name == MODULE)


@pytest.fixture(scope="module")
def syft_versions(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("go-content")
    for name, binary in binaries.items():
        shutil.copy(binary, folder / name)
    return _syft_main_versions(folder)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("content.elf", STAMP),
        ("content.exe", STAMP),
        # Go's arm64 Mach-O linker puts the string after 0x01 bytes: no prefix, nothing found
        ("content.macho", "(devel)"),
    ],
)
def test_devel_module_takes_the_version_string_in_its_contents(
    binaries: dict[str, Path], syft_versions: dict[str, str], name: str, expected: str
) -> None:
    assert _our_main_version(binaries[name]) == expected
    assert syft_versions[name] == expected


def test_ldflags_stamp_wins_over_the_contents(binaries: dict[str, Path], syft_versions: dict[str, str]) -> None:
    assert _our_main_version(binaries["stamped.elf"]) == "v1.2.3"
    assert syft_versions["stamped.elf"] == "v1.2.3"


def test_plain_literal_is_not_a_version(binaries: dict[str, Path], syft_versions: dict[str, str]) -> None:
    """Without a stamp the ``9.9.9`` literal sits between other string bytes: (devel) stays."""
    assert _our_main_version(binaries["plain.elf"]) == "(devel)"
    assert syft_versions["plain.elf"] == "(devel)"


@pytest.mark.parametrize("label", PREFIXES)
def test_prefix_bytes_read_as_go_reads_them(
    binaries: dict[str, Path], syft_versions: dict[str, str], label: str
) -> None:
    name = f"prefix-{label}.elf"
    assert _our_main_version(binaries[name]) == syft_versions[name]


def test_prefix_cases_cover_found_and_not_found(syft_versions: dict[str, str]) -> None:
    """The rewritten prefixes exercise both outcomes (else the comparison above proves little)."""
    outcomes = {label: syft_versions[f"prefix-{label}.elf"] == STAMP for label in PREFIXES}
    assert outcomes == {
        "stray-byte": True,
        "replacement-char": True,
        "valid-char": False,
        "char-and-L": True,
        "ascii": False,
    }


@pytest.mark.parametrize(
    "tail",
    [
        b"x.1.1\x00" * 5_000_000,  # 5 million candidates that fail the prefix check
        b"\x00" + b"7" * 10_000_000 + b".2.3\x00",  # a first number ten million digits long
    ],
    ids=["many-candidates", "endless-number"],
)
def test_hostile_contents_cost_bounded_time(binaries: dict[str, Path], tail: bytes) -> None:
    """A real (devel) binary with 30 MB of near-matches appended: the search gives up early
    (without its limits, > 5 s of Python loop turns)."""
    data = binaries["plain.elf"].read_bytes() + tail
    started = time.perf_counter()
    parsed = parse_go_binary(data, Location(path="/app"))
    elapsed = time.perf_counter() - started
    assert next(p.version for p in parsed.packages if p.name == MODULE) == "(devel)"
    assert elapsed < 2, f"{elapsed:.1f} s"


@pytest.mark.parametrize("name", LDFLAGS_CASES)
def test_ldflags_stamps(binaries: dict[str, Path], syft_versions: dict[str, str], name: str) -> None:
    flags, ours, syft = LDFLAGS_CASES[name]
    info = read_build_info(binaries[name].read_bytes())
    assert info is not None
    assert dict(info.settings)["-ldflags"] == flags  # unquoted, as Go's debug.ParseBuildInfo gives it
    assert _our_main_version(binaries[name]) == ours
    assert syft_versions[name] == syft
