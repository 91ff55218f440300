"""Run the real webhook (``python -m wharfinger admission serve``) on a free port over real TLS."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509

from testkit.pki import CertificateAuthority

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pki:
    """The webhook's serving CA (the test kit's ``CertificateAuthority``) and leaves written in place."""

    folder: Path
    ca: CertificateAuthority = field(init=False)

    def __post_init__(self) -> None:
        self.ca = CertificateAuthority.create(self.folder, name="wharfinger-admission-test-ca")

    @property
    def ca_path(self) -> Path:
        return self.ca.cert_file

    def issue(self, common_name: str, cert_path: Path, key_path: Path) -> x509.Certificate:
        """A server leaf for 127.0.0.1/localhost, swapped into ``cert_path``/``key_path`` by rename, so a
        running webhook that reloads its certificate never reads half a file."""
        issuing = self.folder / ".issuing"
        issuing.mkdir(exist_ok=True)
        leaf = self.ca.issue(issuing, common_name)
        leaf.key_file.replace(key_path)
        leaf.cert_file.replace(cert_path)
        return leaf.certificate


@dataclass
class WebhookServer:
    process: subprocess.Popen[bytes]
    port: int
    pki: Pki
    folder: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_path))

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), timeout=30, **kw)  # type: ignore[arg-type]

    def async_client(self, **kw: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, verify=self.ssl_context(), timeout=30, **kw)  # type: ignore[arg-type]

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_webhook(
    folder: Path,
    *args: str,
    pki: Pki | None = None,
    wait_ready: bool = True,
    env: dict[str, str] | None = None,
    verbose: bool = True,
) -> WebhookServer:
    """``wharfinger admission serve`` over TLS on a free port. ``verbose=False`` (the benchmarks):
    warnings only, so logging every decision does not weigh on the latency being measured."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = pki or Pki(folder)
    pki.issue("127.0.0.1", folder / "tls.crt", folder / "tls.key")
    port = free_port()
    log_path = folder / "webhook.log"
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wharfinger",
            "--log-format",
            "json",
            *(["-v"] if verbose else []),
            "admission",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-cert",
            str(folder / "tls.crt"),
            "--tls-key",
            str(folder / "tls.key"),
            "--reload-interval",
            "0.2",
            *args,
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = WebhookServer(process=process, port=port, pki=pki, folder=folder, log_path=log_path)
    deadline = time.monotonic() + 30
    while wait_ready:
        if process.poll() is not None:
            raise RuntimeError(f"webhook exited with {process.returncode}:\n{server.logs()}")
        try:
            with server.client() as c:
                if c.get("/healthz").status_code == 200:
                    break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"webhook did not come up:\n{server.logs()}")
        time.sleep(0.1)
    return server
