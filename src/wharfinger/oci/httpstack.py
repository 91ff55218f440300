"""TLS and socket settings of the registry client's HTTP stack (edge).

Two costs of a default ``httpx`` client that a short CLI run pays for nothing:

* ``ssl.create_default_context()`` parses the whole system trust store (~35 ms here) when the
  client is built, even when the registry speaks plain HTTP or the command never connects.
  ``LazyTrustContext`` loads it on the first TLS handshake instead, once, under a lock.
* httpcore reads an HTTP/1.1 response 64 KiB at a time; every read goes through h11 in Python
  and hands one chunk up to the caller, so a 150 MB image costs ~2,400 rounds of interpreter
  work per core. 1 MiB reads cut a pull's CPU time by ~20 % (``benchmarks/pull.py``) and keep
  memory flat: one read buffer per connection.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any, Final

import httpcore

__all__ = ["HTTP11_READ_BYTES", "LazyTrustContext", "trust_context", "tune_http11_reads"]

HTTP11_READ_BYTES: Final = 1 << 20  # bytes asked of the socket per read of an HTTP/1.1 body


class LazyTrustContext(ssl.SSLContext):
    """A client context that loads the system's trust roots just before its first handshake."""

    _defaults_loaded: bool
    _defaults_lock: threading.Lock

    def __new__(cls, *_args: Any, **_kwargs: Any) -> LazyTrustContext:  # noqa: PYI034 -- SSLContext.__new__ takes the protocol
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)  # hostname check and CERT_REQUIRED, as the default
        context._defaults_loaded = False
        context._defaults_lock = threading.Lock()
        return context

    def load_system_trust(self) -> None:
        """What ``ssl.create_default_context()`` does at construction, done once on demand."""
        with self._defaults_lock:
            if not self._defaults_loaded:
                self.load_default_certs(ssl.Purpose.SERVER_AUTH)
                self._defaults_loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_system_trust()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_system_trust()
        return super().wrap_bio(*args, **kwargs)


def trust_context(ca_bundle: Path | None = None) -> LazyTrustContext:
    """The system trust store (loaded lazily) plus ``ca_bundle``, read now so a bad file fails early.

    Raises ``OSError`` or ``ssl.SSLError`` when ``ca_bundle`` cannot be read as PEM certificates.
    """
    context = LazyTrustContext()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def tune_http11_reads() -> None:
    """Read HTTP/1.1 bodies ``HTTP11_READ_BYTES`` at a time (httpcore has no per-client setting)."""
    connection = httpcore.HTTP11Connection
    if getattr(connection, "READ_NUM_BYTES", 0) < HTTP11_READ_BYTES:
        connection.READ_NUM_BYTES = HTTP11_READ_BYTES
