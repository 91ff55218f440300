"""The OCI 1.1 referrers API path, scripted (docker-registry 2.8 has no such API)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from wharfinger.errors import RegistryError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.referrers import (
    TAG_SCHEMA_ATTEMPTS,
    TAG_SCHEMA_SETTLE_S,
    attach_artifact,
    fallback_tag,
    list_referrers,
    push_referrer,
)

SUBJECT = "sha256:" + "ab" * 32
SBOM = "application/vnd.cyclonedx+json"
SIG = "application/vnd.cncf.notary.signature"


def _entry(n: int) -> dict[str, object]:
    return {
        "mediaType": mt.OCI_MANIFEST,
        "digest": f"sha256:{n:064x}",
        "size": 500,
        "artifactType": SBOM if n % 2 else SIG,
    }


def _client(handler, **settings) -> RegistryClient:
    return RegistryClient(
        "reg.test",
        settings=RegistrySettings(**settings),
        transport=httpx.MockTransport(handler),
        sleep=lambda _s: None,
        scheme="https",
    )


def _index_reply(entries, *, next_url=None, filtered=False) -> httpx.Response:
    headers = {"Content-Type": mt.OCI_INDEX}
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
    if filtered:
        headers["OCI-Filters-Applied"] = "artifactType"
    body = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()
    return httpx.Response(200, content=body, headers=headers)


def test_api_pages_are_followed_and_filtered_client_side_when_the_registry_did_not() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.url.path == f"/v2/app/referrers/{SUBJECT}"
        if request.url.params.get("page") == "2":
            return _index_reply([_entry(n) for n in range(10, 20)])
        return _index_reply([_entry(n) for n in range(10)], next_url=f"/v2/app/referrers/{SUBJECT}?page=2")

    found = list_referrers(_client(handler), "app", SUBJECT, artifact_type=SBOM)
    assert found.source == "api"
    assert len(found.descriptors) == 10
    assert all(d.artifact_type == SBOM for d in found.descriptors)
    assert seen[0].params["artifactType"] == SBOM
    assert len(seen) == 2


def test_filter_applied_by_the_registry_is_trusted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _index_reply([_entry(1), _entry(3)], filtered=True)

    found = list_referrers(_client(handler), "app", SUBJECT, artifact_type=SBOM)
    assert [d.digest for d in found.descriptors] == [_entry(1)["digest"], _entry(3)["digest"]]


def test_thousands_of_referrers_are_bounded() -> None:
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "0"))
        pages.append(page)
        entries = [_entry(page * 500 + n) for n in range(500)]
        return _index_reply(entries, next_url=f"/v2/app/referrers/{SUBJECT}?page={page + 1}")  # 5000+ in all

    found = list_referrers(_client(handler, max_referrers=2000), "app", SUBJECT)
    assert found.truncated
    assert len(found.descriptors) == 2000
    assert len(pages) == 4  # stopped reading once the bound was reached


def test_no_api_falls_back_to_the_tag_schema() -> None:
    tag = fallback_tag(SUBJECT)
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [_entry(1), _entry(2)]}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if "/referrers/" in request.url.path:
            return httpx.Response(404, content=b"404 page not found")
        assert request.url.path == f"/v2/app/manifests/{tag}"
        return httpx.Response(200, content=index, headers={"Content-Type": mt.OCI_INDEX})

    found = list_referrers(_client(handler), "app", SUBJECT, artifact_type=SIG)
    assert found.source == "tag-schema"
    assert [d.digest for d in found.descriptors] == [_entry(2)["digest"]]


def test_registry_with_the_api_needs_no_tag_schema_update() -> None:
    puts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/app/blobs/uploads/1"})
        if request.method == "PUT" and "/blobs/" in request.url.path:
            return httpx.Response(201)
        if request.method == "PUT":
            puts.append(request.url.path)
            digest = "sha256:" + hashlib.sha256(request.content).hexdigest()
            return httpx.Response(201, headers={"OCI-Subject": SUBJECT, "Docker-Content-Digest": digest})
        raise AssertionError(f"unexpected {request.method} {request.url}")

    subject = Descriptor(media_type=mt.OCI_MANIFEST, digest=SUBJECT, size=1234)
    attach_artifact(_client(handler), "app", subject, SBOM, [(SBOM, b"{}")])
    assert len(puts) == 1  # the artifact only; no sha256-… index
    assert fallback_tag(SUBJECT) not in puts[0]


class _TagSchemaRegistry:
    """Manifests by reference in memory, no referrers API; ``rival`` may overwrite the fallback tag after a PUT."""

    def __init__(self, rival_pushes: int) -> None:
        self.manifests: dict[str, bytes] = {}
        self.rival_pushes = rival_pushes  # how many of our index pushes a racing writer overwrites
        self.index_puts = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        reference = request.url.path.rsplit("/", 1)[1]
        if "/referrers/" in request.url.path:
            return httpx.Response(404)
        if request.method == "PUT":
            self.manifests[reference] = request.content
            if reference == fallback_tag(SUBJECT):
                self.index_puts += 1
                if self.index_puts <= self.rival_pushes:  # a writer that read before us lands after us
                    rival = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [_entry(self.index_puts)]}
                    self.manifests[reference] = json.dumps(rival).encode()
            digest = "sha256:" + hashlib.sha256(request.content).hexdigest()
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if request.method == "GET" and reference in self.manifests:
            return httpx.Response(200, content=self.manifests[reference], headers={"Content-Type": mt.OCI_INDEX})
        return httpx.Response(404)


def _referrer() -> bytes:
    empty = {"mediaType": mt.OCI_EMPTY, "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "size": 2}
    return json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": SBOM, "config": empty, "layers": [empty],
        "subject": {"mediaType": mt.OCI_MANIFEST, "digest": SUBJECT, "size": 1234},
    }).encode()  # fmt: skip


def test_a_tag_schema_write_lost_to_a_racing_writer_is_merged_again() -> None:
    registry = _TagSchemaRegistry(rival_pushes=2)
    waits: list[float] = []
    pushed = push_referrer(_client(registry.handler), "app", _referrer(), mt.OCI_MANIFEST, sleep=waits.append)
    index = json.loads(registry.manifests[fallback_tag(SUBJECT)])
    digests = {m["digest"] for m in index["manifests"]}
    assert pushed.digest in digests
    assert _entry(2)["digest"] in digests  # the rival's entry is kept, not overwritten in turn
    assert registry.index_puts == 3
    assert len(waits) == 3  # a settle wait after each push, growing
    assert waits[0] < waits[2]


def test_a_write_that_keeps_being_lost_gives_up_with_a_clear_error() -> None:
    registry = _TagSchemaRegistry(rival_pushes=1000)
    waits: list[float] = []
    with pytest.raises(RegistryError, match="concurrent writers") as caught:
        push_referrer(_client(registry.handler), "app", _referrer(), mt.OCI_MANIFEST, sleep=waits.append)
    assert "re-run" in (caught.value.hint or "")
    assert registry.index_puts == TAG_SCHEMA_ATTEMPTS
    assert sum(waits) < TAG_SCHEMA_SETTLE_S * 2**TAG_SCHEMA_ATTEMPTS * 1.5  # bounded: seconds, not minutes
