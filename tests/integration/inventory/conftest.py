"""Real Debian root filesystems (mmdebstrap) and OCI images made from them, cached by recipe.

* ``minbase_tar``: ``mmdebstrap --variant=minbase bookworm``;
* ``full_tar``: the same plus a few packages (curl, python3, git…);
* ``two_layer_layout``: an OCI image layout whose layer 0 is minbase and layer 1 the difference
  to the full root filesystem (new and changed files, whiteouts for removed ones), as a build
  step would commit it.

Built once into ``~/.cache/wharfinger-tests/`` (keyed by the recipe), reused by later runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "wharfinger-tests"
EXTRA_PACKAGES = "ca-certificates,curl,python3,openssl,git,libssl3"


@contextlib.contextmanager
def _building(name: str) -> Iterator[None]:
    """One builder of ``name`` at a time: pytest-xdist workers (and concurrent runs) share the cache,
    and two of them building the same file raced to rename it (seen on a fresh machine)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _mmdebstrap(name: str, extra: str) -> Path:
    recipe = f"mmdebstrap minbase bookworm skip=output/dev include={extra}"
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    target = CACHE / f"{name}-{key}.tar"
    with _building(target.name):
        if target.exists():
            return target
        partial = target.with_name(target.stem + "-partial.tar")  # mmdebstrap picks the format by suffix
        args = ["mmdebstrap", "--variant=minbase", "--skip=output/dev", "--quiet"]
        if extra:
            args.append(f"--include={extra}")
        subprocess.run([*args, "bookworm", str(partial)], check=True, capture_output=True, timeout=900)
        partial.rename(target)
    return target


@pytest.fixture(scope="session")
def minbase_tar() -> Path:
    return _mmdebstrap("bookworm-minbase", "")


@pytest.fixture(scope="session")
def full_tar() -> Path:
    return _mmdebstrap("bookworm-full", EXTRA_PACKAGES)


def _index(tar_path: Path) -> dict[str, tuple[tarfile.TarInfo, str]]:
    found = {}
    with tarfile.open(tar_path) as tar:
        for member in tar:
            name = member.name.removeprefix("./").rstrip("/")
            digest = ""
            if member.isreg():
                f = tar.extractfile(member)
                digest = hashlib.sha256(f.read() if f else b"").hexdigest()
            elif member.issym() or member.islnk():
                digest = "link:" + member.linkname
            found[name] = (member, f"{member.type!r}:{member.mode}:{digest}")
    return found


def diff_layer(lower: Path, upper: Path) -> bytes:
    """The layer that turns ``lower`` into ``upper``: changed/new entries and whiteouts."""
    old, new = _index(lower), _index(upper)
    out = io.BytesIO()
    with tarfile.open(upper) as src, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            name = member.name.removeprefix("./").rstrip("/")
            if name in old and old[name][1] == new[name][1]:
                continue
            member.name = name or "."
            if member.isreg():
                dst.addfile(member, src.extractfile(member))
            elif member.islnk():
                # the hardlink target may be unchanged (absent from this layer): store a copy instead
                target = member.linkname.removeprefix("./")
                if target in old and old[target][1] == new[target][1]:
                    data = src.extractfile(src.getmember("./" + target)) or io.BytesIO()
                    member.type = tarfile.REGTYPE
                    member.linkname = ""
                    dst.addfile(member, data)
                else:
                    dst.addfile(member)
            else:
                dst.addfile(member)
        removed = sorted(set(old) - set(new))
        for name in removed:
            parent, _, base = name.rpartition("/")
            if parent in removed:
                continue
            whiteout = tarfile.TarInfo(f"{parent}/.wh.{base}" if parent else f".wh.{base}")
            dst.addfile(whiteout, io.BytesIO())
    return out.getvalue()


def _blob(blobs: Path, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / digest.split(":")[1]).write_bytes(data)
    return digest, len(data)


def write_oci_layout(directory: Path, layer_tars: list[bytes], *, tag: str = "latest", gzipped: bool = True) -> Path:
    """An OCI image layout (image-spec 1.1) with gzip (or plain tar) layers; returns ``directory``."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layers = []
    diff_ids = []
    for tar in layer_tars:
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        digest, size = _blob(blobs, gzip.compress(tar, compresslevel=1, mtime=0) if gzipped else tar)
        media_type = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzipped else "")
        layers.append({"mediaType": media_type, "digest": digest, "size": size})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layer_tars))],
    }
    config_digest, config_size = _blob(blobs, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": layers,
    }
    manifest_digest, manifest_size = _blob(blobs, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return directory


@pytest.fixture(scope="session")
def two_layer_layout(minbase_tar: Path, full_tar: Path) -> Path:
    key = hashlib.sha256(f"{minbase_tar.name}|{full_tar.name}|layout-v1".encode()).hexdigest()[:12]
    directory = CACHE / f"oci-two-layer-{key}"
    with _building(directory.name):
        if (directory / "index.json").exists():
            return directory
        partial = CACHE / f"oci-two-layer-{key}.partial"
        if partial.exists():
            import shutil

            shutil.rmtree(partial)
        write_oci_layout(partial, [minbase_tar.read_bytes(), diff_layer(minbase_tar, full_tar)])
        partial.rename(directory)
    return directory


@pytest.fixture(scope="session")
def plain_two_layer_layout(minbase_tar: Path, full_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``two_layer_layout`` with plain-tar layers, as a layout may hold them (read in place, not streamed)."""
    layers = [minbase_tar.read_bytes(), diff_layer(minbase_tar, full_tar)]
    return write_oci_layout(tmp_path_factory.mktemp("plain-layout"), layers, gzipped=False)


@pytest.fixture(scope="session")
def full_rootfs(full_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rootfs")
    subprocess.run(["tar", "-xf", str(full_tar), "-C", str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def make_oci_layout() -> Callable[[Path, list[bytes]], Path]:
    """``write_oci_layout`` for the tests of this folder (a test module cannot import a conftest)."""
    return write_oci_layout
