"""Downloading OSV's per-ecosystem exports (``<base>/<ECO>/all.zip``): the network edge of ``db update``.

One ``httpx.Client`` whose transport is a constructor argument (tests use a local HTTP server).
Conditional requests (``If-None-Match`` with the stored ETag, ``If-Modified-Since``) skip
unchanged exports; downloads are size-capped while they stream. Every failure becomes a
``FeedError`` naming the URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self
from urllib.parse import quote

import httpx

from wharfinger import __version__
from wharfinger.errors import FeedError

__all__ = ["ExportDownload", "OsvExportClient"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportDownload:
    ecosystem: str
    url: str
    not_modified: bool
    data: bytes = field(default=b"", repr=False)
    etag: str | None = None
    last_modified: str | None = None


class OsvExportClient:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 120.0,
        max_bytes: int = 2 * 1024 * 1024 * 1024,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._max_bytes = max_bytes
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(30.0, read=timeout_s),
            follow_redirects=True,
            headers={"User-Agent": f"wharfinger/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def url_for(self, ecosystem: str) -> str:
        return f"{self._base}/{quote(ecosystem)}/all.zip"

    def download(self, ecosystem: str, *, etag: str | None = None, last_modified: str | None = None) -> ExportDownload:
        url = self.url_for(ecosystem)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == httpx.codes.NOT_MODIFIED:
                    return ExportDownload(ecosystem=ecosystem, url=url, not_modified=True, etag=etag)
                if response.status_code != httpx.codes.OK:
                    raise FeedError(
                        f"{url} answered HTTP {response.status_code}",
                        hint="check the ecosystem name and --url; OSV names folders like PyPI, npm, Debian",
                    )
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > self._max_bytes:
                    raise FeedError(f"{url} is {declared} bytes, over the {self._max_bytes}-byte limit")
                chunks: list[bytes] = []
                received = 0
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > self._max_bytes:
                        raise FeedError(f"{url} is over the {self._max_bytes}-byte limit")
                    chunks.append(chunk)
                return ExportDownload(
                    ecosystem=ecosystem,
                    url=url,
                    not_modified=False,
                    data=b"".join(chunks),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except httpx.HTTPError as exc:
            raise FeedError(
                f"cannot download {url}: {exc}",
                hint="check the network or proxy; air-gapped sites use `wharfinger db pull` or `db build`",
            ) from exc
