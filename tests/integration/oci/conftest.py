"""Images made by real tools (umoci, skopeo), built once per recipe and cached.

The cache lives in ``~/.cache/wharfinger-tests/oci-images-<recipe hash>/``; change the recipe
and a new folder is built. Tests copy what they will damage and never edit the cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("WHARFINGER_TEST_CACHE", Path.home() / ".cache" / "wharfinger-tests"))
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Images:
    root: Path

    @property
    def layout(self) -> Path:  # umoci's layout: tags v1 (amd64, 2 layers), v1-arm64, multi (index), nested
        return self.root / "layout"

    @property
    def skopeo_layout(self) -> Path:  # `skopeo copy --all` of the multi-platform index
        return self.root / "copied"

    @property
    def docker_archive(self) -> Path:  # skopeo's docker-archive of v1, named example.com/demo:v1
        return self.root / "docker.tar"

    @property
    def docker_archive_tags(self) -> Path:  # v1-arm64 saved under two names
        return self.root / "docker-two-names.tar"

    @property
    def oci_archive(self) -> Path:
        return self.root / "oci.tar"

    @property
    def multi_archive(self) -> Path:  # oci-archive of the multi-platform index, via skopeo --all
        return self.root / "multi.tar"

    def tag_digest(self, tag: str, layout: Path | None = None) -> str:
        index = json.loads(((layout or self.layout) / "index.json").read_text())
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return str(entry["digest"])
        raise KeyError(tag)


def _add_index_entry(layout: Path, doc: dict[str, object], media_type: str, tag: str | None) -> dict[str, object]:
    data = json.dumps(doc).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    entry: dict[str, object] = {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}
    index = json.loads((layout / "index.json").read_text())
    index["manifests"].append({**entry, **({"annotations": {"org.opencontainers.image.ref.name": tag}} if tag else {})})
    (layout / "index.json").write_text(json.dumps(index))
    return entry


def _build(root: Path) -> None:
    work = root / "work"
    work.mkdir(parents=True)
    layout = root / "layout"
    run("umoci", "init", "--layout", str(layout), cwd=work)
    run("umoci", "new", "--image", f"{layout}:v1", cwd=work)
    bundle = work / "bundle"
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(bundle), cwd=work)
    (bundle / "rootfs" / "etc").mkdir()
    (bundle / "rootfs" / "etc" / "os-release").write_text(OS_RELEASE)
    run("umoci", "repack", "--image", f"{layout}:v1", str(bundle), cwd=work)  # layer 1
    bundle2 = work / "bundle2"
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:v1", str(bundle2), cwd=work)
    (bundle2 / "rootfs" / "app").mkdir()
    (bundle2 / "rootfs" / "app" / "hello.txt").write_text("hello from a second layer\n")
    run("umoci", "repack", "--image", f"{layout}:v1", str(bundle2), cwd=work)  # layer 2: only the diff
    run(
        "umoci", "config", "--image", f"{layout}:v1",
        "--config.entrypoint", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo hi",
        "--config.env", "LANG=C.UTF-8", "--config.env", "PATH=/usr/bin",
        "--config.label", "org.opencontainers.image.title=demo", "--config.user", "1000",
        "--created", "2024-05-06T07:08:09Z",
        cwd=work,
    )  # fmt: skip
    run("umoci", "config", "--image", f"{layout}:v1", "--architecture", "arm64", "--tag", "v1-arm64", cwd=work)
    run("umoci", "gc", "--layout", str(layout), cwd=work)

    index = json.loads((layout / "index.json").read_text())
    by_tag = {e["annotations"]["org.opencontainers.image.ref.name"]: e for e in index["manifests"]}
    amd64 = {k: by_tag["v1"][k] for k in ("mediaType", "digest", "size")}
    arm64 = {k: by_tag["v1-arm64"][k] for k in ("mediaType", "digest", "size")}
    multi = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {**amd64, "platform": {"os": "linux", "architecture": "amd64"}},
            {**arm64, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    }
    multi_entry = _add_index_entry(layout, multi, "application/vnd.oci.image.index.v1+json", "multi")
    nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [multi_entry]}
    _add_index_entry(layout, nested, "application/vnd.oci.image.index.v1+json", "nested")
    # a referrer, stored in the layout as oras and notation do: untagged, with a subject
    empty = b"{}"
    (layout / "blobs" / "sha256" / hashlib.sha256(empty).hexdigest()).write_bytes(empty)
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "demo"}).encode()
    (layout / "blobs" / "sha256" / hashlib.sha256(sbom).hexdigest()).write_bytes(sbom)
    referrer = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:" + hashlib.sha256(empty).hexdigest(),
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/spdx+json",
                "digest": "sha256:" + hashlib.sha256(sbom).hexdigest(),
                "size": len(sbom),
            }
        ],
        "subject": amd64,
        "annotations": {"org.opencontainers.image.created": "2024-05-06T07:08:09Z"},
    }
    _add_index_entry(layout, referrer, "application/vnd.oci.image.manifest.v1+json", None)

    skopeo = ("skopeo", "--insecure-policy", "copy", "-q")
    run(*skopeo, f"oci:{layout}:v1", f"docker-archive:{root / 'docker.tar'}:example.com/demo:v1", cwd=work)
    run(*skopeo, f"oci:{layout}:v1", f"oci-archive:{root / 'oci.tar'}:v1", cwd=work)
    run(*skopeo, "--all", f"oci:{layout}:multi", f"oci:{root / 'copied'}:multi", cwd=work)
    run(*skopeo, "--all", f"oci:{layout}:multi", f"oci-archive:{root / 'multi.tar'}:multi", cwd=work)
    run(
        *skopeo, "--additional-tag", "example.com/other:v2",
        f"oci:{layout}:v1-arm64", f"docker-archive:{root / 'docker-two-names.tar'}:example.com/demo:arm", cwd=work,
    )  # fmt: skip
    shutil.rmtree(work)


@pytest.fixture(scope="session")
def images() -> Images:
    for tool in ("umoci", "skopeo"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; run scripts/install-test-deps")
    recipe = hashlib.sha256(inspect.getsource(_build).encode() + OS_RELEASE.encode()).hexdigest()[:16]
    root = CACHE / f"oci-images-{recipe}"
    if not (root / "done").exists():
        staging = CACHE / f".build-{recipe}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        _build(staging)
        (staging / "done").touch()
        try:
            staging.rename(root)  # atomic publish; a parallel worker may have won the race
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return Images(root)
