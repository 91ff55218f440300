"""Real small images built from real Debian packages, cached by recipe.

A recipe names Debian packages per layer and an architecture. Building it:

1. ``apt-get download`` the ``.deb`` files with a private apt state (``APT::Architecture`` set to
   the recipe's arch, so arm64 works on an amd64 host without ``dpkg --add-architecture``);
2. each layer is the union of its packages' data trees (``dpkg-deb --fsys-tarfile``) plus a
   cumulative ``var/lib/dpkg/status`` (control fields from ``dpkg-deb -f``, ``Status: install ok
   installed``) and ``var/lib/dpkg/info/<pkg>.list`` - what dpkg itself would leave behind;
3. layers are gzip'd (mtime 0, so digests are stable), a config and an OCI manifest are written into
   an OCI image layout (``oci-layout``, ``index.json`` with tag ``latest``, ``blobs/sha256``).

A multi-platform image is an OCI index over two such images. Results live in
``~/.cache/wharfinger-tests/images/<name>-<recipe hash>/`` (``$WHARFINGER_TEST_CACHE`` overrides),
built in a temporary folder and renamed into place, under a lock so parallel workers build once.
``skopeo_copy`` pushes a layout to a ``RunningRegistry``.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from testkit.registry import RunningRegistry

__all__ = [
    "BIG_RECIPE",
    "MULTI_RECIPES",
    "SMALL_RECIPE",
    "BuiltImage",
    "ImageRecipe",
    "build_image",
    "build_index",
    "cache_root",
    "skopeo_copy",
]

_BUILDER_VERSION = "1"  # bump when the build output changes for the same recipe

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True, slots=True)
class ImageRecipe:
    name: str
    layers: tuple[tuple[str, ...], ...]  # Debian package names, one tuple per layer
    arch: str = "amd64"
    compresslevel: int = 6

    def key(self) -> str:
        text = json.dumps([_BUILDER_VERSION, self.name, self.layers, self.arch, self.compresslevel])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class BuiltImage:
    name: str
    layout: Path  # OCI image layout, tag "latest"
    digest: str  # of the manifest (or index) that "latest" points to
    media_type: str
    size: int  # bytes of all blobs: manifest(s), configs, layers
    packages: tuple[str, ...]  # every package in the image(s)

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.layout}:latest"


SMALL_RECIPE = ImageRecipe(name="deb-small", layers=(("base-files", "zlib1g"), ("libssl3", "openssl")))
MULTI_RECIPES = (
    ImageRecipe(name="deb-multi-amd64", layers=(("base-files",), ("zlib1g",)), arch="amd64"),
    ImageRecipe(name="deb-multi-arm64", layers=(("base-files",), ("zlib1g",)), arch="arm64"),
)
# The pull benchmark's image: >= 100 MB compressed, several big real packages as separate layers.
BIG_RECIPE = ImageRecipe(
    name="deb-big",
    layers=(("base-files", "libicu72"), ("libllvm14",), ("libllvm15",), ("gcc-12", "cpp-12"), ("libclang-cpp14",)),
    compresslevel=1,
)


def cache_root() -> Path:
    default = Path.home() / ".cache" / "wharfinger-tests"
    return Path(os.environ.get("WHARFINGER_TEST_CACHE", default))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _apt_options(arch: str) -> list[str]:
    state = cache_root() / "apt" / arch
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    return [
        "-q",
        "-o", f"Dir::State::Lists={state / 'lists'}",
        "-o", f"Dir::Cache={state / 'cache'}",
        "-o", "Dir::State::status=/dev/null",
        "-o", f"APT::Architecture={arch}",
        "-o", f"APT::Architectures::={arch}",
        "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip


def _download_debs(arch: str, packages: Sequence[str]) -> dict[str, Path]:
    """Package name -> .deb file, downloaded once per arch into the cache."""
    debs = cache_root() / "debs" / arch
    debs.mkdir(parents=True, exist_ok=True)
    with _locked(cache_root() / "apt" / f"{arch}.lock"):
        found = {p.name.split("_", 1)[0]: p for p in debs.glob("*.deb")}
        missing = [name for name in packages if name not in found]
        if missing:
            options = _apt_options(arch)
            lists = cache_root() / "apt" / arch / "lists"
            if not any(lists.glob("*Packages*")):
                _run(["apt-get", *options, "update"], cwd=debs)
            _run(["apt-get", *options, "download", *[f"{name}:{arch}" for name in missing]], cwd=debs)
            found = {p.name.split("_", 1)[0]: p for p in debs.glob("*.deb")}
    return {name: found[name] for name in packages}


def _run(args: Sequence[str], cwd: Path | None = None) -> bytes:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args[:3])}... failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what passes through on its way to ``target``."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


def _control(deb: Path) -> str:
    return _run(["dpkg-deb", "-f", str(deb)]).decode()


def _status_paragraph(control: str) -> str:
    lines = control.rstrip("\n").splitlines()
    out = [lines[0], "Status: install ok installed", *lines[1:]]
    return "\n".join(out) + "\n"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _write_blob(blobs: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def _build_layer(
    blobs: Path, debs: dict[str, Path], layer: Sequence[str], status: list[str], compresslevel: int
) -> tuple[dict[str, object], str]:
    """Write one gzip'd layer blob; return its descriptor and diff_id."""
    tmp = blobs / "layer.tmp"
    with tmp.open("wb") as raw:
        compressed = _HashingWriter(raw)  # type: ignore[arg-type]
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=compresslevel) as gz:  # type: ignore[arg-type]
            uncompressed = _HashingWriter(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[arg-type]
                lists: dict[str, list[str]] = {}
                for name in layer:
                    deb = debs[name]
                    control = _control(deb)
                    status.append(_status_paragraph(control))
                    multi_same = "\nMulti-Arch: same" in "\n" + control
                    arch = next(
                        line.split(":", 1)[1].strip()
                        for line in control.splitlines()
                        if line.startswith("Architecture:")
                    )
                    list_name = f"{name}:{arch}" if multi_same else name
                    paths: list[str] = []
                    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as proc:
                        assert proc.stdout is not None
                        with tarfile.open(fileobj=proc.stdout, mode="r|") as source:
                            for member in source:
                                fileobj = source.extractfile(member) if member.isfile() else None
                                tar.addfile(member, fileobj)
                                path = "/" + member.name.removeprefix("./").rstrip("/")
                                paths.append("/." if path == "/" else path)
                    if proc.returncode != 0:
                        pytest.fail(f"dpkg-deb --fsys-tarfile {deb} failed")
                    lists[list_name] = paths
                _add_dir(tar, "var/lib/dpkg/")
                _add_dir(tar, "var/lib/dpkg/info/")
                _add_bytes(tar, "var/lib/dpkg/status", "\n".join(status).encode())
                for list_name, paths in lists.items():
                    _add_bytes(tar, f"var/lib/dpkg/info/{list_name}.list", ("\n".join(paths) + "\n").encode())
    digest = f"sha256:{compressed.sha256.hexdigest()}"
    tmp.rename(blobs / compressed.sha256.hexdigest())
    descriptor: dict[str, object] = {"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": compressed.size}
    return descriptor, f"sha256:{uncompressed.sha256.hexdigest()}"


def _write_layout(directory: Path, digest: str, size: int, media_type: str, extra: dict[str, object]) -> None:
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    descriptor: dict[str, object] = {
        "mediaType": media_type,
        "digest": digest,
        "size": size,
        "annotations": {"org.opencontainers.image.ref.name": "latest"},
        **extra,
    }
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}
    (directory / "index.json").write_text(json.dumps(index))


