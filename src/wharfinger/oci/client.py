"""The one registry client of Wharfinger: OCI distribution API v2 over httpx (edge).

``RegistryClient`` talks to one registry host through one ``httpx.Client`` (HTTP/1.1; HTTP/2 over
TLS when ``RegistrySettings.http2`` is set). Its transport is a constructor argument, so unit
tests script the replies a real registry will not produce on demand (``httpx.MockTransport``); everything else is
tested against the real ``docker-registry``.

What every request goes through, in order (``_request``):

1. ``HostAuth.header_for(scopes)`` adds credentials up front once the host's scheme is known.
2. Redirects are followed by hand (``_send_following_redirects``): at most
   ``max_redirects``, a revisited URL is a loop, and **the Authorization header is dropped as soon
   as a redirect leaves the registry's origin** - blob stores behind redirects never see it.
3. ``401`` → ``HostAuth.answer`` (Basic, or a Bearer token for the scopes), then one retry.
4. ``429`` / ``5xx`` / connection failures → exponential backoff (``backoff_initial`` doubling,
   capped by ``backoff_max``), honouring ``Retry-After``; after ``max_retries`` a
   ``RegistryUnavailableError``.
5. The status becomes a result or an error: ``RegistryAuthError`` (401/403, hint ``docker login``),
   ``RegistryNotFoundError`` (404), ``RegistryError`` for anything else the registry refuses.

Content is verified where it enters: manifests by digest (and against ``Docker-Content-Digest``),
blobs while they stream (``DigestVerifier``), with ``Range`` resumption after a broken transfer.
"""

from __future__ import annotations

import io
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Protocol
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

from wharfinger import __version__
from wharfinger.clock import Clock, SystemClock
from wharfinger.errors import (
    DigestMismatchError,
    ManifestError,
    RegistryError,
    RegistryNotFoundError,
    RegistryUnavailableError,
)
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.auth import CredentialProvider, Credentials, HostAuth, default_credentials
from wharfinger.oci.digest import DigestVerifier, compute_digest, parse_digest
from wharfinger.oci.httpstack import trust_context, tune_http11_reads
from wharfinger.oci.manifest import DEFAULT_MAX_MANIFEST_BYTES, Descriptor, Manifest, parse_manifest
from wharfinger.oci.settings import Settings

__all__ = [
    "FetchedManifest",
    "PushedManifest",
    "RegistryClient",
    "RegistrySettings",
    "connect",
    "pull_scope",
    "push_scope",
]

log = logging.getLogger(__name__)

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_RETRYABLE: Final = frozenset({408, 429, 500, 502, 503, 504})
_COPY_CHUNK: Final = 1 << 20  # bytes read per step while streaming a blob

tune_http11_reads()  # 1 MiB socket reads for blob bodies (oci.httpstack says why)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrySettings:
    """Safe limits and connection settings, each with its unit. Built once by the CLI or service."""

    max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES  # bytes; larger manifests are refused
    max_json_bytes: int = 4 * 1024 * 1024  # bytes; tag lists, catalog pages, referrers indexes
    max_retries: int = 4  # retries after the first try on 429/5xx/connection errors
    backoff_initial: float = 0.5  # seconds; doubles per retry
    backoff_max: float = 20.0  # seconds; also caps Retry-After
    max_redirects: int = 5
    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 60.0  # seconds between two reads
    # HTTP/2 is offered over TLS (ALPN) only when asked for: with Python's h2, all layers multiplexed on
    # one connection pulled ~1.6x slower than parallel HTTP/1.1 connections (docs/benchmarks.md).
    http2: bool = False
    ca_bundle: Path | None = None  # extra PEM CAs trusted besides the system store
    insecure_hosts: frozenset[str] = frozenset()  # hosts reached without TLS verification / over HTTP
    chunk_size: int = 8 * 1024 * 1024  # bytes per PATCH in chunked uploads
    monolithic_max: int = 32 * 1024 * 1024  # bytes; larger blobs are pushed in chunks
    page_size: int = 1000  # n= for tag and catalog pages
    max_pages: int = 1000  # pages followed through Link headers before giving up
    resume_attempts: int = 3  # Range resumptions of one broken blob download
    max_referrers: int = 10_000  # referrers read for one subject (across pages)
    parallel_downloads: int = 4  # layers fetched at once by a pull
    user_agent: str = f"wharfinger/{__version__}"

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistrySettings:
        """The client's limits from the one ``oci.Settings`` the CLI or service built."""
        return cls(
            max_manifest_bytes=settings.max_manifest_bytes,
            max_retries=settings.max_retries,
            backoff_max=settings.max_backoff,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            insecure_hosts=settings.insecure_hosts,
            parallel_downloads=settings.parallel_downloads,
            max_referrers=settings.max_referrers,
            ca_bundle=settings.ca_bundle,
            http2=settings.http2,
        )


