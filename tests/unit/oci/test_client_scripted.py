"""Registry replies a real registry will not produce on demand, scripted with httpx.MockTransport."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from wharfinger.errors import (
    DigestMismatchError,
    ManifestError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistryUnavailableError,
)
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.auth import Credentials, Secret
from wharfinger.oci.client import RegistryClient, RegistrySettings

HOST = "registry.test"
BLOB = b"layer-bytes " * 5000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": BLOB_DIGEST, "size": len(BLOB)},
        "layers": [],
    }
).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


@dataclass
class MutableClock:
    at: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at


@dataclass
class Script:
    """Replies in order; records every request."""

    handler: Callable[[httpx.Request, int], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request, len(self.requests))


def make_client(handler, *, clock=None, credentials=None, **settings) -> tuple[RegistryClient, Script, list[float]]:
    script = Script(handler)
    sleeps: list[float] = []
    client = RegistryClient(
        HOST,
        settings=RegistrySettings(**settings),
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        clock=clock or MutableClock(),
        credentials=credentials,
        scheme="https",
    )
    return client, script, sleeps


class BreakingStream(httpx.SyncByteStream):
    """Sends ``data`` then breaks the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset by peer")


# --- retries -------------------------------------------------------------------------------------


def test_429_honours_retry_after_seconds() -> None:
    def handler(request, n):
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "3"})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, script, sleeps = make_client(handler)
    assert client.get_manifest("app", "v1").digest == MANIFEST_DIGEST
    assert sleeps == [3.0]
    assert len(script.requests) == 2


def test_retry_after_http_date_is_relative_to_the_injected_clock() -> None:
    clock = MutableClock()
    when = (clock.at + timedelta(seconds=7)).strftime("%a, %d %b %Y %H:%M:%S GMT")

    def handler(request, n):
        if n == 1:
            return httpx.Response(503, headers={"Retry-After": when})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, _, sleeps = make_client(handler, clock=clock)
    client.get_manifest("app", "v1")
    assert sleeps == [7.0]


def test_retry_after_is_capped() -> None:
    def handler(request, n):
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "86400"})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, _, sleeps = make_client(handler, backoff_max=5.0)
    client.get_manifest("app", "v1")
    assert sleeps == [5.0]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_persistent_failure_is_unavailable_after_exponential_backoff(status: int) -> None:
    client, script, sleeps = make_client(lambda r, n: httpx.Response(status), max_retries=3)
    with pytest.raises(RegistryUnavailableError) as caught:
        client.get_manifest("app", "v1")
    assert f"HTTP {status}" in caught.value.message
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(script.requests) == 4


def test_connection_errors_are_retried_then_unavailable() -> None:
    def handler(request, n):
        raise httpx.ConnectError("connection refused", request=request)

    client, script, _sleeps = make_client(handler, max_retries=2)
    with pytest.raises(RegistryUnavailableError) as caught:
        client.ping()
    assert "cannot be reached" in caught.value.message
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, RegistryAuthError), (404, RegistryNotFoundError), (400, RegistryError), (401, RegistryAuthError)],
)
def test_status_maps_to_error(status, error) -> None:
    body = json.dumps({"errors": [{"code": "SOME_CODE", "message": "explained"}]}).encode()
    headers = {"WWW-Authenticate": 'Basic realm="r"'} if status == 401 else {}
    client, _, _ = make_client(lambda r, n: httpx.Response(status, content=body, headers=headers))
    with pytest.raises(error) as caught:
        client.get_manifest("app", "v1")
    assert caught.value.hint
    if status in {401, 403}:
        assert "docker login" in caught.value.hint


# --- manifests -----------------------------------------------------------------------------------


def test_oversized_manifest_by_content_length() -> None:
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=big, headers={"Content-Type": mt.OCI_MANIFEST}))
    with pytest.raises(ManifestError) as caught:
        client.get_manifest("app", "v1")
    assert "limit" in caught.value.message


def test_oversized_manifest_without_content_length_stops_reading() -> None:
    served: list[int] = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):
            served.append(1)
            yield b" " * 65536

    client, _, _ = make_client(
        lambda r, n: httpx.Response(200, content=endless(), headers={"Content-Type": mt.OCI_MANIFEST})
    )
    with pytest.raises(ManifestError):
        client.get_manifest("app", "v1")
    assert len(served) < 100  # stopped right after the 4 MiB limit


def test_manifest_by_digest_must_hash_to_it() -> None:
    tampered = MANIFEST.replace(b'"layers": []', b'"layers": [] ')
    client, _, _ = make_client(
        lambda r, n: httpx.Response(200, content=tampered, headers={"Content-Type": mt.OCI_MANIFEST})
    )
    with pytest.raises(DigestMismatchError):
        client.get_manifest("app", MANIFEST_DIGEST)


def test_docker_content_digest_must_match_for_tags() -> None:
    wrong = "sha256:" + "0" * 64
    client, _, _ = make_client(
        lambda r, n: httpx.Response(
            200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST, "Docker-Content-Digest": wrong}
        )
    )
    with pytest.raises(DigestMismatchError) as caught:
        client.get_manifest("app", "v1")
    assert wrong in caught.value.message


