"""The network edge of Notary verification and signing: RFC 3161 TSA requests, CRL and OCSP downloads.

Each piece is small and plugs into a pure seam: ``HttpTimestamper`` is a ``sign.Timestamper``,
``HttpRevocationFetcher`` is a ``revocation.RevocationFetcher``. Answers are size-capped and
every failure becomes the seam's own error type with the URL in the message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx

from wharfinger import __version__
from wharfinger.errors import BackendError
from wharfinger.signing.notary.revocation import RevocationFetchError
from wharfinger.signing.notary.timestamp import TimestampError, build_timestamp_request, token_from_response

__all__ = ["HttpRevocationFetcher", "HttpTimestamper", "TimestampServiceError"]

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # bytes; CRLs of large CAs run to a few MiB, TSA answers to a few KiB
USER_AGENT = f"wharfinger/{__version__}"


class TimestampServiceError(BackendError):
    """The timestamp authority could not be reached or refused the request."""


def _read_capped(response: httpx.Response, url: str) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > MAX_ANSWER_BYTES:
            raise ValueError(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
    return bytes(data)


@dataclass(slots=True)
class HttpTimestamper:
    """POST a TimeStampReq (``application/timestamp-query``) and return the granted token."""

    url: str
    timeout: float = 10.0  # seconds
    client: httpx.Client | None = field(default=None, repr=False)

    def __call__(self, signature: bytes, hash_name: str) -> bytes:
        nonce = secrets.randbits(63)
        request = build_timestamp_request(signature, hash_name=hash_name, nonce=nonce)
        client = self.client or httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT})
        try:
            with client.stream(
                "POST", self.url, content=request, headers={"Content-Type": "application/timestamp-query"}
            ) as response:
                if response.status_code != httpx.codes.OK:
                    raise TimestampServiceError(
                        f"timestamp authority {self.url} answered HTTP {response.status_code}",
                        hint="check --timestamp-url; the TSA may be down or refuse this hash algorithm",
                    )
                answer = _read_capped(response, self.url)
        except httpx.HTTPError as exc:
            raise TimestampServiceError(
                f"timestamp authority {self.url} could not be reached: {exc}", hint="retry, or check --timestamp-url"
            ) from exc
        except ValueError as exc:
            raise TimestampServiceError(str(exc), hint="this is not an RFC 3161 timestamp authority") from exc
        finally:
            if self.client is None:
                client.close()
        try:
            token = token_from_response(answer)
        except TimestampError as exc:
            raise TimestampServiceError(f"timestamp authority {self.url}: {exc.message}") from exc
        _check_token_answers(token, nonce, signature, hash_name, self.url)
        return token


def _check_token_answers(token: bytes, nonce: int, signature: bytes, hash_name: str, url: str) -> None:
    import hashlib  # noqa: PLC0415 -- keeps module import light

    from asn1crypto import cms  # noqa: PLC0415

    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    if info["nonce"].native != nonce:
        raise TimestampServiceError(f"timestamp authority {url} answered another request (nonce mismatch)")
    imprint = info["message_imprint"]
    if imprint["hashed_message"].native != hashlib.new(hash_name, signature).digest():
        raise TimestampServiceError(f"timestamp authority {url} stamped another message")


@dataclass(slots=True)
class HttpRevocationFetcher:
    """Download CRLs (GET) and ask OCSP responders (POST); timeouts as the spec suggests."""

    crl_timeout: float = 5.0  # seconds per CRL distribution point
    ocsp_timeout: float = 2.0  # seconds per OCSP responder
    client: httpx.Client | None = field(default=None, repr=False)

    def _client(self) -> httpx.Client:
        if self.client is None:
            self.client = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        return self.client

    def fetch_crl(self, url: str) -> bytes:
        return self._exchange("GET", url, self.crl_timeout, None, None)

    def post_ocsp(self, url: str, request_der: bytes) -> bytes:
        return self._exchange("POST", url, self.ocsp_timeout, request_der, "application/ocsp-request")

    def _exchange(self, method: str, url: str, timeout: float, body: bytes | None, content_type: str | None) -> bytes:
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            with self._client().stream(method, url, content=body, headers=headers, timeout=timeout) as response:
                if response.status_code != httpx.codes.OK:
                    raise RevocationFetchError(f"HTTP {response.status_code}")
                return _read_capped(response, url)
        except httpx.HTTPError as exc:
            raise RevocationFetchError(f"unreachable ({type(exc).__name__})") from exc
        except ValueError as exc:
            raise RevocationFetchError(str(exc)) from exc
