"""`wharfinger inspect`, `cache` and `demo`, run as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from wharfinger.oci.cache import BlobCache
from wharfinger.oci.digest import sha256_digest


def test_inspect_layout_json(run_cli, images) -> None:
    done = run_cli("inspect", f"oci:{images.layout}:v1", "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["top"]["digest"] == images.tag_digest("v1")
    assert report["manifest"]["digest"] == images.tag_digest("v1")
    assert report["platforms"] == []
    assert report["config"]["entrypoint"] == ["/bin/sh"]
    assert report["config"]["env_count"] == 2
    assert report["config"]["created"] == "2024-05-06T07:08:09+00:00"
    assert len(report["layers"]) == 2
    assert report["layers_total_bytes"] == sum(layer["size"] for layer in report["layers"])
    assert [(r["artifactType"], r["subject"]) for r in report["referrers"]] == [
        ("application/spdx+json", images.tag_digest("v1"))
    ]


def test_inspect_table_groups_referrers_by_artifact_type(run_cli, images) -> None:
    done = run_cli("inspect", f"oci:{images.layout}:v1")
    assert done.returncode == 0, done.stderr
    referrers = done.stdout.split("Referrers (1)", 1)[1]
    assert "  application/spdx+json (1)" in referrers
    assert f"on {images.tag_digest('v1')[:19]}…" in referrers


def test_inspect_index_with_platform(run_cli, images) -> None:
    done = run_cli("inspect", f"oci-archive:{images.multi_archive}:multi", "--platform", "linux/arm64", "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["platforms"] == ["linux/amd64", "linux/arm64/v8"]
    assert [(m["platform"], m["digest"]) for m in report["platform_manifests"]] == [
        ("linux/amd64", images.tag_digest("v1")),
        ("linux/arm64/v8", images.tag_digest("v1-arm64")),
    ]
    assert report["platform"] == "linux/arm64/v8"
    assert report["manifest"]["digest"] == images.tag_digest("v1-arm64")
    assert report["top"]["digest"] == images.tag_digest("multi")


def test_inspect_docker_archive_table(run_cli, images, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = run_cli("inspect", f"docker-archive:{images.docker_archive}", "-o", "table", "-o", f"json={out}")
    assert done.returncode == 0, done.stderr
    assert "Reference  example.com/demo:v1" in done.stdout
    assert "Layers (2," in done.stdout
    assert "application/vnd.docker.image.rootfs.diff.tar" in done.stdout
    assert json.loads(out.read_text())["reference"] == "example.com/demo:v1"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["inspect", "Alpine:Latest"], 3, "must be lowercase"),
        (["inspect", "oci:/nonexistent/layout"], 3, "not a directory"),
        (["inspect", "docker-archive:/nonexistent.tar"], 3, "does not exist"),
        (["inspect", "sbom:/x.json"], 3, "not an image"),
        (["inspect", "oci:/tmp", "--platform", "linux"], 3, "invalid platform"),
        (["inspect", "oci:/tmp", "-o", "yaml"], 3, "unknown output format"),
        (["cache", "prune", "--max-size", "lots"], 3, "invalid --max-size"),
        (["inspect", "oci:/tmp/" + "a" * 300], 3, "File name too long"),
        (["inspect", "docker-archive:/tmp/" + "a" * 300], 3, "File name too long"),
    ],
)
def test_bad_input_is_one_clear_line(run_cli, args: list[str], code: int, message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == code
    assert message in done.stderr
    assert "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_tampered_config_fails_verification(run_cli, images, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(images.layout, layout)
    manifest = json.loads((layout / "blobs" / "sha256" / images.tag_digest("v1").split(":")[1]).read_text())
    config = layout / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]
    config.write_bytes(config.read_bytes().replace(b"amd64", b"arm64"))
    done = run_cli("inspect", f"oci:{layout}:v1")
    assert done.returncode == 1  # a digest mismatch is a verification failure
    assert "does not match its digest" in done.stderr


def test_unknown_platform_lists_the_known_ones(run_cli, images) -> None:
    done = run_cli("inspect", f"oci:{images.layout}:multi", "--platform", "linux/ppc64le")
    assert done.returncode == 3
    assert "linux/amd64, linux/arm64/v8" in done.stderr


def test_cache_info_and_prune(run_cli, tmp_path: Path) -> None:
    env = {"WHARFINGER_CACHE_DIR": str(tmp_path)}
    cache = BlobCache(tmp_path / "blobs", max_bytes=0)
    for n in range(3):
        data = bytes([n]) * 1000
        cache.put_bytes(sha256_digest(data), data)
    done = run_cli("cache", "info", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["path"], info["entries"], info["total_bytes"]) == (str(tmp_path / "blobs"), 3, 3000)
    done = run_cli("cache", "prune", "--max-size", "2000", env=env)
    assert done.returncode == 0, done.stderr
    assert "removed 1 blobs" in done.stdout
    assert len(cache.entries()) == 2
    assert run_cli("cache", "prune", "--all", env=env).returncode == 0
    assert cache.entries() == []
    assert "blobs      0" in run_cli("cache", "info", env=env).stdout


def test_cache_info_and_prune_all_cover_the_inventory_cache(run_cli, tmp_path: Path) -> None:
    env = {"WHARFINGER_CACHE_DIR": str(tmp_path)}
    demo = f"oci:{Path(__file__).resolve().parents[3] / 'src' / 'wharfinger' / 'demo' / 'image'}:1.0"
    assert run_cli("sbom", demo, "-o", "json", env=env).returncode == 0  # fills the inventory cache
    info = json.loads(run_cli("cache", "info", "-o", "json", env=env).stdout)["inventory"]
    assert info["path"] == str(tmp_path / "inventory")
    assert info["inventories"] == 1
    assert info["layers"] >= 1
    on_disk = sum(p.stat().st_size for p in (tmp_path / "inventory").rglob("*") if p.is_file())
    assert info["total_bytes"] == on_disk > 0
    assert "inventory  " in run_cli("cache", "info", env=env).stdout
    pruned = run_cli("cache", "prune", "--all", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert "removed the inventory cache" in pruned.stdout
    after = json.loads(run_cli("cache", "info", "-o", "json", env=env).stdout)["inventory"]
    assert (after["inventories"], after["layers"]) == (0, 0)
    assert not list((tmp_path / "inventory" / "layer-files").glob("*"))


def test_demo(run_cli, tmp_path: Path) -> None:
    """The quick start's job: scan the demo image against the demo database (built in the cache dir)."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    done = run_cli("demo", env=env)
    assert done.returncode == 0, done.stderr
    assert "CVE-2024-5535" in done.stdout
    assert "libssl3" in done.stdout
    arm = json.loads(run_cli("demo", "--platform", "linux/arm64", "-o", "json", env=env).stdout)
    assert arm["findings"]
    gated = run_cli("demo", "--fail-on", "critical", env=env)
    assert gated.returncode == 1
    layout = f"oci:{Path(__file__).resolve().parents[3] / 'src' / 'wharfinger' / 'demo' / 'image'}:1.0"
    listing = run_cli("inspect", layout)
    assert "Platforms  linux/amd64, linux/arm64/v8" in listing.stdout
    arm_config = json.loads(run_cli("inspect", layout, "--platform", "linux/arm64", "-o", "json").stdout)
    assert arm_config["config"]["architecture"] == "arm64"