def test_schema1_is_refused() -> None:
    client, _, _ = make_client(
        lambda r, n: httpx.Response(200, content=b"{}", headers={"Content-Type": mt.DOCKER_SCHEMA1_SIGNED})
    )
    with pytest.raises(ManifestError) as caught:
        client.get_manifest("app", "v1")
    assert "schema 1" in caught.value.message


def test_manifest_accept_header_lists_every_known_type() -> None:
    client, script, _ = make_client(
        lambda r, n: httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})
    )
    client.get_manifest("app", "v1")
    accept = script.requests[0].headers["accept"]
    for media_type in (mt.OCI_INDEX, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_LIST, mt.DOCKER_MANIFEST_V2):
        assert media_type in accept


# --- blobs ---------------------------------------------------------------------------------------


def test_broken_blob_download_resumes_with_range() -> None:
    cut = 20_000

    def handler(request, n):
        if n == 1:
            return httpx.Response(200, stream=BreakingStream(BLOB[:cut]))
        assert request.headers["range"] == f"bytes={cut}-"
        return httpx.Response(
            206, content=BLOB[cut:], headers={"Content-Range": f"bytes {cut}-{len(BLOB) - 1}/{len(BLOB)}"}
        )

    client, script, _ = make_client(handler)
    sink = io.BytesIO()
    assert client.download_blob("app", BLOB_DIGEST, sink, size=len(BLOB)) == len(BLOB)
    assert sink.getvalue() == BLOB
    assert len(script.requests) == 2


def test_resume_ignored_by_server_restarts_from_zero() -> None:
    def handler(request, n):
        if n == 1:
            return httpx.Response(200, stream=BreakingStream(BLOB[:1000]))
        return httpx.Response(200, content=BLOB)  # ignores Range

    client, _, _ = make_client(handler)
    sink = io.BytesIO()
    client.download_blob("app", BLOB_DIGEST, sink, size=len(BLOB))
    assert sink.getvalue() == BLOB


def test_truncated_blob_is_a_digest_mismatch() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=BLOB[:-10]))
    with pytest.raises(DigestMismatchError) as caught:
        client.download_blob("app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB))
    assert "truncated" in (caught.value.hint or "") or "bytes" in caught.value.message


def test_altered_blob_is_a_digest_mismatch_also_when_streamed() -> None:
    altered = BLOB[:-1] + b"X"
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=altered))
    with pytest.raises(DigestMismatchError):
        client.download_blob("app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB))
    with pytest.raises(DigestMismatchError), client.open_blob("app", BLOB_DIGEST, size=len(BLOB)) as stream:
        stream.read()


def test_oversized_blob_stops_at_declared_size() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=BLOB + b"more"))
    with pytest.raises(DigestMismatchError) as caught:
        client.download_blob("app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB))
    assert "larger" in caught.value.message


def test_connection_keeps_breaking_is_unavailable() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(200, stream=BreakingStream(b"")), resume_attempts=2)
    with pytest.raises(RegistryUnavailableError) as caught:
        client.download_blob("app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB))
    assert "broke off" in caught.value.message


# --- redirects -----------------------------------------------------------------------------------


def test_redirect_loop_is_detected() -> None:
    def handler(request, n):
        target = "/a" if request.url.path == "/b" else "/b"
        return httpx.Response(307, headers={"Location": f"https://{HOST}{target}"})

    client, script, _ = make_client(handler)
    with pytest.raises(RegistryError) as caught:
        client.download_blob("app", BLOB_DIGEST, io.BytesIO())
    assert "loop" in caught.value.message
    assert len(script.requests) <= 4


def test_too_many_redirects() -> None:
    client, _, _ = make_client(
        lambda r, n: httpx.Response(302, headers={"Location": f"https://{HOST}/hop/{n}"}), max_redirects=3
    )
    with pytest.raises(RegistryError) as caught:
        client.download_blob("app", BLOB_DIGEST, io.BytesIO())
    assert "more than 3 times" in caught.value.message


def test_redirect_to_other_host_drops_authorization_in_scripted_transport() -> None:
    credentials = Credentials(username="u", password=Secret("pw"), source="test")

    def handler(request, n):
        if request.url.host == HOST:
            if "authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
            return httpx.Response(307, headers={"Location": "https://blobs.example/data?sig=1"})
        return httpx.Response(200, content=BLOB)

    client, script, _ = make_client(handler, credentials=credentials)
    client.download_blob("app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB))
    to_blob_store = [r for r in script.requests if r.url.host == "blobs.example"]
    assert to_blob_store
    assert all("authorization" not in r.headers for r in to_blob_store)
    assert any("authorization" in r.headers for r in script.requests if r.url.host == HOST)


# --- bearer tokens --------------------------------------------------------------------------------


def test_bearer_token_is_cached_until_expiry() -> None:
    clock = MutableClock()
    issued: list[str] = []

    def handler(request, n):
        if request.url.host == "auth.test":
            token = f"token-{len(issued)}"
            issued.append(token)
            return httpx.Response(200, json={"token": token, "expires_in": 300})
        if request.headers.get("authorization") != f"Bearer {issued[-1] if issued else ''}":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="registry.test",'
                    'scope="repository:app:pull"'
                },
            )
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, script, _ = make_client(handler, clock=clock)
    client.get_manifest("app", "v1")
    client.get_manifest("app", "v1")
    assert issued == ["token-0"]
    token_request = next(r for r in script.requests if r.url.host == "auth.test")
    assert token_request.url.params.get_list("scope") == ["repository:app:pull"]
    assert token_request.url.params["service"] == "registry.test"
    clock.at += timedelta(seconds=400)
    client.get_manifest("app", "v1")
    assert issued == ["token-0", "token-1"]


