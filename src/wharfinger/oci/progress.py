"""Byte progress for transfers: one protocol the CLI's bars implement, and counting wrappers.

Pure: the CLI draws (``cli.progress.transfer_bar``); pulls (``oci.pull``), layer reads
(``inventory.sources``) and database pulls (``vulndb.publish``) only report bytes through this.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, BinaryIO, Protocol, cast

__all__ = ["ByteProgress", "counting_reader", "counting_writer"]


class ByteProgress(Protocol):
    """Where a transfer reports its bytes; ``advance`` may be called from several threads."""

    def start(self, total_bytes: int, blobs: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


class _CountingWriter:
    """Forwards writes and counts them (blob downloads only ever ``write`` to their sink)."""

    def __init__(self, sink: IO[bytes], advance: Callable[[int], None]) -> None:
        self._sink = sink
        self._advance = advance

    def write(self, data: bytes) -> int:
        written = self._sink.write(data)
        self._advance(len(data))
        return written


def counting_writer(sink: IO[bytes], advance: Callable[[int], None]) -> IO[bytes]:
    return cast("IO[bytes]", _CountingWriter(sink, advance))


class _CountingRaw(io.RawIOBase):
    def __init__(self, stream: BinaryIO, advance: Callable[[int], None]) -> None:
        self._stream = stream
        self._advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]  # RawIOBase's buffer type
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self._advance(len(data))
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def counting_reader(stream: BinaryIO, advance: Callable[[int], None]) -> BinaryIO:
    """``stream``, reporting every byte read (digest checks stay with the stream itself)."""
    return cast("BinaryIO", io.BufferedReader(_CountingRaw(stream, advance), buffer_size=1 << 20))
