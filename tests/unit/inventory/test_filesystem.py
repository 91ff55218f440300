from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from wharfinger.errors import UnsafeArchiveError
from wharfinger.inventory.filesystem import DirFS, FileTooLargeError, ImageFS, PathPatterns, resolve_inside_root


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text("ID=alpine\n")
    (root / "lib").symlink_to("usr/lib")
    (root / "escape").symlink_to("../../../../etc")
    (root / "abs").symlink_to("/usr/lib/os-release")
    (root / "loop").symlink_to("loop")
    (tmp_path / "outside.txt").write_text("secret")
    (root / "up").symlink_to("../outside.txt")
    return root


def test_dirfs_implements_protocol(rootfs: Path) -> None:
    assert isinstance(DirFS(rootfs), ImageFS)


def test_symlinks_resolve_inside_root(rootfs: Path) -> None:
    fs = DirFS(rootfs)
    assert fs.realpath("/lib/os-release") == "/usr/lib/os-release"
    assert fs.read_bytes("/lib/os-release", 100) == b"ID=alpine\n"
    assert fs.realpath("/escape") == "/etc"  # ".." stops at the root
    assert fs.is_dir("/escape")
    assert fs.read_bytes("/abs", 100) == b"ID=alpine\n"  # absolute target is inside the root
    assert not fs.exists("/up")  # /outside.txt inside the root does not exist: never the host file


def test_symlink_loop_is_refused() -> None:
    links = {"/a": "/b", "/b": "/a"}
    with pytest.raises(UnsafeArchiveError, match="symbolic links"):
        resolve_inside_root("/a/x", links.get)


def test_loop_is_not_a_file(rootfs: Path) -> None:
    assert not DirFS(rootfs).exists("/loop")


def test_read_bytes_cap(rootfs: Path) -> None:
    with pytest.raises(FileTooLargeError):
        DirFS(rootfs).read_bytes("/etc/os-release", 3)


def test_glob_and_walk(rootfs: Path) -> None:
    fs = DirFS(rootfs)
    assert list(fs.walk()) == ["/etc/os-release", "/usr/lib/os-release"]
    assert list(fs.glob(["**/os-release"])) == ["/etc/os-release", "/usr/lib/os-release"]
    assert list(fs.glob(["/etc/*"])) == ["/etc/os-release"]
    assert fs.listdir("/usr") == ["lib"]
    assert fs.layer_of("/etc/os-release") is None


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.jar", "/a.jar", True),
        ("**/*.jar", "/x/y/a.jar", True),
        ("*.jar", "/x/a.jar", True),
        ("/opt/*.jar", "/opt/x/a.jar", False),
        ("/var/lib/dpkg/status.d/*", "/var/lib/dpkg/status.d/base", True),
        ("**/site-packages/*.dist-info/METADATA", "/usr/lib/python3/site-packages/a-1.dist-info/METADATA", True),
        ("/var/lib/dpkg/info/*.list", "/var/lib/dpkg/info/libc6:amd64.list", True),
        ("/etc/[ab]*", "/etc/alpine-release", True),
        ("/var/lib/dpkg/status.d/*", "/var/lib/dpkg/status.d/sub/base", False),
        ("/var/lib/dpkg/status.d/*", "/var/lib/dpkg/status.dx", False),
        ("**/node_modules/*/package.json", "/app/node_modules/lodash/package.json", True),
        ("**/node_modules/*/package.json", "/app/node_modules/@types/node/package.json", False),
        ("**/bin/python3.*", "/usr/bin/python3.11", True),
        ("**/bin/python3.*", "/usr/bin/python3", False),
        ("/opt/**", "/opt/a/b/c", True),
        ("**/release", "/usr/lib/jvm/java-17/release", True),
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    assert PathPatterns([pattern]).matches(path) is matches


def _uncached_readlink(root: Path) -> Callable[[str], str | None]:
    def readlink(path: str) -> str | None:
        host = root / path.lstrip("/")
        return str(host.readlink()) if host.is_symlink() else None

    return readlink


@pytest.mark.parametrize(
    "path",
    [
        "/lib/os-release",
        "/lib/../etc/os-release",
        "/escape/os-release",
        "/abs",
        "/up",
        "/usr/lib/os-release",
        "/usr/./lib//os-release",
        "/lib",
        "/",
        "/missing/file",
        "/etc/os-release/..",
    ],
)
def test_memoised_resolution_equals_the_component_walk(rootfs: Path, path: str) -> None:
    fs = DirFS(rootfs)
    list(fs.walk())
    expected = resolve_inside_root(path, _uncached_readlink(rootfs))
    assert fs.realpath(path) == expected
    assert fs.realpath(path) == expected  # from the memo


def test_each_path_is_lstat_once(rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (rootfs / "usr/lib/other").write_text("x")
    fs = DirFS(rootfs)
    calls: list[str] = []
    real_lstat = os.lstat

    def counting(path: str | os.PathLike[str]) -> os.stat_result:
        calls.append(str(path))
        return real_lstat(path)

    monkeypatch.setattr(os, "lstat", counting)
    assert fs.size("/lib/os-release") == len("ID=alpine\n")
    first = len(calls)
    assert first == 4, calls  # "/lib", "/usr", "/usr/lib", "/usr/lib/os-release"
    assert fs.read_bytes("/lib/os-release", 100) == b"ID=alpine\n"
    assert fs.mode("/lib/os-release")
    assert fs.is_file("/lib/os-release")
    assert len(calls) == first  # all from the memo
    assert fs.is_file("/lib/other")
    assert len(calls) == first + 1  # the sibling: its own lstat only
    assert not fs.exists("/lib/../../up")
    assert fs.realpath("/lib/../../up") == "/outside.txt"