def _build_into(directory: Path, recipe: ImageRecipe) -> tuple[str, int, int]:
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    debs = _download_debs(recipe.arch, [name for layer in recipe.layers for name in layer])
    status: list[str] = []
    layers: list[dict[str, object]] = []
    diff_ids: list[str] = []
    history: list[dict[str, object]] = []
    for layer in recipe.layers:
        descriptor, diff_id = _build_layer(blobs, debs, layer, status, recipe.compresslevel)
        layers.append(descriptor)
        diff_ids.append(diff_id)
        history.append({"created": "2025-05-20T00:00:00Z", "created_by": f"dpkg --unpack {' '.join(layer)}"})
    config = {
        "architecture": recipe.arch,
        "os": "linux",
        "created": "2025-05-20T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_digest, config_size = _write_blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
        "annotations": {"org.opencontainers.image.title": recipe.name},
    }
    digest, size = _write_blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    total = size + config_size + sum(int(str(layer["size"])) for layer in layers)
    return digest, size, total


def _load(target: Path, name: str, packages: tuple[str, ...]) -> BuiltImage:
    meta = json.loads((target / "wharfinger-test-image.json").read_text())
    return BuiltImage(
        name=name,
        layout=target,
        digest=meta["digest"],
        media_type=meta["media_type"],
        size=meta["size"],
        packages=packages,
    )


