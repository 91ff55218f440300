"""``wharfinger sbom`` against a real registry (Debian's docker-registry): inventory and --attach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.images import BuiltImage, skopeo_copy
from testkit.registry import RunningRegistry
from wharfinger.oci.client import connect
from wharfinger.oci.referrers import list_referrers
from wharfinger.oci.settings import Settings

pytestmark = pytest.mark.slow


def test_registry_sbom_and_attach(
    run_cli, registry_plain: RunningRegistry, small_image: BuiltImage, tmp_path: Path
) -> None:
    ref = skopeo_copy(small_image, registry_plain, "inventory/small")
    env = {"WHARFINGER_CACHE_DIR": str(tmp_path / "cache")}
    done = run_cli("sbom", ref, "--insecure", registry_plain.host, "--attach", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # the image was built from these Debian packages: every one must be found, nothing else as a deb
    assert sorted(p["name"] for p in document["packages"] if p["type"] == "deb") == sorted(small_image.packages)
    assert len(document["layers"]) == 2
    digest = document["subject"]["digest"]
    settings = Settings(insecure_hosts=frozenset({registry_plain.host}))
    with connect(registry_plain.host, settings=settings) as client:
        referrers = list_referrers(client, "inventory/small", digest, artifact_type="application/vnd.cyclonedx+json")
        assert len(referrers.descriptors) == 1
        manifest = client.get_manifest("inventory/small", referrers.descriptors[0].digest)
        layer = json.loads(manifest.data)["layers"][0]
        sbom = json.loads(client.fetch_blob("inventory/small", layer["digest"], max_bytes=16 * 1024 * 1024))
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["version"] == digest
    assert {c["name"] for c in sbom["components"] if c["type"] == "library"} == set(small_image.packages)


def test_attach_needs_a_registry_source(run_cli, small_image: BuiltImage, tmp_path: Path) -> None:
    done = run_cli("sbom", small_image.oci_ref, "--attach", env={"WHARFINGER_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 3
    assert "--attach pushes the SBOM to a registry" in done.stderr
    assert "hint:" in done.stderr