def test_identity_token_uses_the_oauth2_refresh_grant() -> None:
    credentials = Credentials(identity_token=Secret("refresh-abc"), source="test")
    forms: list[dict[str, list[str]]] = []

    def handler(request, n):
        if request.url.host == "auth.test":
            from urllib.parse import parse_qs

            forms.append(parse_qs(request.content.decode()))
            assert request.method == "POST"
            return httpx.Response(200, json={"access_token": "acc"})
        if request.headers.get("authorization") != "Bearer acc":
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="registry.test"'}
            )
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, _, _ = make_client(handler, credentials=credentials)
    client.get_manifest("app", "v1")
    assert forms[0]["grant_type"] == ["refresh_token"]
    assert forms[0]["refresh_token"] == ["refresh-abc"]
    assert forms[0]["scope"] == ["repository:app:pull"]


def test_challenge_without_realm_is_a_clear_error() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(401, headers={"WWW-Authenticate": 'Bearer service="x"'}))
    with pytest.raises(RegistryAuthError) as caught:
        client.ping()
    assert "realm" in caught.value.message


def test_unknown_challenge_scheme() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(401, headers={"WWW-Authenticate": 'Negotiate x="y"'}))
    with pytest.raises(RegistryAuthError) as caught:
        client.ping()
    assert "negotiate" in caught.value.message


def test_wrong_media_type_is_refused_when_parsed() -> None:
    client, _, _ = make_client(
        lambda r, n: httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_INDEX})
    )
    fetched = client.get_manifest("app", "v1")
    with pytest.raises(ManifestError) as caught:
        fetched.parse()
    assert mt.OCI_INDEX in caught.value.message


def test_manifest_without_any_media_type() -> None:
    body = json.dumps({"schemaVersion": 2, "layers": []}).encode()
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=body, headers={"Content-Type": ""}))
    with pytest.raises(ManifestError) as caught:
        client.get_manifest("app", "v1")
    assert "no media type" in caught.value.message


def test_expired_refresh_token_falls_back_to_the_password() -> None:
    from urllib.parse import parse_qs

    credentials = Credentials(username="u", password=Secret("pw"), source="test")
    clock = MutableClock()
    grants: list[str] = []

    def handler(request, n):
        if request.url.host == "auth.test":
            if request.method == "POST":
                grants.append(parse_qs(request.content.decode())["grant_type"][0])
                return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED"}]})  # refresh token expired
            grants.append("password")
            assert request.headers["authorization"].startswith("Basic ")
            return httpx.Response(200, json={"token": f"t{n}", "refresh_token": "r1", "expires_in": 60})
        if not request.headers.get("authorization", "").startswith("Bearer t"):
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="registry.test"'}
            )
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": mt.OCI_MANIFEST})

    client, _, _ = make_client(handler, credentials=credentials, clock=clock)
    client.get_manifest("app", "v1")
    assert grants == ["password"]
    clock.at += timedelta(seconds=120)  # token expired: the refresh token is tried, refused, password again
    client.get_manifest("app", "v1")
    assert grants == ["password", "refresh_token", "password"]


def test_fetch_blob_is_capped_and_verified() -> None:
    client, _, _ = make_client(lambda r, n: httpx.Response(200, content=BLOB))
    assert client.fetch_blob("app", BLOB_DIGEST, size=len(BLOB), max_bytes=len(BLOB)) == BLOB
    with pytest.raises(ManifestError):
        client.fetch_blob("app", BLOB_DIGEST, size=len(BLOB), max_bytes=100)
    with pytest.raises(ManifestError):
        client.fetch_blob("app", BLOB_DIGEST, max_bytes=100)  # size unknown: stops reading past the cap
    altered, _, _ = make_client(lambda r, n: httpx.Response(200, content=BLOB[:-1] + b"!"))
    with pytest.raises(DigestMismatchError):
        altered.fetch_blob("app", BLOB_DIGEST, max_bytes=len(BLOB))


def test_flooding_token_service_is_refused() -> None:
    def flood() -> Iterator[bytes]:
        for _ in range(100_000):
            yield b"x" * 65536

    def handler(request, n):
        if request.url.host == "auth.test":
            return httpx.Response(200, content=flood())
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token"'})

    client, _, _ = make_client(handler)
    with pytest.raises(RegistryUnavailableError) as caught:
        client.ping()
    assert "oversized" in caught.value.message