@contextmanager
def _build_dir(name: str, key: str) -> Iterator[tuple[Path, Path | None]]:
    """Yield (target, scratch): scratch is None when the cached build already exists."""
    target = cache_root() / "images" / f"{name}-{key}"
    with _locked(cache_root() / "images" / f"{name}.lock"):
        if (target / "wharfinger-test-image.json").exists():
            yield target, None
            return
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        try:
            yield target, scratch
            if target.exists():
                shutil.rmtree(target)
            scratch.rename(target)
        finally:
            if scratch.exists():
                shutil.rmtree(scratch)


def build_image(recipe: ImageRecipe) -> BuiltImage:
    packages = tuple(name for layer in recipe.layers for name in layer)
    with _build_dir(recipe.name, recipe.key()) as (target, scratch):
        if scratch is not None:
            digest, size, total = _build_into(scratch, recipe)
            extra: dict[str, object] = {"platform": {"os": "linux", "architecture": recipe.arch}}
            _write_layout(scratch, digest, size, OCI_MANIFEST, extra)
            meta = {"digest": digest, "media_type": OCI_MANIFEST, "size": total}
            (scratch / "wharfinger-test-image.json").write_text(json.dumps(meta))
    return _load(target, recipe.name, packages)


def build_index(name: str, recipes: Sequence[ImageRecipe]) -> BuiltImage:
    """An OCI image index over one image per recipe (one per platform), in one layout."""
    key = hashlib.sha256("".join(r.key() for r in recipes).encode()).hexdigest()[:16]
    packages = tuple(sorted({n for r in recipes for layer in r.layers for n in layer}))
    with _build_dir(name, key) as (target, scratch):
        if scratch is not None:
            entries: list[dict[str, object]] = []
            total = 0
            for recipe in recipes:
                digest, size, image_total = _build_into(scratch, recipe)
                total += image_total
                entries.append(
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": digest,
                        "size": size,
                        "platform": {"os": "linux", "architecture": recipe.arch}
                        | ({"variant": "v8"} if recipe.arch == "arm64" else {}),
                    }
                )
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
            digest, size = _write_blob(scratch / "blobs" / "sha256", json.dumps(index, sort_keys=True).encode())
            total += size
            _write_layout(scratch, digest, size, OCI_INDEX, {})
            meta = {"digest": digest, "media_type": OCI_INDEX, "size": total}
            (scratch / "wharfinger-test-image.json").write_text(json.dumps(meta))
    return _load(target, name, packages)


def skopeo_copy(image: BuiltImage, registry: RunningRegistry, repository: str, tag: str = "latest") -> str:
    """Push ``image`` with ``skopeo copy --all``; return the reference pushed to."""
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is missing: run scripts/install-test-deps (apt-get install skopeo)")
    ref = registry.ref(repository, tag)
    _run(
        [
            "skopeo",
            "copy",
            "--all",
            "--preserve-digests",
            *registry.skopeo_flags("dest"),
            image.oci_ref,
            f"docker://{ref}",
        ]
    )
    return ref


# --- pytest fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def small_image() -> BuiltImage:
    """Two layers: base-files + zlib1g, then libssl3 + openssl (amd64), with a dpkg status."""
    return build_image(SMALL_RECIPE)


@pytest.fixture(scope="session")
def multi_platform_image() -> BuiltImage:
    """An OCI index: linux/amd64 and linux/arm64/v8, each base-files then zlib1g."""
    return build_index("deb-multi", MULTI_RECIPES)