def test_demo_layer_is_a_real_dpkg_database(tmp_path: Path) -> None:
    """dpkg-query itself reads the bundled status file."""
    from wharfinger.cli.demo import demo_layout
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import open_source, parse_source

    source = open_source(parse_source(demo_layout()), settings=Settings())
    image = source.resolve()
    with source.open_blob(image.layers[0]) as blob, tarfile.open(fileobj=blob, mode="r|gz") as tar:
        tar.extractall(tmp_path, filter="data")
    listed = subprocess.run(
        ["dpkg-query", f"--admindir={tmp_path / 'var/lib/dpkg'}", "-W", "-f", "${Package} ${Version}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "openssl 3.0.11-1~deb12u2" in listed
    assert "libssl3 3.0.11-1~deb12u2" in listed
    assert "zlib1g 1:1.2.13.dfsg-1" in listed
    assert "VERSION_CODENAME=bookworm" in (tmp_path / "etc" / "os-release").read_text()


def test_demo_image_is_reproducible(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    subprocess.run(
        [str(root / "scripts" / "make-demo-image"), str(tmp_path / "image")], check=True, capture_output=True
    )
    bundled = root / "src" / "wharfinger" / "demo" / "image"
    made = {p.relative_to(tmp_path / "image"): p.read_bytes() for p in (tmp_path / "image").rglob("*") if p.is_file()}
    shipped = {p.relative_to(bundled): p.read_bytes() for p in bundled.rglob("*") if p.is_file()}
    assert made == shipped
    assert sum(len(b) for b in shipped.values()) < 50 * 1024


@pytest.mark.parametrize("command", [["inspect"], ["demo"], ["cache"], ["cache", "info"], ["cache", "prune"]])
def test_help_renders(run_cli, command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
