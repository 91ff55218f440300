"""The registry as an ImageSource (with the blob cache) and pull into an OCI layout, on the real registry."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from testkit.images import BuiltImage, skopeo_copy
from testkit.progress import RecordingProgress
from testkit.pushing import layout_blob, push_layout_with_client, push_tiny_image
from wharfinger.errors import DigestMismatchError
from wharfinger.oci.cache import BlobCache
from wharfinger.oci.platform import Platform
from wharfinger.oci.pull import pull_to_layout
from wharfinger.oci.reference import parse_ref
from wharfinger.oci.referrers import attach_artifact
from wharfinger.oci.registry_source import open_registry_source
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import open_source, parse_source

pytestmark = pytest.mark.slow


def _settings(registry, tmp_path) -> Settings:
    return Settings(cache_root=tmp_path / "cache", insecure_hosts=frozenset({registry.host}))


def test_open_source_resolves_platforms_reads_blobs_and_referrers(
    registry_plain, multi_platform_image: BuiltImage, tmp_path
) -> None:
    skopeo_copy(multi_platform_image, registry_plain, "source/multi", "v1")
    settings = _settings(registry_plain, tmp_path)
    cache = BlobCache.from_settings(settings)
    source = open_source(parse_source(registry_plain.ref("source/multi", "v1")), settings=settings, cache=cache)
    with source:
        arm = source.resolve(Platform(os="linux", architecture="arm64", variant="v8"))
        assert arm.config.platform.architecture == "arm64"
        assert arm.index is not None
        assert arm.top.digest == multi_platform_image.digest
        amd = source.resolve(Platform(os="linux", architecture="amd64"))
        assert amd.digest != arm.digest
        source.prefetch(arm.layers)
        assert all(cache.contains(layer.digest) for layer in arm.layers)
        layer = arm.layers[-1]
        with source.open_blob(layer) as stream:
            data = stream.read()
        assert hashlib.sha256(data).hexdigest() == layer.digest.split(":")[1]
        assert data == layout_blob(multi_platform_image, layer.digest).read_bytes()
        assert source.referrers(arm.digest) == ()
        signature = attach_artifact(
            source.client, "source/multi", arm.manifest_descriptor, "application/example.sig", [("x/y", b"sig")]
        )
        assert [d.digest for d in source.referrers(arm.digest)] == [signature.digest]


def test_cache_corruption_is_caught_on_read(registry_plain, small_image, tmp_path) -> None:
    skopeo_copy(small_image, registry_plain, "source/small", "v1")
    settings = _settings(registry_plain, tmp_path)
    cache = BlobCache.from_settings(settings)
    with open_registry_source(parse_ref(registry_plain.ref("source/small", "v1")), settings=settings, cache=cache) as s:
        image = s.resolve()
        s.prefetch(image.layers)
        layer = image.layers[0]
        cache.path_for(layer.digest).write_bytes(b"tampered")
        with pytest.raises(DigestMismatchError), s.open_blob(layer) as stream:
            stream.read()


def test_a_streamed_blob_lands_in_the_cache_only_when_read_to_its_end(registry_plain, small_image, tmp_path) -> None:
    skopeo_copy(small_image, registry_plain, "source/tee", "v1")
    settings = _settings(registry_plain, tmp_path)
    cache = BlobCache.from_settings(settings)
    with open_registry_source(parse_ref(registry_plain.ref("source/tee", "v1")), settings=settings, cache=cache) as s:
        first, second = s.resolve().layers[:2]
        with s.open_blob(first) as stream:
            head = stream.read(10)  # a reader that gives up early (a refused layer)
        assert head == layout_blob(small_image, first.digest).read_bytes()[:10]
        assert not cache.contains(first.digest)
        assert not any((cache.root / "tmp").glob("*"))  # the partial copy is gone
        with s.open_blob(second) as stream:
            data = stream.read()
        assert data == layout_blob(small_image, second.digest).read_bytes()
        assert cache.path_for(second.digest).read_bytes() == data  # published as it was read
        with s.open_blob(second) as again:  # and read from the cache next time, verified
            assert again.read() == data


def test_an_altered_blob_from_the_registry_is_refused_and_not_cached(registry_plain, tmp_path) -> None:
    settings = _settings(registry_plain, tmp_path)
    cache = BlobCache.from_settings(settings)
    ref = parse_ref(registry_plain.ref("source/altered", "v1"))
    with open_registry_source(ref, settings=settings, cache=cache) as source:
        # a layer of its own (content-addressed storage is shared by every repository of the registry)
        push_tiny_image(source.client, "source/altered", "v1", content=b"altered " + os.urandom(64))
        layer = source.resolve().layers[0]
        hex_digest = layer.digest.split(":")[1]
        # the registry's own storage, changed behind its back: it serves what is on disk
        stored = registry_plain.root / "data/docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"
        altered = bytearray(stored.read_bytes())
        altered[len(altered) // 2] ^= 0xFF
        stored.write_bytes(bytes(altered))
        with pytest.raises(DigestMismatchError), source.open_blob(layer) as stream:
            stream.read()
        assert not cache.contains(layer.digest)
        assert not any((cache.root / "tmp").glob("*"))


def test_pull_to_layout_matches_skopeo(registry_plain, small_image, tmp_path) -> None:
    skopeo_copy(small_image, registry_plain, "pull/small", "v1")
    settings = _settings(registry_plain, tmp_path)
    with open_registry_source(parse_ref(registry_plain.ref("pull/small", "v1")), settings=settings) as source:
        result = pull_to_layout(source.client, "pull/small", "v1", tmp_path / "ours")
        again = pull_to_layout(source.client, "pull/small", "v1", tmp_path / "ours")
    assert result.top.digest == small_image.digest
    assert result.blobs_downloaded == 3  # config + 2 layers
    assert again.blobs_downloaded == 0
    done = subprocess.run(
        ["skopeo", "copy", *registry_plain.skopeo_flags("src"), f"docker://{registry_plain.ref('pull/small', 'v1')}",
         f"oci:{tmp_path / 'skopeo'}:v1"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ours = sorted(p.name for p in (tmp_path / "ours" / "blobs" / "sha256").iterdir())
    theirs = sorted(p.name for p in (tmp_path / "skopeo" / "blobs" / "sha256").iterdir())
    assert ours == theirs
    for name in ours:
        assert hashlib.sha256((tmp_path / "ours" / "blobs" / "sha256" / name).read_bytes()).hexdigest() == name
    index = json.loads((tmp_path / "ours" / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    # and the layout reads back with skopeo and with our own layout source
    inspect = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{tmp_path / 'ours'}:v1"], capture_output=True, check=True
    )
    assert hashlib.sha256(inspect.stdout).hexdigest() == small_image.digest.split(":")[1]
    layout = open_source(parse_source(f"oci:{tmp_path / 'ours'}:v1"), settings=settings)
    try:
        assert layout.resolve().digest == small_image.digest
    finally:
        layout.close()


def test_pull_all_platforms(registry_plain, multi_platform_image, client_for, tmp_path) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, multi_platform_image, "pull/multi", "v1")
    result = pull_to_layout(client, "pull/multi", "v1", tmp_path / "all", all_platforms=True)
    assert result.top.digest == multi_platform_image.digest
    one = pull_to_layout(
        client, "pull/multi", "v1", tmp_path / "one", platform=Platform(os="linux", architecture="arm64", variant="v8")
    )
    assert one.top.digest != multi_platform_image.digest
    assert len(list((tmp_path / "all" / "blobs" / "sha256").iterdir())) > len(
        list((tmp_path / "one" / "blobs" / "sha256").iterdir())
    )


def test_cli_pull(registry_plain, small_image, run_cli, tmp_path) -> None:
    ref = skopeo_copy(small_image, registry_plain, "cli/pull", "v2")
    done = run_cli("pull", ref, f"oci:{tmp_path / 'out'}", "--insecure", registry_plain.host)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == small_image.digest
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v2"


def test_cli_pull_errors_are_one_line(registry_plain, run_cli, tmp_path) -> None:
    missing = run_cli(
        "pull", registry_plain.ref("cli/none", "v1"), f"oci:{tmp_path}", "--insecure", registry_plain.host
    )
    assert missing.returncode == 4
    assert "not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = run_cli("pull", registry_plain.ref("cli/none", "v1"), f"dir:{tmp_path}")
    assert bad.returncode == 3
    assert "oci:DIR" in bad.stderr


def test_cli_inspect_lists_registry_referrers(registry_plain, small_image, client_for, run_cli, tmp_path) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, small_image, "cli/inspect", "v1")
    subject = client.get_manifest("cli/inspect", "v1").descriptor()
    sbom = attach_artifact(client, "cli/inspect", subject, "application/vnd.cyclonedx+json", [("x/y", b"{}")])
    done = run_cli(
        "inspect", registry_plain.ref("cli/inspect", "v1"), "--insecure", registry_plain.host, "-o", "json",
        env={"WHARFINGER_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["top"]["digest"] == small_image.digest
    assert [(r["digest"], r["artifactType"]) for r in report["referrers"]] == [
        (sbom.digest, "application/vnd.cyclonedx+json")
    ]
    table = run_cli(
        "inspect", registry_plain.ref("cli/inspect", "v1"), "--insecure", registry_plain.host,
        env={"WHARFINGER_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert "application/vnd.cyclonedx+json" in table.stdout


def test_pull_reports_progress_in_bytes(registry_plain, small_image, client_for, tmp_path) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, small_image, "pull/progress", "v1")
    first = RecordingProgress()
    result = pull_to_layout(client, "pull/progress", "v1", tmp_path / "layout", progress=first)
    blob_files = [p for p in (tmp_path / "layout" / "blobs" / "sha256").iterdir() if p.name != result.top.digest[7:]]
    on_disk = sum(p.stat().st_size for p in blob_files)
    assert first.blobs == 3  # config + 2 layers
    assert first.total == first.advanced == result.bytes_downloaded
    assert result.bytes_downloaded == on_disk
    again = RecordingProgress()
    pull_to_layout(client, "pull/progress", "v1", tmp_path / "layout", progress=again)
    assert again.total == again.advanced == first.total  # blobs already present count as done


def test_cli_pull_draws_no_progress_into_a_pipe(registry_plain, small_image, client_for, run_cli, tmp_path) -> None:
    push_layout_with_client(client_for(registry_plain), small_image, "pull/quiet", "v1")
    done = run_cli("pull", registry_plain.ref("pull/quiet", "v1"), f"oci:{tmp_path / 'out'}", "--insecure",
                   registry_plain.host)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == small_image.digest
    assert done.stderr == ""


def test_resolving_a_tag_fetches_its_manifest_once(registry_plain, small_image, tmp_path) -> None:
    skopeo_copy(small_image, registry_plain, "source/once", "v1")
    settings = Settings(insecure_hosts=frozenset({registry_plain.host}))  # no blob cache: every read is a GET
    source = open_source(parse_source(registry_plain.ref("source/once", "v1")), settings=settings)
    fetched: list[str] = []
    get_manifest = source.client.get_manifest

    def counting(repository: str, reference: str) -> object:
        fetched.append(reference)
        return get_manifest(repository, reference)

    source.client.get_manifest = counting  # type: ignore[method-assign]
    with source:
        image = source.resolve(None)
        assert image.digest == small_image.digest
        assert fetched == ["v1"]  # the manifest got by tag serves the read by digest that follows
        with source.open_blob(image.manifest_descriptor) as again:  # still the bytes served, from memory
            assert hashlib.sha256(again.read()).hexdigest() == image.digest.split(":")[1]
        assert fetched == ["v1"]
