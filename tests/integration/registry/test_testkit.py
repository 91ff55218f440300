"""The shared fixtures themselves: each registry flavour accepts what it should and refuses the rest."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from testkit.images import BuiltImage, skopeo_copy
from testkit.registry import RunningRegistry

pytestmark = pytest.mark.slow


def _skopeo_inspect(registry: RunningRegistry, ref: str, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = [f.replace("--src-", "--") for f in registry.skopeo_flags("src")]
    return subprocess.run(
        ["skopeo", "inspect", "--raw", *flags, *extra, f"docker://{ref}"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_small_image_has_two_layers_and_a_dpkg_status(small_image: BuiltImage) -> None:
    index = json.loads((small_image.layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((small_image.layout / "blobs" / "sha256" / digest).read_bytes())
    assert len(manifest["layers"]) == 2
    assert small_image.packages == ("base-files", "zlib1g", "libssl3", "openssl")


def test_plain_registry_round_trip_with_skopeo(registry_plain: RunningRegistry, small_image: BuiltImage) -> None:
    ref = skopeo_copy(small_image, registry_plain, "testkit/small")
    done = _skopeo_inspect(registry_plain, ref)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"


def test_basic_registry_refuses_anonymous_and_accepts_alice(
    registry_basic: RunningRegistry, small_image: BuiltImage
) -> None:
    assert registry_basic.ca_file is not None
    anonymous = httpx.get(f"{registry_basic.url}/v2/", verify=registry_basic.ssl_context())
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic ")
    ref = skopeo_copy(small_image, registry_basic, "testkit/small")
    assert _skopeo_inspect(registry_basic, ref).returncode == 0


def test_token_registry_grants_per_user(registry_token: RunningRegistry, multi_platform_image: BuiltImage) -> None:
    assert registry_token.ca_file is not None
    challenge = httpx.get(f"{registry_token.url}/v2/", verify=registry_token.ssl_context())
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith(f'Bearer realm="{registry_token.token_url}"')
    ref = skopeo_copy(multi_platform_image, registry_token, "shared/multi")
    # bob may pull shared/*, not push anywhere
    service = registry_token.token_service
    assert service is not None
    bob = _skopeo_inspect(registry_token, ref, "--creds", f"bob:{service.users['bob']}")
    assert bob.returncode == 0, bob.stderr
    assert json.loads(bob.stdout)["mediaType"] == "application/vnd.oci.image.index.v1+json"
    anonymous = subprocess.run(
        ["skopeo", "inspect", "--raw", f"--cert-dir={registry_token.root / 'certs.d'}", f"docker://{ref}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert anonymous.returncode != 0
