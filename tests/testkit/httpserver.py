"""A tiny threaded HTTP(S) server driven by a function: for the token server, the ACR endpoints
and the servers that record what a client sends them (redirect tests).

It is a real socket server on a free loopback port, so the client under test runs its real
transport, TLS verification included.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

__all__ = ["Reply", "Request", "serve"]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def first(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class RunningServer:
    url: str
    port: int
    requests: list[Request]


def _handler_class(handle: Callable[[Request], Reply], requests: list[Request]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            requests.append(request)
            reply = handle(request)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if not any(k.lower() == "content-length" for k in reply.headers):
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_HEAD = do_PATCH = do_DELETE = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- stdlib signature
            """Quiet: tests read ``requests`` instead."""

    return Handler


@contextmanager
def serve(
    handle: Callable[[Request], Reply], *, cert_file: Path | None = None, key_file: Path | None = None
) -> Iterator[RunningServer]:
    """Serve ``handle`` on ``127.0.0.1:<free port>`` (HTTPS when a certificate is given)."""
    requests: list[Request] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(handle, requests))
    server.daemon_threads = True
    scheme = "http"
    if cert_file is not None and key_file is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name=f"test-http-{port}", daemon=True)
    thread.start()
    try:
        yield RunningServer(url=f"{scheme}://127.0.0.1:{port}", port=port, requests=requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
