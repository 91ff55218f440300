"""A ByteProgress that records what a progress bar would be told (``advance`` comes from several threads)."""

from __future__ import annotations

import threading


class RecordingProgress:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total: int | None = None
        self.blobs: int | None = None
        self.advanced = 0

    def start(self, total_bytes: int, blobs: int) -> None:
        self.total, self.blobs = total_bytes, blobs

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.advanced += nbytes
