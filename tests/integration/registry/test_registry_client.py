"""The registry client against the real docker-registry: push, pull, list, delete, auth."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess

import pytest

from testkit.images import BuiltImage, skopeo_copy
from testkit.pushing import layout_blob, push_layout_with_client
from testkit.registry import RunningRegistry
from wharfinger.errors import (
    RegistryAuthError,
    RegistryNotFoundError,
    RegistryUnavailableError,
)
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.manifest import ImageIndex, ImageManifest

pytestmark = pytest.mark.slow


def _skopeo_raw(registry: RunningRegistry, ref: str) -> bytes:
    flags = [f.replace("--src-", "--") for f in registry.skopeo_flags("src")]
    done = subprocess.run(["skopeo", "inspect", "--raw", *flags, f"docker://{ref}"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_reads_what_skopeo_pushed(registry_plain, small_image: BuiltImage, client_for) -> None:
    skopeo_copy(small_image, registry_plain, "client/read", "v1")
    client = client_for(registry_plain)
    fetched = client.get_manifest("client/read", "v1")
    assert fetched.digest == small_image.digest
    manifest = fetched.parse()
    assert isinstance(manifest, ImageManifest)
    assert len(manifest.layers) == 2
    assert client.resolve("client/read", "v1") == small_image.digest
    by_digest = client.get_manifest("client/read", small_image.digest)
    assert by_digest.data == fetched.data
    layer = manifest.layers[1]
    sink = io.BytesIO()
    assert client.download_blob("client/read", layer.digest, sink, size=layer.size) == layer.size
    assert sink.getvalue() == layout_blob(small_image, layer.digest).read_bytes()
    with client.open_blob("client/read", layer.digest, size=layer.size) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == layer.digest.split(":")[1]


def test_pushes_what_skopeo_reads_monolithic_and_chunked(registry_plain, small_image, client_for) -> None:
    client = client_for(registry_plain, chunk_size=64 * 1024, monolithic_max=128 * 1024)
    digest = push_layout_with_client(client, small_image, "client/pushed", "v1")
    assert digest == small_image.digest
    assert (
        hashlib.sha256(_skopeo_raw(registry_plain, registry_plain.ref("client/pushed", "v1"))).hexdigest()
        == (small_image.digest.split(":")[1])
    )
    done = subprocess.run(
        ["skopeo", "copy", *registry_plain.skopeo_flags("src"), f"docker://{registry_plain.ref('client/pushed', 'v1')}",
         f"oci:{registry_plain.root / 'readback'}:v1"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()  # skopeo verified every blob digest


def test_multi_platform_index_round_trip(registry_plain, multi_platform_image, client_for) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, multi_platform_image, "client/multi", "latest")
    index = client.get_manifest("client/multi", "latest").parse()
    assert isinstance(index, ImageIndex)
    assert sorted(d.platform.architecture for d in index.manifests if d.platform) == ["amd64", "arm64"]


def test_cross_repository_mount(registry_plain, small_image, client_for) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, small_image, "client/mount-source", "v1")
    layer = json.loads(layout_blob(small_image, small_image.digest).read_bytes())["layers"][0]
    assert not client.blob_exists("client/mount-target", layer["digest"])
    assert client.mount_blob("client/mount-target", layer["digest"], "client/mount-source")
    assert client.blob_exists("client/mount-target", layer["digest"])


def test_tags_and_catalog_follow_link_pagination(registry_plain, small_image, client_for) -> None:
    client = client_for(registry_plain, page_size=2)
    push_layout_with_client(client, small_image, "client/paged", "t0")
    data = layout_blob(small_image, small_image.digest).read_bytes()
    for number in range(1, 5):
        client.push_manifest("client/paged", data, mt.OCI_MANIFEST, tag=f"t{number}")
    assert sorted(client.list_tags("client/paged")) == ["t0", "t1", "t2", "t3", "t4"]
    assert "client/paged" in client.catalog()


def test_delete_manifest_then_not_found(registry_plain, small_image, client_for) -> None:
    client = client_for(registry_plain)
    digest = push_layout_with_client(client, small_image, "client/deleted", "v1")
    client.delete_manifest("client/deleted", digest)
    with pytest.raises(RegistryNotFoundError) as caught:
        client.get_manifest("client/deleted", digest)
    assert "client/deleted" in caught.value.message
    assert caught.value.hint


def test_unknown_repository_is_not_found(registry_plain, client_for) -> None:
    with pytest.raises(RegistryNotFoundError):
        client_for(registry_plain).get_manifest("client/nothing-here", "latest")


def test_blob_with_wrong_digest_is_refused_by_registry_and_client(registry_plain, client_for) -> None:
    client = client_for(registry_plain)
    data = b"hello blob"
    wrong = "sha256:" + hashlib.sha256(b"other").hexdigest()
    with pytest.raises(Exception) as caught:
        client.push_blob("client/bad", wrong, len(data), data)
    assert "DIGEST_INVALID" in str(caught.value)


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    client = RegistryClient(
        f"127.0.0.1:{port}", settings=RegistrySettings(max_retries=2), sleep=sleeps.append, scheme="http"
    )
    with pytest.raises(RegistryUnavailableError) as caught:
        client.ping()
    assert f"127.0.0.1:{port}" in caught.value.message
    assert sleeps == [0.5, 1.0]


# --- TLS + basic auth --------------------------------------------------------------------------


def test_basic_auth_push_and_pull(registry_basic, small_image, client_for) -> None:
    client = client_for(registry_basic)
    push_layout_with_client(client, small_image, "basic/image", "v1")
    assert client.get_manifest("basic/image", "v1").digest == small_image.digest
    assert _skopeo_raw(registry_basic, registry_basic.ref("basic/image", "v1"))


def test_basic_auth_wrong_password_names_docker_login(registry_basic, client_for) -> None:
    client = client_for(registry_basic, password="wrong")
    with pytest.raises(RegistryAuthError) as caught:
        client.get_manifest("basic/image", "v1")
    assert "docker login" in (caught.value.hint or "")
    assert "wrong" not in caught.value.diagnostics()


def test_basic_auth_anonymous_refused(registry_basic, client_for) -> None:
    with pytest.raises(RegistryAuthError):
        client_for(registry_basic, anonymous=True).ping()


def test_untrusted_certificate_says_ca_bundle(registry_basic) -> None:
    client = RegistryClient(registry_basic.host, sleep=lambda _s: None)
    with pytest.raises(RegistryUnavailableError) as caught:
        client.ping()
    assert "--ca-bundle" in (caught.value.hint or "")


def test_http2_round_trip_over_tls(registry_basic, small_image, client_for) -> None:
    client = client_for(registry_basic, http2=True)
    push_layout_with_client(client, small_image, "basic/h2", "v1")
    layer = client.get_manifest("basic/h2", "v1").parse().layers[0]
    sink = io.BytesIO()
    client.download_blob("basic/h2", layer.digest, sink, size=layer.size)
    response = client._http.get(client.url("/v2/"))
    assert response.http_version == "HTTP/2"
    default = client_for(registry_basic)
    assert default._http.get(default.url("/v2/")).http_version == "HTTP/1.1"


# --- TLS + token auth --------------------------------------------------------------------------


def test_token_auth_push_pull_and_token_cache(registry_token, small_image, client_for) -> None:
    service = registry_token.token_service
    client = client_for(registry_token)
    push_layout_with_client(client, small_image, "shared/app", "v1")
    before = len(service.issued)
    for _ in range(3):
        client.get_manifest("shared/app", "v1")
    assert len(service.issued) - before <= 1  # one token for the pull scope, then cached
    # alice was given a refresh token with her first token: later scopes use it, not her password
    posts = [r for r in service.requests if r.method == "POST"]
    assert posts
    assert all("authorization" not in r.headers for r in posts)


def test_token_pull_only_user_cannot_push(registry_token, small_image, client_for) -> None:
    alice = client_for(registry_token)
    push_layout_with_client(alice, small_image, "shared/readonly", "v1")
    bob = client_for(registry_token, user="bob", password=registry_token.token_service.users["bob"])
    assert bob.get_manifest("shared/readonly", "v1").digest == small_image.digest
    data = layout_blob(small_image, small_image.digest).read_bytes()
    with pytest.raises(RegistryAuthError) as caught:
        bob.push_manifest("shared/readonly", data, mt.OCI_MANIFEST, tag="v2")
    assert "docker login" in (caught.value.hint or "")
    with pytest.raises(RegistryAuthError):
        bob.get_manifest("private/thing", "v1")


def test_token_anonymous_pull_of_public_repository(registry_token, small_image, client_for) -> None:
    push_layout_with_client(client_for(registry_token), small_image, "public/app", "v1")
    anonymous = client_for(registry_token, anonymous=True)
    assert anonymous.get_manifest("public/app", "v1").digest == small_image.digest
    with pytest.raises(RegistryAuthError) as caught:
        anonymous.get_manifest("shared/app", "v1")
    assert "anonymous" in caught.value.message


def test_token_wrong_password(registry_token, client_for) -> None:
    with pytest.raises(RegistryAuthError):
        client_for(registry_token, password="nope").get_manifest("shared/app", "v1")


# --- insecure hosts are explicit -----------------------------------------------------------------


def test_plain_http_registry_needs_to_be_listed_insecure(registry_plain) -> None:
    client = RegistryClient(registry_plain.host, settings=RegistrySettings(max_retries=0), sleep=lambda _s: None)
    with pytest.raises(RegistryUnavailableError):
        client.ping()  # HTTPS to a plain-HTTP server fails; no silent downgrade
    other = RegistryClient(
        registry_plain.host,
        settings=RegistrySettings(insecure_hosts=frozenset({"127.0.0.1:1"})),
        sleep=lambda _s: None,
    )
    with pytest.raises(RegistryUnavailableError):
        other.ping()  # another host being insecure does not make this one insecure


def test_insecure_tls_host_skips_verification_only_for_itself(registry_basic, small_image, client_for) -> None:
    insecure = client_for(registry_basic, ca_bundle=None, insecure_hosts=frozenset({registry_basic.host}))
    push_layout_with_client(insecure, small_image, "basic/insecure", "v1")
    assert insecure.base_url.startswith("https://")  # still TLS, just unverified
    assert insecure.get_manifest("basic/insecure", "v1").digest == small_image.digest


def test_token_catalog_scope(registry_token, small_image, client_for) -> None:
    alice = client_for(registry_token)
    push_layout_with_client(alice, small_image, "shared/listed", "v1")
    assert "shared/listed" in alice.catalog()
    assert "v1" in alice.list_tags("shared/listed")
    bob = client_for(registry_token, user="bob", password=registry_token.token_service.users["bob"])
    with pytest.raises(RegistryAuthError):
        bob.catalog()


def test_parallel_pull_from_token_registry_fetches_one_token_per_scope(
    registry_token, small_image, client_for, tmp_path
) -> None:
    from wharfinger.oci.pull import pull_to_layout

    alice = client_for(registry_token)
    push_layout_with_client(alice, small_image, "shared/parallel", "v1")
    service = registry_token.token_service
    puller = client_for(registry_token, parallel_downloads=4)
    before = len(service.issued)
    pull_to_layout(puller, "shared/parallel", "v1", tmp_path / "out")
    assert len(service.issued) - before == 1  # the manifest's token serves the parallel blob downloads
