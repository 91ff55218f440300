"""``wharfinger sbom`` end to end: every local source, every output, and clear errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

FIXTURES = "fixtures/inventory"


def _tar(files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return out.getvalue()


def _layout(directory: Path, layers: list[bytes]) -> Path:
    blobs = directory / "blobs/sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layer_descriptors = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(gzip.compress(t, mtime=0))} for t in layers
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(json.dumps(config).encode())},
        "layers": layer_descriptors,
    }
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(json.dumps(manifest).encode()),
        "annotations": {"org.opencontainers.image.ref.name": "1.0"},
    }
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return directory


@pytest.fixture
def alpine_layout(shared_dir: Path, tmp_path: Path) -> Path:
    installed = (shared_dir / FIXTURES / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk").read_bytes()
    base = _tar({"etc/os-release": b"ID=alpine\nVERSION_ID=3.4.6\n", "lib/apk/db/installed": installed})
    return _layout(tmp_path / "layout", [base, _tar({"app/readme.txt": b"hello"})])


def _env(tmp_path: Path) -> dict[str, str]:
    return {"WHARFINGER_CACHE_DIR": str(tmp_path / "cache")}


def test_oci_layout_json_and_table(run_cli, alpine_layout: Path, tmp_path: Path) -> None:
    out = tmp_path / "sbom.json"
    done = run_cli("sbom", f"oci:{alpine_layout}:1.0", "-o", f"json={out}", "-o", "table", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    names = {p["name"] for p in document["packages"]}
    assert {"musl", "busybox"} <= names
    assert document["distro"]["id"] == "alpine"
    assert document["subject"]["digest"].startswith("sha256:")
    assert len(document["layers"]) == 2
    assert all(p["layerDigest"] == document["layers"][0] for p in document["packages"])
    assert "musl" in done.stdout
    assert "1.1.14-r10" in done.stdout
    # warm: the same answer from the cache
    again = run_cli("sbom", f"oci:{alpine_layout}:1.0", "-o", "json", env=_env(tmp_path))
    assert json.loads(again.stdout)["packages"] == document["packages"]


def test_docker_and_oci_archives(run_cli, alpine_layout: Path, tmp_path: Path) -> None:
    docker_archive = tmp_path / "image.docker.tar"
    subprocess.run(
        ["skopeo", "copy", "--quiet", f"oci:{alpine_layout}:1.0", f"docker-archive:{docker_archive}:x/alpine:1.0"],
        check=True,
        capture_output=True,
    )
    oci_archive = tmp_path / "image.oci.tar"
    with tarfile.open(oci_archive, "w") as tar:
        for path in sorted(alpine_layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(alpine_layout)), recursive=False)
    results = {}
    for source in (f"docker-archive:{docker_archive}", f"oci-archive:{oci_archive}:1.0", f"oci:{alpine_layout}:1.0"):
        done = run_cli("sbom", source, "-o", "cyclonedx-json", env=_env(tmp_path))
        assert done.returncode == 0, done.stderr
        components = json.loads(done.stdout)["components"]
        results[source] = sorted(c["purl"] for c in components if "purl" in c)
    assert len({tuple(v) for v in results.values()}) == 1
    assert any(p.startswith("pkg:apk/alpine/musl@1.1.14-r10") for p in next(iter(results.values())))


def test_dir_and_sbom_sources(run_cli, shared_dir: Path, tmp_path: Path) -> None:
    root = shared_dir / FIXTURES / "syft/syft/pkg/cataloger/debian/testdata/image-dpkg"
    out = tmp_path / "out.spdx.json"
    done = run_cli("sbom", f"dir:{root}", "-o", f"spdx-json={out}", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    back = run_cli("sbom", f"sbom:{out}", "-o", "table", env=_env(tmp_path))
    assert back.returncode == 0, back.stderr
    assert back.stdout.split("\n")[1].split()[:3] == ["libpam-runtime", "1.1.8-3.6", "deb"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dir:/no/such/dir"], "is not a directory"),
        (["sbom:/no/such.json"], "cannot read"),
        (["dir:.", "-o", "xml"], "unknown output format"),
        (["dir:.", "--attach"], "--attach pushes the SBOM to a registry"),
    ],
    ids=["missing-dir", "missing-sbom", "bad-format", "attach"],
)
def test_input_errors_exit_3_with_a_hint(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli("sbom", *args, env=_env(tmp_path))
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_hostile_layer_is_refused_with_exit_3(run_cli, tmp_path: Path) -> None:
    bomb = _tar({"zeros": b"\0" * (80 * 1024 * 1024)})
    layout = _layout(tmp_path / "bomb", [bomb])
    done = run_cli("sbom", f"oci:{layout}:1.0", env=_env(tmp_path))
    assert done.returncode == 3, done.stderr
    assert "decompression bomb" in done.stderr
    assert "Traceback" not in done.stderr


def test_traversal_entries_warn_but_inventory_continues(run_cli, shared_dir: Path, tmp_path: Path) -> None:
    installed = (shared_dir / FIXTURES / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk").read_bytes()
    evil = tarfile.TarInfo("../../etc/cron.d/evil")
    layer = _tar({"lib/apk/db/installed": installed}, extra=[evil])
    layout = _layout(tmp_path / "evil", [layer])
    done = run_cli("sbom", f"oci:{layout}:1.0", "-o", "json", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "path traversal" in done.stderr
    document = json.loads(done.stdout)
    assert any("path traversal" in w for w in document["warnings"])
    assert {p["name"] for p in document["packages"]} >= {"musl"}
    assert shutil.which("skopeo")


REQUIREMENTS = b"requests==2.31.0\n"
LOCKED = "pkg:pypi/requests@2.31.0"


def _purls(path: Path) -> set[str]:
    return {c["purl"] for c in json.loads(path.read_text()).get("components", []) if "purl" in c}


@pytest.fixture
def locked_root(shared_dir: Path, tmp_path: Path) -> dict[str, bytes]:
    """An Alpine root whose application left its requirements.txt behind."""
    installed = (shared_dir / FIXTURES / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk").read_bytes()
    return {
        "etc/os-release": b"ID=alpine\nVERSION_ID=3.4.6\n",
        "lib/apk/db/installed": installed,
        "app/requirements.txt": REQUIREMENTS,
    }


@pytest.mark.parametrize(
    ("option", "lock_reported", "os_reported"),
    [([], False, True), (["--catalogers", "all"], True, True), (["--catalogers", "DECLARED"], True, False)],
    ids=["default", "all", "declared"],
)
def test_images_skip_lock_files_unless_asked(
    run_cli,
    locked_root: dict[str, bytes],
    tmp_path: Path,
    option: list[str],
    *,
    lock_reported: bool,
    os_reported: bool,
) -> None:
    """syft's image selection and trivy's image mode report installed packages only."""
    layout = _layout(tmp_path / "layout", [_tar(locked_root)])
    out = tmp_path / "sbom.cdx.json"
    done = run_cli("sbom", f"oci:{layout}:1.0", *option, "-o", f"cyclonedx-json={out}", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    purls = _purls(out)
    assert (LOCKED in purls) is lock_reported
    assert any(p.startswith("pkg:apk/alpine/musl@") for p in purls) is os_reported


@pytest.mark.parametrize(
    ("option", "lock_reported"), [([], True), (["--catalogers", "installed"], False)], ids=["default", "installed"]
)
def test_directories_read_lock_files_unless_asked(
    run_cli, locked_root: dict[str, bytes], tmp_path: Path, option: list[str], *, lock_reported: bool
) -> None:
    """``dir:`` is syft's directory selection and ``trivy fs``: lock files count."""
    root = tmp_path / "root"
    for name, data in locked_root.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    out = tmp_path / "sbom.cdx.json"
    done = run_cli("sbom", f"dir:{root}", *option, "-o", f"cyclonedx-json={out}", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (LOCKED in _purls(out)) is lock_reported


def test_an_unknown_cataloger_selection_is_refused(run_cli, tmp_path: Path) -> None:
    done = run_cli("sbom", "dir:.", "--catalogers", "lockfiles", env=_env(tmp_path))
    assert done.returncode == 3, done.stderr
    assert "--catalogers 'lockfiles' is not a selection" in done.stderr
    assert "installed, declared, all" in done.stderr
