"""Redirects over real sockets: credentials never follow a redirect to another host (port)."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from testkit.httpserver import Reply, Request, serve
from wharfinger.errors import RegistryError
from wharfinger.oci.auth import Credentials, Secret
from wharfinger.oci.client import RegistryClient, RegistrySettings

BLOB = b"blob stored elsewhere " * 1000
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BASIC = "Basic " + base64.b64encode(b"alice:s3cret-password").decode()


def _registry(redirect_to: str):
    def handle(request: Request) -> Reply:
        if request.headers.get("authorization") != BASIC:
            return Reply(401, {"WWW-Authenticate": 'Basic realm="test"'})
        if request.path.startswith("/v2/app/blobs/"):
            return Reply(307, {"Location": f"{redirect_to}/storage/{DIGEST}?signature=abc"})
        if request.path.startswith("/storage/"):  # same-origin storage path
            return Reply(200, {}, BLOB)
        return Reply(200, {}, b"{}")

    return handle


def _client(host: str) -> RegistryClient:
    return RegistryClient(
        host,
        settings=RegistrySettings(insecure_hosts=frozenset({host})),
        credentials=Credentials(username="alice", password=Secret("s3cret-password"), source="test"),
        sleep=lambda _s: None,
        scheme="http",
    )


def test_redirect_to_another_port_gets_no_credentials() -> None:
    with serve(lambda r: Reply(200, {}, BLOB)) as storage, serve(_registry(storage.url)) as registry:
        client = _client(f"127.0.0.1:{registry.port}")
        sink = io.BytesIO()
        client.download_blob("app", DIGEST, sink, size=len(BLOB))
    assert sink.getvalue() == BLOB
    assert storage.requests, "the blob store was not asked"
    assert all("authorization" not in r.headers for r in storage.requests)
    assert any(r.headers.get("authorization") == BASIC for r in registry.requests)


def test_redirect_within_the_registry_keeps_credentials() -> None:
    """The counterpart: same origin, credentials kept (so the test above can fail)."""
    holder: dict[str, str] = {}
    with serve(lambda r: _registry(holder["url"])(r)) as registry:  # noqa: PLW0108 -- URL known only once serving
        holder["url"] = registry.url
        client = _client(f"127.0.0.1:{registry.port}")
        client.download_blob("app", DIGEST, io.BytesIO(), size=len(BLOB))
    storage_requests = [r for r in registry.requests if r.path.startswith("/storage/")]
    assert storage_requests
    assert all(r.headers.get("authorization") == BASIC for r in storage_requests)


def test_redirect_loop_between_two_servers() -> None:
    ports: dict[str, str] = {}
    with serve(lambda r: Reply(302, {"Location": f"{ports['b']}/x"})) as a:
        ports["a"] = a.url
        with serve(lambda r: Reply(302, {"Location": f"{ports['a']}/y"})) as b:
            ports["b"] = b.url
            with serve(lambda r: Reply(307, {"Location": f"{ports['a']}/y"})) as registry:
                client = _client(f"127.0.0.1:{registry.port}")
                with pytest.raises(RegistryError) as caught:
                    client.download_blob("app", DIGEST, io.BytesIO())
    assert "loop" in caught.value.message
    assert "signature" not in caught.value.message
