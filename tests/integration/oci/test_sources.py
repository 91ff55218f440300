"""Images written by umoci and skopeo, read back through every local source."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wharfinger.errors import LayoutError, ManifestError, PlatformNotFoundError
from wharfinger.oci.platform import host_platform, parse_platform
from wharfinger.oci.reference import parse_ref
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import ImageSource, ResolvedImage, open_source, parse_source

SETTINGS = Settings()


def resolve(text: str, platform: str | None = None, settings: Settings = SETTINGS) -> tuple[ImageSource, ResolvedImage]:
    source = open_source(parse_source(text), settings=settings)
    return source, source.resolve(parse_platform(platform) if platform else None)


def layer_files(source: ImageSource, image: ResolvedImage) -> set[str]:
    names: set[str] = set()
    for layer in image.layers:
        with source.open_blob(layer) as blob:
            data = blob.read()  # read to EOF: verified
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as tar:
            names.update(m.name.lstrip("./") for m in tar if m.isfile())
    return names


def test_oci_layout_by_tag(images) -> None:
    source, image = resolve(f"oci:{images.layout}:v1")
    assert isinstance(source, ImageSource)
    assert image.digest == images.tag_digest("v1")
    assert image.top.digest == image.digest
    assert image.index is None
    assert len(image.layers) == 2
    assert image.config.entrypoint == ("/bin/sh",)
    assert image.config.cmd == ("-c", "echo hi")
    assert image.config.env == ("LANG=C.UTF-8", "PATH=/usr/bin")
    assert image.config.labels["org.opencontainers.image.title"] == "demo"
    assert image.config.user == "1000"
    assert image.config.created == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert str(image.config.platform) == "linux/amd64"
    assert {"etc/os-release", "app/hello.txt"} <= layer_files(source, image)


def test_oci_layout_by_digest(images) -> None:
    digest = images.tag_digest("v1-arm64")
    _, image = resolve(f"oci:{images.layout}@{digest}")
    assert image.digest == digest
    assert str(image.config.platform) == "linux/arm64"


@pytest.mark.parametrize(
    ("platform", "tag"),
    [("linux/arm64", "v1-arm64"), ("linux/aarch64", "v1-arm64"), ("linux/arm64/v8", "v1-arm64"), ("linux/amd64", "v1")],
)
def test_multi_platform_index(images, platform: str, tag: str) -> None:
    _, image = resolve(f"oci:{images.layout}:multi", platform)
    assert image.digest == images.tag_digest(tag)
    assert image.index is not None
    assert image.top.digest == images.tag_digest("multi")
    assert [str(p) for p in image.index.platforms()] == ["linux/amd64", "linux/arm64/v8"]


def test_index_defaults_to_this_host(images) -> None:
    _, image = resolve(f"oci:{images.layout}:multi")
    assert image.platform is not None
    assert image.platform.matches(host_platform())


def test_missing_platform_lists_the_available_ones(images) -> None:
    with pytest.raises(PlatformNotFoundError) as info:
        resolve(f"oci:{images.layout}:multi", "linux/s390x")
    assert "linux/amd64, linux/arm64/v8" in (info.value.hint or "")


def test_nested_index_and_depth_limit(images) -> None:
    _, image = resolve(f"oci:{images.layout}:nested", "linux/arm64")
    assert image.digest == images.tag_digest("v1-arm64")
    assert image.top.digest == images.tag_digest("nested")
    with pytest.raises(ManifestError, match="nested deeper"):
        resolve(f"oci:{images.layout}:nested", "linux/arm64", Settings(max_index_depth=1))


def test_layout_copied_by_skopeo_all(images) -> None:
    _, image = resolve(f"oci:{images.skopeo_layout}:multi", "linux/arm64")
    assert image.digest == images.tag_digest("v1-arm64")  # skopeo --all keeps digests
    _, image = resolve(f"oci:{images.skopeo_layout}", "linux/amd64")  # the only tag is the default
    assert image.digest == images.tag_digest("v1")


def test_oci_archive(images) -> None:
    source, image = resolve(f"oci-archive:{images.oci_archive}")
    assert image.digest == images.tag_digest("v1")
    assert "etc/os-release" in layer_files(source, image)
    _, image = resolve(f"oci-archive:{images.multi_archive}:multi", "linux/arm64/v8")
    assert image.digest == images.tag_digest("v1-arm64")


def test_oci_archive_written_by_tar_with_dot_slash_members(images, tmp_path: Path) -> None:
    # `tar -C DIR -cf x.tar .` stores "./", "./index.json", "./blobs/sha256/…": the common way to archive a layout
    layout = tmp_path / "layout"
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "-q", f"oci:{images.layout}:v1", f"oci:{layout}:v1"], check=True
    )
    archive = tmp_path / "dot.tar"
    subprocess.run(["tar", "-C", str(layout), "-cf", str(archive), "."], check=True)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "./index.json" in names
    assert all(name.startswith(".") for name in names)
    source, image = resolve(f"oci-archive:{archive}:v1")
    assert image.digest == images.tag_digest("v1")
    assert "etc/os-release" in layer_files(source, image)


def test_docker_archive(images) -> None:
    source, image = resolve(f"docker-archive:{images.docker_archive}")
    assert image.ref == parse_ref("example.com/demo:v1")
    assert image.manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert tuple(layer.digest for layer in image.layers) == image.config.diff_ids
    assert image.config.entrypoint == ("/bin/sh",)
    assert {"etc/os-release", "app/hello.txt"} <= layer_files(source, image)
    with source.open_blob(image.config_descriptor) as config:
        assert json.loads(config.read())["architecture"] == "amd64"


@pytest.mark.parametrize("selector", [":example.com/demo:arm", ":example.com/other:v2", "@0"])
def test_docker_archive_selectors(images, selector: str) -> None:
    _, image = resolve(f"docker-archive:{images.docker_archive_tags}{selector}")
    assert str(image.config.platform) == "linux/arm64"


def test_docker_archive_unknown_name(images) -> None:
    with pytest.raises(LayoutError, match="no image named") as info:
        resolve(f"docker-archive:{images.docker_archive_tags}:example.com/nope:v1")
    assert "example.com/demo:arm" in (info.value.hint or "")
    with pytest.raises(LayoutError, match="@0"):
        resolve(f"docker-archive:{images.docker_archive_tags}@3")


def test_docker_archive_platform_mismatch(images) -> None:
    with pytest.raises(PlatformNotFoundError, match="linux/amd64, not linux/arm64"):
        resolve(f"docker-archive:{images.docker_archive}", "linux/arm64")


def test_gzipped_docker_archive(images, tmp_path: Path) -> None:
    gz = tmp_path / "docker.tar.gz"
    with images.docker_archive.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    source, image = resolve(f"docker-archive:{gz}")
    assert "app/hello.txt" in layer_files(source, image)


def test_legacy_layer_symlinks_are_followed_inside_the_archive(images, tmp_path: Path) -> None:
    """docker save (<= 24) names layers <id>/layer.tar, often symlinks to a shared copy."""
    patched = tmp_path / "legacy.tar"
    with tarfile.open(images.docker_archive) as src, tarfile.open(patched, "w") as dst:
        links = {m.name: m for m in src.getmembers() if m.issym()}
        for member in src.getmembers():
            if member.name == "manifest.json":
                doc = json.loads(src.extractfile(member).read())  # type: ignore[union-attr]
                by_target = {Path(link.linkname).name: name for name, link in links.items()}
                doc[0]["Layers"] = [by_target[layer] for layer in doc[0]["Layers"]]
                data = json.dumps(doc).encode()
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
            else:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    assert links, "skopeo's docker-archive is expected to hold <id>/layer.tar symlinks"
    source, image = resolve(f"docker-archive:{patched}")
    assert "etc/os-release" in layer_files(source, image)


def test_layout_without_tag_and_many_images(images) -> None:
    with pytest.raises(LayoutError, match="say which one") as info:
        resolve(f"oci:{images.layout}")
    assert "v1-arm64" in (info.value.hint or "")
    with pytest.raises(LayoutError, match="no image tagged 'v9'"):
        resolve(f"oci:{images.layout}:v9")
    with pytest.raises(LayoutError, match="no manifest sha256:"):
        resolve(f"oci:{images.layout}@sha256:{'0' * 64}")


def test_referrers_in_a_layout(images) -> None:
    source, image = resolve(f"oci:{images.layout}:v1")
    referrers = source.referrers(image.digest)
    assert [r.artifact_type for r in referrers] == ["application/spdx+json"]
    assert referrers[0].annotations["org.opencontainers.image.created"] == "2024-05-06T07:08:09Z"
    assert source.referrers(image.digest, "application/vnd.cncf.notary.signature") == ()
    assert source.referrers(images.tag_digest("v1-arm64")) == ()


def test_an_artifact_is_not_an_image(images) -> None:
    source, image = resolve(f"oci:{images.layout}:v1")
    referrer = source.referrers(image.digest)[0]
    with pytest.raises(ManifestError, match="artifact"):
        resolve(f"oci:{images.layout}@{referrer.digest}")


def _docker25_archive(images, path: Path) -> Path:
    """What docker save writes since 25.0: an OCI layout plus the legacy manifest.json beside it."""
    layout = images.skopeo_layout
    index = json.loads((layout / "index.json").read_text())
    multi = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    amd64 = next(m for m in multi["manifests"] if m["platform"]["architecture"] == "amd64")
    manifest = json.loads((layout / "blobs" / "sha256" / amd64["digest"].split(":")[1]).read_bytes())
    docker_index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                **{k: amd64[k] for k in ("mediaType", "digest", "size")},
                "annotations": {
                    "io.containerd.image.name": "docker.io/library/demo:v1",
                    "org.opencontainers.image.ref.name": "v1",
                },
            }
        ],
    }
    legacy = [
        {
            "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
            "RepoTags": ["demo:v1"],
            "Layers": ["blobs/sha256/" + layer["digest"].split(":")[1] for layer in manifest["layers"]],
        }
    ]
    with tarfile.open(path, "w") as tar:
        for blob in sorted((layout / "blobs" / "sha256").iterdir()):
            tar.add(blob, f"blobs/sha256/{blob.name}")
        for name, doc in (("index.json", docker_index), ("manifest.json", legacy)):
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(layout / "oci-layout", "oci-layout")
    return path


@pytest.mark.parametrize("selector", ["", ":demo:v1", ":docker.io/library/demo:v1", "@0"])
def test_docker_save_25_oci_form_keeps_real_digests(images, tmp_path: Path, selector: str) -> None:
    path = _docker25_archive(images, tmp_path / "docker25.tar")
    source, image = resolve(f"docker-archive:{path}{selector}")
    assert image.digest == images.tag_digest("v1")  # the real manifest, not a synthesised one
    assert image.ref == parse_ref("demo:v1")
    assert {"etc/os-release", "app/hello.txt"} <= layer_files(source, image)


def _put(layout: Path, doc: dict) -> dict:
    data = json.dumps(doc).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": doc["mediaType"], "digest": f"sha256:{digest}", "size": len(data)}


def test_referrers_by_tag_schema_and_cosign_tags(images, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(images.layout, layout)
    subject = images.tag_digest("v1")
    tag = subject.replace(":", "-")
    signature = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "5" * 64,
        "size": 700,
        "artifactType": "application/vnd.cncf.notary.signature",
    }
    fallback = _put(
        layout, {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [signature]}
    )
    config = json.loads((layout / "blobs" / "sha256" / subject.split(":")[1]).read_text())["config"]
    cosign = _put(
        layout,
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [
                {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": "sha256:" + "6" * 64,
                 "size": 250, "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ…"}}
            ],
        },
    )  # fmt: skip
    index = json.loads((layout / "index.json").read_text())
    index["manifests"] += [
        {**fallback, "annotations": {"org.opencontainers.image.ref.name": tag}},
        {**cosign, "annotations": {"org.opencontainers.image.ref.name": f"{tag}.sig"}},
    ]
    (layout / "index.json").write_text(json.dumps(index))
    source, image = resolve(f"oci:{layout}:v1")
    kinds = sorted(r.artifact_type or "" for r in source.referrers(image.digest))
    assert kinds == [
        "application/spdx+json",
        "application/vnd.cncf.notary.signature",
        "application/vnd.dev.cosign.simplesigning.v1+json",
    ]
    only = source.referrers(image.digest, "application/vnd.cncf.notary.signature")
    assert [r.digest for r in only] == [signature["digest"]]


def test_index_without_this_host_and_several_others(images, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(images.layout, layout)
    multi = images.tag_digest("multi")
    doc = json.loads((layout / "blobs" / "sha256" / multi.split(":")[1]).read_text())
    for entry, arch in zip(doc["manifests"], ("s390x", "ppc64le"), strict=True):
        entry["platform"] = {"os": "linux", "architecture": arch}
    other = _put(layout, doc)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"].append({**other, "annotations": {"org.opencontainers.image.ref.name": "others"}})
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(PlatformNotFoundError, match="no image for this machine") as info:
        resolve(f"oci:{layout}:others")
    assert "linux/s390x, linux/ppc64le" in (info.value.hint or "")
    _, image = resolve(f"oci:{layout}:others", "linux/ppc64le")
    assert image.digest == images.tag_digest("v1-arm64")
