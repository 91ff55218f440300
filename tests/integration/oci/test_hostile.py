"""Broken and hostile layouts and archives: each is refused with a clear error, never a traceback."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from wharfinger.errors import DigestMismatchError, LayoutError, ManifestError, UnsafeArchiveError, WharfingerError
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import open_source, parse_source
from wharfinger.oci.sources.archive import TarFiles

SETTINGS = Settings()


def read_everything(text: str, settings: Settings = SETTINGS) -> None:
    source = open_source(parse_source(text), settings=settings)
    image = source.resolve()
    for blob in (image.config_descriptor, *image.layers):
        with source.open_blob(blob) as stream:
            while stream.read(1 << 16):
                pass


# ---------------------------------------------------------------- OCI layouts, damaged copies of umoci's


@pytest.fixture
def layout(images, tmp_path: Path) -> Path:
    copy = tmp_path / "layout"
    shutil.copytree(images.layout, copy, symlinks=True)
    return copy


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def first_layer(layout: Path, images) -> str:
    manifest = json.loads(blob_path(layout, images.tag_digest("v1", layout)).read_text())
    return str(manifest["layers"][0]["digest"])


def test_layer_altered_in_place(layout: Path, images) -> None:
    path = blob_path(layout, first_layer(layout, images))
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError, match="does not match its digest"):
        read_everything(f"oci:{layout}:v1")


def test_layer_truncated(layout: Path, images) -> None:
    path = blob_path(layout, first_layer(layout, images))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DigestMismatchError, match="descriptor says"):
        read_everything(f"oci:{layout}:v1")


def test_layer_missing(layout: Path, images) -> None:
    blob_path(layout, first_layer(layout, images)).unlink()
    with pytest.raises(LayoutError, match="missing") as info:
        read_everything(f"oci:{layout}:v1")
    assert "skopeo copy" in (info.value.hint or "")


def test_manifest_altered(layout: Path, images) -> None:
    path = blob_path(layout, images.tag_digest("v1", layout))
    path.write_bytes(path.read_bytes().replace(b'"schemaVersion":2', b'"schemaVersion": 2'))
    with pytest.raises(DigestMismatchError):
        read_everything(f"oci:{layout}:v1")


def test_blob_symlink_out_of_the_layout(layout: Path, images, tmp_path: Path) -> None:
    path = blob_path(layout, first_layer(layout, images))
    outside = tmp_path / "outside"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        read_everything(f"oci:{layout}:v1")


def test_missing_oci_layout_marker(layout: Path) -> None:
    (layout / "oci-layout").unlink()
    with pytest.raises(LayoutError, match="not an OCI image layout"):
        read_everything(f"oci:{layout}:v1")


def test_unsupported_layout_version(layout: Path) -> None:
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(LayoutError, match="unsupported OCI layout version"):
        read_everything(f"oci:{layout}:v1")


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"schemaVersion": 2, "manifests": {}}'])
def test_broken_index_json(layout: Path, content: bytes) -> None:
    (layout / "index.json").write_bytes(content)
    with pytest.raises(LayoutError, match=r"index\.json"):
        read_everything(f"oci:{layout}:v1")


def test_oversized_index_json(layout: Path) -> None:
    index = json.loads((layout / "index.json").read_text())
    index["annotations"] = {"pad": "x" * 2000}
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(LayoutError, match="larger than the 1000-byte limit"):
        read_everything(f"oci:{layout}:v1", Settings(max_manifest_bytes=1000))


def test_manifest_claiming_to_be_huge(layout: Path, images) -> None:
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        entry["size"] = 5 * 1024 * 1024
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ManifestError, match="larger than the 4194304-byte limit"):
        read_everything(f"oci:{layout}:v1")


def test_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(LayoutError, match="not a directory"):
        read_everything(f"oci:{tmp_path / 'file'}")


# ---------------------------------------------------------------- archives, crafted member by member


def add(tar: tarfile.TarFile, name: str, data: bytes = b"", **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def docker_archive(path: Path, *, layer_name: str = "layer.tar", extra: Callable[[tarfile.TarFile], None] | None = None,
                   manifest: bytes | None = None, layer: bytes | None = None) -> Path:  # fmt: skip
    layer_bytes = io.BytesIO()
    with tarfile.open(fileobj=layer_bytes, mode="w") as inner:
        add(inner, "etc/os-release", b"ID=debian\n")
    real_layer = layer_bytes.getvalue()
    diff_id = "sha256:" + hashlib.sha256(real_layer).hexdigest()
    config = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    config_name = hashlib.sha256(config.encode()).hexdigest() + ".json"
    doc = [{"Config": config_name, "RepoTags": ["example.com/x:1"], "Layers": [layer_name]}]
    with tarfile.open(path, "w") as tar:
        add(tar, "manifest.json", manifest if manifest is not None else json.dumps(doc).encode())
        add(tar, config_name, config.encode())
        if layer_name == "layer.tar":
            add(tar, "layer.tar", layer if layer is not None else real_layer)
        if extra is not None:
            extra(tar)
    return path


def test_crafted_archive_is_readable(tmp_path: Path) -> None:
    read_everything(f"docker-archive:{docker_archive(tmp_path / 'ok.tar')}")


HOSTILE: list[tuple[str, dict[str, object], type[WharfingerError], str]] = [
    ("traversal member", {"extra": lambda t: add(t, "../../evil", b"x")}, UnsafeArchiveError, "unsafe path"),
    ("absolute member", {"extra": lambda t: add(t, "/etc/cron.d/evil", b"x")}, UnsafeArchiveError, "unsafe path"),
    ("layer path climbs out", {"layer_name": "../../etc/passwd"}, UnsafeArchiveError, "unsafe path"),
    ("layer path absolute", {"layer_name": "/etc/passwd"}, UnsafeArchiveError, "unsafe path"),
    (
        "symlink to an absolute path",
        {"layer_name": "l.tar", "extra": lambda t: add(t, "l.tar", type=tarfile.SYMTYPE, linkname="/etc/passwd")},
        UnsafeArchiveError,
        "absolute path",
    ),
    (
        "symlink out of the archive",
        {"layer_name": "a/l.tar", "extra": lambda t: add(t, "a/l.tar", type=tarfile.SYMTYPE, linkname="../../x")},
        UnsafeArchiveError,
        "outside the archive",
    ),
    (
        "symlink loop",
        {
            "layer_name": "a.tar",
            "extra": lambda t: (
                add(t, "a.tar", type=tarfile.SYMTYPE, linkname="b.tar"),
                add(t, "b.tar", type=tarfile.SYMTYPE, linkname="a.tar"),
            ),
        },
        UnsafeArchiveError,
        "loop",
    ),
    (
        "device as layer",
        {"layer_name": "dev.tar", "extra": lambda t: add(t, "dev.tar", type=tarfile.CHRTYPE)},
        UnsafeArchiveError,
        "not a regular file",
    ),
    (
        "duplicate member",
        {"extra": lambda t: add(t, "manifest.json", b"[]")},
        UnsafeArchiveError,
        "twice",
    ),
    ("layer missing", {"layer_name": "nowhere.tar"}, LayoutError, "missing"),
    ("manifest.json not json", {"manifest": b"{"}, LayoutError, "not JSON"),
    ("manifest.json not a list", {"manifest": b"{}"}, LayoutError, "not a list"),
    ("manifest.json empty", {"manifest": b"[]"}, LayoutError, "no images"),
    ("manifest.json oversized", {"manifest": b"[" + b" " * (2 * 1024 * 1024) + b"]"}, LayoutError, "limit"),
    ("layer altered", {"layer": b"\x00" * 1024}, DigestMismatchError, "digest"),
]


@pytest.mark.parametrize(("options", "error", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_docker_archives(tmp_path: Path, options: dict, error: type[WharfingerError], message: str) -> None:
    path = docker_archive(tmp_path / "hostile.tar", **options)  # type: ignore[arg-type]
    with pytest.raises(error, match=message) as info:
        read_everything(f"docker-archive:{path}")
    assert info.value.hint


def test_config_that_does_not_match_its_name(tmp_path: Path) -> None:
    path = tmp_path / "bad-config.tar"
    config = b'{"os":"linux","architecture":"amd64","rootfs":{"diff_ids":[]}}'
    with tarfile.open(path, "w") as tar:
        add(tar, "manifest.json", json.dumps([{"Config": "a" * 64 + ".json", "Layers": []}]).encode())
        add(tar, "a" * 64 + ".json", config)
    with pytest.raises(DigestMismatchError, match="hashes to"):
        read_everything(f"docker-archive:{path}")


def test_layer_count_differs_from_diff_ids(tmp_path: Path) -> None:
    path = tmp_path / "count.tar"
    config = b'{"os":"linux","architecture":"amd64","rootfs":{"diff_ids":[]}}'
    with tarfile.open(path, "w") as tar:
        add(tar, "manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l.tar"]}]).encode())
        add(tar, "c.json", config)
        add(tar, "l.tar", b"x")
    with pytest.raises(LayoutError, match="1 layers but the config has 0"):
        read_everything(f"docker-archive:{path}")


def test_too_many_members(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "many.tar", extra=lambda t: [add(t, f"f{i}", b"") for i in range(20)])
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        read_everything(f"docker-archive:{path}", Settings(max_archive_entries=10))


def test_two_images_need_a_selector(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "two.tar")
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    doc = json.loads(members["manifest.json"])
    doc.append({**doc[0], "RepoTags": ["example.com/y:2"]})
    members["manifest.json"] = json.dumps(doc).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            add(tar, name, data)
    with pytest.raises(LayoutError, match="holds 2 images") as info:
        read_everything(f"docker-archive:{path}")
    assert "example.com/y:2" in (info.value.hint or "")
    read_everything(f"docker-archive:{path}:example.com/y:2")
    read_everything(f"docker-archive:{path}@1")


@pytest.mark.parametrize(
    ("content", "message"), [(None, "does not exist"), (b"not a tar at all" * 100, "not a readable tar")]
)
def test_not_an_archive(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.tar"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LayoutError, match=message):
        read_everything(f"docker-archive:{path}")
    with pytest.raises(LayoutError, match=message):
        read_everything(f"oci-archive:{path}")


def test_oci_archive_with_traversal(images, tmp_path: Path) -> None:
    path = tmp_path / "evil-oci.tar"
    shutil.copy(images.oci_archive, path)
    with tarfile.open(path, "a") as tar:
        add(tar, "blobs/../../../tmp/evil", b"x")
    with pytest.raises(UnsafeArchiveError, match="unsafe path"):
        read_everything(f"oci-archive:{path}")


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("./blobs/../../../tmp/evil", {}),
        ("./../evil", {}),
        ("/./evil", {}),
        ("./blobs/sha256/escape", {"type": tarfile.SYMTYPE, "linkname": "../../../../etc/passwd"}),
        ("./blobs/sha256/absolute", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
    ],
)
def test_dot_slash_does_not_excuse_an_escape(images, tmp_path: Path, name: str, fields: dict[str, object]) -> None:
    # "./" is normalised away (tar -C DIR -cf x.tar . writes it); what follows is checked as before
    path = tmp_path / "evil-dot.tar"
    shutil.copy(images.oci_archive, path)
    with tarfile.open(path, "a") as tar:
        add(tar, "./", type=tarfile.DIRTYPE)
        add(tar, name, b"x" if not fields else b"", **fields)
    with pytest.raises(UnsafeArchiveError):
        TarFiles(path, SETTINGS).open(name)


def test_archive_directory(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="is a directory"):
        read_everything(f"oci-archive:{tmp_path}")
    assert tmp_path.is_dir()