def connect(
    host: str,
    *,
    settings: Settings,
    credentials: CredentialProvider | None = None,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> RegistryClient:
    """A client for ``host``; credentials default to the environment and docker's config.json."""
    if credentials is None:
        environ = os.environ if env is None else env
        credentials = default_credentials(environ, Path(environ.get("HOME") or Path.home()))
    return RegistryClient(
        host, settings=RegistrySettings.from_settings(settings), credentials=credentials, transport=transport
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedManifest:
    """Manifest bytes as served, with the media type and the digest they were verified against."""

    media_type: str
    digest: str
    data: bytes = field(repr=False)

    def parse(self, *, max_bytes: int = DEFAULT_MAX_MANIFEST_BYTES) -> Manifest:
        return parse_manifest(self.data, self.media_type, max_bytes=max_bytes)

    def descriptor(self) -> Descriptor:
        return Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.data))


class _Writer(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PushedManifest:
    digest: str
    size: int
    media_type: str
    subject: str | None  # the registry's OCI-Subject header: it indexed the manifest as a referrer

    def descriptor(self) -> Descriptor:
        return Descriptor(media_type=self.media_type, digest=self.digest, size=self.size)


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class RegistryClient:
    """A client for one registry host (``registry.example:5000``). Thread-safe; close it when done."""

    def __init__(
        self,
        host: str,
        *,
        settings: RegistrySettings | None = None,
        credentials: CredentialProvider | Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        scheme: str | None = None,
    ) -> None:
        self.host = host
        self.settings = settings or RegistrySettings()
        self._clock = clock or SystemClock()
        self._sleep = sleep
        found = (
            credentials.credentials_for(host)
            if credentials is not None and not isinstance(credentials, Credentials)
            else credentials
        )
        self._insecure = host in self.settings.insecure_hosts
        self._http = self._make_http(transport)
        self._scheme = scheme  # decided on first use when None (insecure hosts may speak plain HTTP)
        self.http_version: str | None = None  # "HTTP/1.1" or "HTTP/2" as negotiated; None before the first reply
        self._auth = HostAuth(
            host=host, credentials=found, http=self._http, clock=self._clock, allow_plain_http=self._insecure
        )

    # -- plumbing ---------------------------------------------------------------------------------

    def _make_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        timeout = httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)
        headers = {"User-Agent": self.settings.user_agent}
        if transport is not None:
            return httpx.Client(transport=transport, timeout=timeout, headers=headers, follow_redirects=False)
        try:
            context = trust_context(self.settings.ca_bundle)  # the system store loads on the first handshake
        except (OSError, ssl.SSLError) as exc:
            raise RegistryUnavailableError(
                f"cannot load the CA bundle {self.settings.ca_bundle}: {exc}",
                hint="point --ca-bundle / ca_bundle at a PEM file of CA certificates",
            ) from exc
        mounts: dict[str, httpx.BaseTransport | None] = {}
        if self._insecure:
            # Only this host skips verification; a redirect elsewhere is verified as usual.
            mounts[f"https://{self.host}"] = httpx.HTTPTransport(verify=False, http2=self.settings.http2)
        return httpx.Client(
            verify=context,
            http2=self.settings.http2,
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            mounts=mounts,
            limits=httpx.Limits(max_connections=max(10, self.settings.parallel_downloads * 2)),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:  # noqa: PYI034 -- final class in practice; keeps mypy simple
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        if self._scheme is None:
            self._scheme = self._probe_scheme()
        return f"{self._scheme}://{self.host}"

    def _probe_scheme(self) -> str:
        """HTTPS always, except an insecure host that only speaks plain HTTP."""
        if not self._insecure:
            return "https"
        try:
            self._http.get(f"https://{self.host}/v2/").close()
        except httpx.HTTPError:
            log.debug("insecure host speaks plain http", extra={"event": "oci.client.plain_http", "host": self.host})
            return "http"
        return "https"

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry ``attempt``: ``Retry-After`` if given, else exponential."""
        delay = min(self.settings.backoff_initial * (2**attempt), self.settings.backoff_max)
        retry_after = response.headers.get("retry-after") if response is not None else None
        asked = _retry_after_seconds(retry_after, self._clock.now()) if retry_after else None
        return delay if asked is None else min(asked, self.settings.backoff_max)

    def _note_http_version(self, version: str) -> None:
        """Record the protocol the registry answered with; logged when it changes (``--http2`` is only an offer)."""
        if version != self.http_version:
            self.http_version = version
            log.debug(
                "registry protocol %s",
                version,
                extra={"event": "oci.client.protocol", "host": self.host, "http_version": version},
            )

    def _send_following_redirects(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> httpx.Response:
        registry_origin = _origin(self.base_url)
        current = url
        sent_headers = dict(headers)
        visited: set[str] = set()
        for _hop in range(self.settings.max_redirects + 1):
            if _origin(current) != registry_origin:
                # Never hand the registry's credentials to another host (blob stores, CDNs).
                sent_headers.pop("Authorization", None)
            request = self._http.build_request(method, current, headers=sent_headers, content=content)
            response = self._http.send(request, stream=True)
            if _origin(current) == registry_origin:
                self._note_http_version(response.http_version)
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                return response
            response.close()
            visited.add(current)
            target = urljoin(current, response.headers["location"])
            if target in visited:
                raise RegistryError(
                    f"{self.host} redirected {method} {urlsplit(url).path} in a loop (back to {_safe_url(target)})",
                    hint="the registry or its storage is misconfigured; report it to its operator",
                )
            if response.status_code == 303:  # noqa: PLR2004 -- See Other: fetch the target with GET
                method, content = "GET", None
            current = target
        raise RegistryError(
            f"{self.host} redirected {method} {urlsplit(url).path} more than {self.settings.max_redirects} times",
            hint="the registry or its storage is misconfigured; report it to its operator",
        )

    def _request(
        self,
        method: str,
        url: str,
        *,
        scopes: Sequence[str],
        what: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        ok: frozenset[int] = frozenset({200}),
        stream: bool = False,
    ) -> httpx.Response:
        """Send with auth, redirects, retries; return a response whose status is in ``ok``.

        With ``stream`` the body is not read: the caller must close the response.
        """
        base_headers = dict(headers or {})
        authorization = self._auth.header_for(scopes)
        answered = False
        attempt = 0
        while True:
            sent = dict(base_headers)
            if authorization is not None:
                sent["Authorization"] = authorization
            try:
                response = self._send_following_redirects(method, url, sent, content)
            except httpx.TransportError as exc:
                if _is_certificate_error(exc):
                    raise RegistryUnavailableError(
                        f"the TLS certificate of {self.host} is not trusted: {_describe_transport_error(exc)}",
                        hint="pass the registry's CA with --ca-bundle (or list the host with --insecure "
                        "if you accept an unverified connection)",
                    ) from exc
                if attempt >= self.settings.max_retries:
                    raise RegistryUnavailableError(
                        f"{self.host} cannot be reached for {what}: {_describe_transport_error(exc)}",
                        hint="check that the registry is up and the address is right; retry later",
                    ) from exc
                self._sleep(self._backoff(attempt, None))
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and not answered:  # noqa: PLR2004
                challenge = response.headers.get("www-authenticate")
                response.close()
                authorization = self._auth.answer(challenge, scopes, what=what)
                answered = True
                continue
            if status in _RETRYABLE:
                delay = self._backoff(attempt, response)
                response.close()
                if attempt >= self.settings.max_retries:
                    raise RegistryUnavailableError(
                        f"{self.host} kept answering HTTP {status} for {what} ({self.settings.max_retries + 1} tries)",
                        hint="the registry is overloaded or failing; retry later"
                        + (" (rate limited: HTTP 429)" if status == 429 else ""),  # noqa: PLR2004
                    )
                log.info(
                    "registry retry",
                    extra={"event": "oci.client.retry", "host": self.host, "status": status, "delay_s": delay},
                )
                self._sleep(delay)
                attempt += 1
                continue
            if status in ok:
                if not stream:
                    try:
                        response.read()
                    except httpx.TransportError as exc:
                        response.close()
                        raise RegistryUnavailableError(
                            f"{self.host} broke off the reply to {what}: {_describe_transport_error(exc)}",
                            hint="retry later",
                        ) from exc
                return response
            detail = _registry_error_detail(response)
            response.close()
            if status in {401, 403}:
                raise self._auth.refused(what, status)
            if status == 404:  # noqa: PLR2004
                raise RegistryNotFoundError(
                    f"{what}: not found on {self.host}{detail}",
                    hint="check the repository name, tag or digest (and that you may see it)",
                )
            raise RegistryError(
                f"{self.host} refused {what} (HTTP {status}){detail}",
                hint="check the request; if the registry is at fault, report it to its operator",
            )

    # -- API: ping, manifests ----------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: reachable and speaking the v2 API (authenticates when challenged)."""
        self._request("GET", self.url("/v2/"), scopes=(), what="the API version check").close()

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """GET a manifest by tag or digest; verified against the digest and ``Docker-Content-Digest``."""
        what = f"manifest {repository}:{reference}" if ":" not in reference else f"manifest {repository}@{reference}"
        response = self._request(
            "GET",
            self.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=(pull_scope(repository),),
            what=what,
            headers={"Accept": mt.ACCEPT_MANIFESTS},
            stream=True,
        )
        with closing(response):
            data = _read_capped(response, self.settings.max_manifest_bytes, what, self.host)
        media_type = _content_media_type(response.headers)
        return self._verified_manifest(reference, data, media_type, response.headers, what)

    def _verified_manifest(
        self,
        reference: str,
        data: bytes,
        media_type: str,
        headers: httpx.Headers,
        what: str,
    ) -> FetchedManifest:
        if media_type in mt.SCHEMA1_TYPES:
            raise ManifestError(
                f"{what} on {self.host} is a Docker schema 1 manifest", hint="push the image again with a current tool"
            )
        header_digest = headers.get("docker-content-digest")
        if ":" in reference:  # pinned: the content must hash to the digest we asked for
            expected = parse_digest(reference)
            verifier = DigestVerifier(expected, what=f"{what} from {self.host}")
            verifier.update(data)
            verifier.verify()
            digest = reference
        else:
            algorithm = "sha256"
            if header_digest:
                algorithm = header_digest.partition(":")[0] or "sha256"
            digest = str(compute_digest(data, algorithm if algorithm in {"sha256", "sha512"} else "sha256"))
            if header_digest and header_digest != digest:
                raise DigestMismatchError(
                    f"{what}: {self.host} says its digest is {header_digest} but the content hashes to {digest}",
                    hint="the registry or a proxy altered the manifest; do not trust it",
                )
        if not media_type or media_type in {"application/json", "text/plain", "application/octet-stream"}:
            media_type = _sniff_media_type(data) or media_type
        if not media_type:
            raise ManifestError(
                f"{what} on {self.host} has no media type (no Content-Type, no mediaType field)",
                hint="the registry is not serving a valid manifest",
            )
        return FetchedManifest(media_type=media_type, digest=digest, data=data)

    def head_manifest(self, repository: str, reference: str) -> Descriptor:
        """Resolve a tag (or check a digest) with HEAD; falls back to GET when no digest header."""
        what = f"manifest {repository}:{reference}"
        response = self._request(
            "HEAD",
            self.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=(pull_scope(repository),),
            what=what,
            headers={"Accept": mt.ACCEPT_MANIFESTS},
        )
        digest = response.headers.get("docker-content-digest")
        media_type = _content_media_type(response.headers)
        length = response.headers.get("content-length")
        if not digest or not media_type or not length or not length.isdigit():
            return self.get_manifest(repository, reference).descriptor()
        parse_digest(digest)
        if ":" in reference and digest != reference:
            raise DigestMismatchError(
                f"{what}: {self.host} answered with digest {digest}", hint="the registry is inconsistent"
            )
        size = int(length)
        if size > self.settings.max_manifest_bytes:
            raise ManifestError(
                f"{what} on {self.host} is {size} bytes, over the {self.settings.max_manifest_bytes}-byte limit",
                hint="a real manifest is a few KiB; raise max_manifest_bytes only for a source you trust",
            )
        return Descriptor(media_type=media_type, digest=digest, size=size)

    def resolve(self, repository: str, tag: str) -> str:
        """The digest a tag points to now."""
        return self.head_manifest(repository, tag).digest

    def push_manifest(self, repository: str, data: bytes, media_type: str, *, tag: str | None = None) -> str:
        """PUT a manifest by tag (or by its digest when ``tag`` is None); return its digest."""
        return self.put_manifest(repository, data, media_type, tag=tag).digest

    def put_manifest(self, repository: str, data: bytes, media_type: str, *, tag: str | None = None) -> PushedManifest:
        """PUT a manifest; the result also says whether the registry took note of a ``subject``."""
        if len(data) > self.settings.max_manifest_bytes:
            raise ManifestError(
                f"refusing to push a {len(data)}-byte manifest (limit {self.settings.max_manifest_bytes})",
                hint="registries refuse manifests over 4 MiB",
            )
        digest = str(compute_digest(data))
        reference = tag or digest
        response = self._request(
            "PUT",
            self.url(f"/v2/{repository}/manifests/{reference}"),
            scopes=(push_scope(repository),),
            what=f"push of manifest {repository}:{reference}",
            headers={"Content-Type": media_type},
            content=data,
            ok=frozenset({200, 201, 202}),
        )
        answered = response.headers.get("docker-content-digest")
        if answered and answered != digest:
            raise DigestMismatchError(
                f"{self.host} stored the manifest for {repository}:{reference} as {answered}, we sent {digest}",
                hint="the registry rewrote the manifest; do not rely on the pushed digest",
            )
        return PushedManifest(
            digest=digest, size=len(data), media_type=media_type, subject=response.headers.get("oci-subject")
        )

    def referrers_page(self, url_or_path: str, repository: str) -> tuple[FetchedManifest, str | None, bool] | None:
        """One page of ``GET /v2/<name>/referrers/<digest>``: (index, next page URL, filter applied).

        None when the registry has no referrers API (404), so the caller falls back to the tag schema.
        """
        url = url_or_path if "://" in url_or_path else f"{self.base_url}{url_or_path}"
        what = f"referrers in {repository}"
        try:
            response = self._request(
                "GET",
                url,
                scopes=(pull_scope(repository),),
                what=what,
                headers={"Accept": mt.OCI_INDEX},
                stream=True,
            )
        except RegistryNotFoundError:
            return None
        with closing(response):
            data = _read_capped(response, self.settings.max_json_bytes, what, self.host)
        media_type = _content_media_type(response.headers)
        if media_type != mt.OCI_INDEX:
            # A registry without the API may answer some other page (HTML, JSON error) with 200.
            return None
        next_link = response.links.get("next", {}).get("url")
        applied = "artifacttype" in response.headers.get("oci-filters-applied", "").lower()
        fetched = FetchedManifest(media_type=media_type, digest=str(compute_digest(data)), data=data)
        return fetched, (urljoin(url, next_link) if next_link else None), applied

    def delete_manifest(self, repository: str, digest: str) -> None:
        """DELETE a manifest by digest (registries delete content, not tags)."""
        parse_digest(digest)
        self._request(
            "DELETE",
            self.url(f"/v2/{repository}/manifests/{digest}"),
            scopes=(f"repository:{repository}:delete",),
            what=f"deletion of {repository}@{digest}",
            ok=frozenset({200, 202}),
        )

    # -- API: tags, catalog ------------------------------------------------------------------------

    def _paged(self, path: str, key: str, scopes: Sequence[str], what: str) -> Iterator[str]:
        url: str | None = self.url(path, {"n": str(self.settings.page_size)})
        pages = 0
        while url is not None:
            pages += 1
            if pages > self.settings.max_pages:
                raise RegistryError(
                    f"{what} on {self.host} has more than {self.settings.max_pages} pages",
                    hint="raise max_pages if the registry is really that large",
                )
            response = self._request("GET", url, scopes=scopes, what=what, stream=True)
            with closing(response):
                data = _read_capped(response, self.settings.max_json_bytes, what, self.host)
            document = _json_object(data, what, self.host)
            values = document.get(key) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise RegistryError(f"{what} on {self.host}: {key!r} is not a list of strings", hint="report it")
            yield from values
            next_link = response.links.get("next", {}).get("url")
            url = urljoin(url, next_link) if next_link else None

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, following ``Link`` pagination."""
        return list(
            self._paged(f"/v2/{repository}/tags/list", "tags", (pull_scope(repository),), f"tags of {repository}")
        )

    def catalog(self) -> list[str]:
        """Every repository (``/v2/_catalog``), following ``Link`` pagination."""
        return list(self._paged("/v2/_catalog", "repositories", ("registry:catalog:*",), "the catalog"))

    # -- API: blobs --------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        try:
            self._request(
                "HEAD",
                self.url(f"/v2/{repository}/blobs/{digest}"),
                scopes=(pull_scope(repository),),
                what=f"blob {repository}@{digest}",
            )
        except RegistryNotFoundError:
            return False
        return True

    def blob_stream(self, repository: str, digest: str, *, size: int | None = None, verify: bool = True) -> BinaryIO:
        """A blob as a stream (the caller closes it); reading to the end verifies digest and size.

        ``verify=False`` is for readers that verify what they are given themselves (the blob
        cache's writer, as with ``download_blob``), so the bytes are hashed once.
        """
        verifier = DigestVerifier(digest, expected_size=size, what=f"blob {repository}@{digest}") if verify else None
        response = self._request(
            "GET",
            self.url(f"/v2/{repository}/blobs/{digest}"),
            scopes=(pull_scope(repository),),
            what=f"blob {repository}@{digest}",
            stream=True,
        )
        return io.BufferedReader(_VerifyingResponseReader(response, verifier, self.host), buffer_size=_COPY_CHUNK)

    @contextmanager
    def open_blob(self, repository: str, digest: str, *, size: int | None = None) -> Iterator[BinaryIO]:
        """Stream a blob; reading it to the end verifies digest (and size): never all in memory."""
        reader = self.blob_stream(repository, digest, size=size)
        try:
            yield reader
        finally:
            reader.close()

    def fetch_blob(self, repository: str, digest: str, *, size: int | None = None, max_bytes: int) -> bytes:
        """A small blob (signature envelope, SBOM, config) whole, verified, refused above ``max_bytes``."""
        if size is not None and size > max_bytes:
            raise ManifestError(
                f"blob {repository}@{digest} is {size} bytes, over the {max_bytes}-byte limit for it",
                hint="the descriptor is wrong or hostile; raise the limit only for a source you trust",
            )
        with self.open_blob(repository, digest, size=size) as stream:
            data = stream.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ManifestError(
                    f"blob {repository}@{digest} is over the {max_bytes}-byte limit for it",
                    hint="the registry sent more than expected; raise the limit only for a source you trust",
                )
            stream.read(1)  # at EOF already; makes sure the end-of-stream verification ran
        return data

    def download_blob(
        self, repository: str, digest: str, sink: _Writer, *, size: int | None = None, verify: bool = True
    ) -> int:
        """Write a blob into ``sink`` (anything with ``write``), verified; resume with ``Range`` after a break.

        Returns the number of bytes written. A blob that stays short or hashes wrong raises
        ``DigestMismatchError``; a registry that keeps breaking off raises ``RegistryUnavailableError``.
        ``verify=False`` is for sinks that verify what they are given themselves (the blob cache's
        writer), so the bytes are hashed once.
        """
        what = f"blob {repository}@{digest}"
        parse_digest(digest)
        verifier = DigestVerifier(digest, expected_size=size, what=what)
        written = 0
        breaks = 0
        while True:
            headers = {"Range": f"bytes={written}-"} if written else {}
            response = self._request(
                "GET",
                self.url(f"/v2/{repository}/blobs/{digest}"),
                scopes=(pull_scope(repository),),
                what=what,
                headers=headers,
                ok=frozenset({200, 206}),
                stream=True,
            )
            with closing(response):
                # A server that ignores Range (200) sends everything again: skip what we have. The
                # digest, checked over all bytes written, still catches content that changed meanwhile.
                skip = written if written and not _continues_at(response, written) else 0
                try:
                    for received in _iter_body(response):
                        chunk = received
                        if skip:
                            dropped = min(skip, len(chunk))
                            chunk, skip = chunk[dropped:], skip - dropped
                            if not chunk:
                                continue
                        if size is not None and written + len(chunk) > size:
                            raise DigestMismatchError(
                                f"{what} is larger than its declared size {size} bytes",
                                hint="the registry is corrupt or hostile; do not trust it",
                            )
                        if verify:
                            verifier.update(chunk)
                        sink.write(chunk)
                        written += len(chunk)
                except httpx.TransportError as exc:
                    breaks += 1
                    if breaks > self.settings.resume_attempts:
                        raise RegistryUnavailableError(
                            f"{self.host} broke off {what} {breaks} times "
                            f"(last after {written} bytes: {_describe_transport_error(exc)})",
                            hint="the network or the registry is unstable; retry later",
                        ) from exc
                    log.info(
                        "blob download resumed",
                        extra={"event": "oci.blob.resume", "host": self.host, "digest": digest, "offset": written},
                    )
                    continue
            if size is not None and written < size and breaks < self.settings.resume_attempts:
                breaks += 1  # a clean but short body: ask for the rest
                continue
            if verify:
                verifier.verify()
            return written

    def push_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        source: bytes | Path,
        *,
        mount_from: str | None = None,
        chunked: bool | None = None,
    ) -> None:
        """Upload a blob unless the registry has it: mount from ``mount_from``, else monolithic or chunked.

        ``chunked`` None means chunked above ``monolithic_max`` bytes.
        """
        parse_digest(digest)
        if self.blob_exists(repository, digest):
            return
        scopes: tuple[str, ...] = (push_scope(repository),)
        params: dict[str, str] = {}
        if mount_from is not None and mount_from != repository:
            scopes = (*scopes, pull_scope(mount_from))
            params = {"mount": digest, "from": mount_from}
        start = self._request(
            "POST",
            self.url(f"/v2/{repository}/blobs/uploads/", params),
            scopes=scopes,
            what=f"upload of blob {digest} to {repository}",
            ok=frozenset({201, 202}),
        )
        if start.status_code == 201:  # noqa: PLR2004 -- mounted: nothing to send
            return
        location = self._location(start, f"upload of blob {digest} to {repository}")
        if chunked is None:
            chunked = size > self.settings.monolithic_max
        if chunked:
            self._upload_chunks(repository, digest, source, location)
        else:
            data = source if isinstance(source, bytes) else source.read_bytes()
            self._finish_upload(repository, digest, location, data)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount; True if the registry mounted it (False: it wants an upload)."""
        response = self._request(
            "POST",
            self.url(f"/v2/{repository}/blobs/uploads/", {"mount": digest, "from": from_repository}),
            scopes=(push_scope(repository), pull_scope(from_repository)),
            what=f"mount of blob {digest} from {from_repository} to {repository}",
            ok=frozenset({201, 202}),
        )
        if response.status_code == 202:  # noqa: PLR2004 -- an upload session we do not need: cancel it
            location = self._location(response, "mount")
            try:
                self._request(
                    "DELETE", location, scopes=(push_scope(repository),), what="cancel", ok=frozenset({204, 200})
                )
            except RegistryError:
                log.debug("upload cancel refused", extra={"event": "oci.blob.cancel_refused", "host": self.host})
            return False
        return True

    def _location(self, response: httpx.Response, what: str) -> str:
        location = response.headers.get("location")
        if not location:
            raise RegistryError(f"{self.host} gave no upload location for {what}", hint="report it to its operator")
        return str(urljoin(str(response.request.url), location))

    def _upload_chunks(self, repository: str, digest: str, source: bytes | Path, location: str) -> None:
        offset = 0
        what = f"chunked upload of blob {digest} to {repository}"
        with _open_source(source) as handle:
            while chunk := handle.read(self.settings.chunk_size):
                response = self._request(
                    "PATCH",
                    location,
                    scopes=(push_scope(repository),),
                    what=what,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                    },
                    content=chunk,
                    ok=frozenset({202}),
                )
                offset += len(chunk)
                location = self._location(response, what)
        self._finish_upload(repository, digest, location, b"")

    def _finish_upload(self, repository: str, digest: str, location: str, data: bytes) -> None:
        parts = urlsplit(location)
        query = f"{parts.query}&" if parts.query else ""
        final = urlunsplit(parts._replace(query=query + urlencode({"digest": digest})))
        self._request(
            "PUT",
            final,
            scopes=(push_scope(repository),),
            what=f"upload of blob {digest} to {repository}",
            headers={"Content-Type": "application/octet-stream"},
            content=data,
            ok=frozenset({201, 204}),
        )


@contextmanager
def _open_source(source: bytes | Path) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    else:
        with source.open("rb") as handle:
            yield handle


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when unreadable."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    import email.utils  # noqa: PLC0415 -- rare path; keeps start-up light

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # unreadable: the caller keeps its exponential delay
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _continues_at(response: httpx.Response, offset: int) -> bool:
    if response.status_code != 206:  # noqa: PLR2004
        return False
    content_range = response.headers.get("content-range", "")
    unit, _, spec = content_range.partition(" ")
    start = spec.partition("-")[0]
    return unit == "bytes" and start.isdigit() and int(start) == offset


class _VerifyingResponseReader(io.RawIOBase):
    """A streamed response body as a raw file, verified at EOF (``DigestMismatchError``)."""

    def __init__(self, response: httpx.Response, verifier: DigestVerifier | None, host: str) -> None:
        super().__init__()
        self._response = response
        self._chunks = _iter_body(response)
        self._pending = b""
        self._verifier = verifier
        self._host = host
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._pending and not self._done:
            try:
                self._pending = next(self._chunks, b"")
            except httpx.TransportError as exc:
                raise RegistryUnavailableError(
                    f"{self._host} broke off a blob download: {_describe_transport_error(exc)}",
                    hint="retry; downloads into the cache resume where they stopped",
                ) from exc
            if not self._pending:
                self._done = True
                if self._verifier is not None:
                    self._verifier.verify()
                return 0
            if self._verifier is not None:
                self._verifier.update(self._pending)
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            super().close()


def _iter_body(response: httpx.Response) -> Iterator[bytes]:
    """The raw body (no content decoding: digests cover the bytes as stored) as it arrives.

    No re-chunking: a chunker would hold back bytes already received when the connection
    breaks, and a resumed download must know exactly how much it has.
    """
    if response.is_stream_consumed:  # already loaded, e.g. by an in-memory transport
        content = response.content
        for start in range(0, len(content), _COPY_CHUNK):
            yield content[start : start + _COPY_CHUNK]
        return
    yield from response.iter_raw()


def _read_capped(response: httpx.Response, limit: int, what: str, host: str) -> bytes:
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise ManifestError(
            f"{what} on {host} is {int(length)} bytes, over the {limit}-byte limit",
            hint="a real manifest is a few KiB; raise the limit only for a source you trust",
        )
    buffer = bytearray()
    try:
        for chunk in _iter_body(response):
            buffer += chunk
            if len(buffer) > limit:
                raise ManifestError(
                    f"{what} on {host} is over the {limit}-byte limit",
                    hint="a real manifest is a few KiB; raise the limit only for a source you trust",
                )
    except httpx.TransportError as exc:
        raise RegistryUnavailableError(
            f"{host} broke off {what}: {_describe_transport_error(exc)}", hint="retry later"
        ) from exc
    return bytes(buffer)


def _json_object(data: bytes, what: str, host: str) -> Mapping[str, Any]:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{what} on {host} is not JSON", hint="the registry is misbehaving; report it") from exc
    if not isinstance(document, dict):
        raise RegistryError(f"{what} on {host} is not a JSON object", hint="the registry is misbehaving; report it")
    return document


def _content_media_type(headers: httpx.Headers) -> str:
    """The media type a response declares: ``Content-Type`` without its parameters (``; charset=…``)."""
    return (headers.get("content-type") or "").split(";")[0].strip()


def _sniff_media_type(data: bytes) -> str | None:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    value = document.get("mediaType") if isinstance(document, dict) else None
    return str(value) if isinstance(value, str) else None


def _registry_error_detail(response: httpx.Response) -> str:
    """``: CODE message`` from a distribution error body, without echoing arbitrary content."""
    limit = 65536  # bytes: error bodies are small; a flood is not read, let alone parsed
    body = bytearray()
    try:
        for chunk in _iter_body(response):
            body += chunk
            if len(body) > limit:
                return ""
    except httpx.HTTPError:
        return ""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for item in errors[:3]:
        if isinstance(item, dict):
            code, message = item.get("code"), item.get("message")
            parts.append(" ".join(str(x)[:200] for x in (code, message) if x))
    return f": {'; '.join(parts)}" if parts else ""


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _safe_url(url: str) -> str:
    """A URL for messages: scheme, host and path only (query strings may carry signatures)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
