"""Content digests (``algorithm:hex``): parse, compute, and verify while streaming.

Only the algorithms the OCI image spec registers are accepted: ``sha256`` (64 lowercase hex
digits) and ``sha512`` (128). Anything else is refused rather than trusted unverified.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from wharfinger.errors import DigestMismatchError, InvalidDigestError

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "ALGORITHMS",
    "Digest",
    "DigestVerifier",
    "VerifyingReader",
    "compute_digest",
    "open_verified",
    "parse_digest",
    "sha256_digest",
]

# algorithm -> length of its lowercase hex encoding
ALGORITHMS: Final = {"sha256": 64, "sha512": 128}
_HEX: Final = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def encoded(self) -> str:
        return self.hex

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def parse_digest(text: str) -> Digest:
    """Parse ``sha256:<64 hex>`` / ``sha512:<128 hex>``; raise ``InvalidDigestError`` otherwise."""
    algorithm, sep, hex_part = text.partition(":")
    if not sep or not algorithm or not hex_part:
        raise InvalidDigestError(
            f"invalid digest {text!r}: expected ALGORITHM:HEX",
            hint="a digest looks like sha256:3f1c… (64 hex digits)",
        )
    expected_length = ALGORITHMS.get(algorithm)
    if expected_length is None:
        raise InvalidDigestError(
            f"unsupported digest algorithm {algorithm!r} in {text!r}",
            hint=f"supported algorithms: {', '.join(ALGORITHMS)}",
        )
    if len(hex_part) != expected_length or not _HEX.issuperset(hex_part):
        raise InvalidDigestError(
            f"invalid {algorithm} digest {text!r}: need exactly {expected_length} lowercase hex digits, "
            f"got {len(hex_part)} characters",
            hint="copy the digest whole; uppercase hex is not allowed by the OCI spec",
        )
    return Digest(algorithm=algorithm, hex=hex_part)


def compute_digest(data: Buffer, algorithm: str = "sha256") -> Digest:
    if algorithm not in ALGORITHMS:
        raise InvalidDigestError(
            f"unsupported digest algorithm {algorithm!r}", hint=f"supported: {', '.join(ALGORITHMS)}"
        )
    return Digest(algorithm=algorithm, hex=hashlib.new(algorithm, data).hexdigest())


def sha256_digest(data: Buffer) -> str:
    """``sha256:<hex>`` of ``data``, as a string (the form manifests carry)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class DigestVerifier:
    """Feed chunks in order; ``verify()`` at the end raises ``DigestMismatchError`` on any difference.

    With ``expected_size`` the verifier also refuses content that grows past it, so a hostile
    source cannot make us hash (or store) gigabytes before the mismatch is noticed.
    """

    __slots__ = ("_expected", "_expected_size", "_hasher", "_size", "_what")

    def __init__(self, expected: Digest | str, *, expected_size: int | None = None, what: str = "content") -> None:
        self._expected = parse_digest(expected) if isinstance(expected, str) else expected
        self._expected_size = expected_size
        self._hasher = self._expected.hasher()
        self._size = 0
        self._what = what

    @property
    def size(self) -> int:
        return self._size

    @property
    def complete(self) -> bool:
        """All the declared bytes have arrived (only known with ``expected_size``)."""
        return self._expected_size is not None and self._size == self._expected_size

    def update(self, chunk: Buffer) -> None:
        view = memoryview(chunk)
        self._size += view.nbytes
        if self._expected_size is not None and self._size > self._expected_size:
            raise DigestMismatchError(
                f"{self._what} {self._expected} is larger than its declared size {self._expected_size} bytes",
                hint="the source is corrupt or hostile; fetch it again from a trusted source",
            )
        self._hasher.update(view)

    def verify(self) -> None:
        self.verify_hashed(self._size, self._hasher.hexdigest())

    def verify_hashed(self, size: int, hex_digest: str) -> None:
        """``verify`` for content hashed elsewhere (another process): ``size`` bytes gave ``hex_digest``."""
        if self._expected_size is not None and size != self._expected_size:
            raise DigestMismatchError(
                f"{self._what} {self._expected} has {size} bytes, its descriptor says {self._expected_size}",
                hint="the content is truncated or corrupt; fetch it again",
            )
        if hex_digest != self._expected.hex:
            raise DigestMismatchError(
                f"{self._what} does not match its digest: expected {self._expected}, "
                f"got {self._expected.algorithm}:{hex_digest}",
                hint="the content was altered or corrupted; do not trust it, fetch it again",
            )


class VerifyingReader(io.RawIOBase):
    """A read-only raw stream that hashes what passes through and verifies it.

    The caller gets the bytes as they arrive (never the whole blob in memory). Verification runs
    when the declared size has been read (if known) or at EOF, whichever comes first; the read
    that completes the content raises ``DigestMismatchError`` instead if it was wrong.
    """

    def __init__(self, raw: BinaryIO, verifier: DigestVerifier) -> None:
        super().__init__()
        self._raw = raw
        self._verifier = verifier
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        if not data:
            if not self._verified:
                self._verifier.verify()
                self._verified = True
            return 0
        self._verifier.update(data)
        view[: len(data)] = data
        if not self._verified and self._verifier.complete:
            # verify as soon as the declared size is in: a reader that stops exactly there (never
            # asking for the EOF) still gets checked content; extra bytes would fail in `update`
            self._verifier.verify()
            self._verified = True
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_verified(raw: BinaryIO, verifier: DigestVerifier, *, buffer_size: int = 1 << 16) -> BinaryIO:
    """Wrap ``raw`` so reading it to EOF verifies it (buffered; ``close`` closes ``raw``)."""
    return io.BufferedReader(VerifyingReader(raw, verifier), buffer_size=buffer_size)
