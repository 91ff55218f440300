"""Run the real webhook (``python -m wharfinger admission serve``) on a free port over real TLS."""

from __future__ import annotations

import datetime as dt
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pki:
    folder: Path
    ca_key: ec.EllipticCurvePrivateKey = field(init=False)
    ca_cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wharfinger test CA")])
        now = dt.datetime.now(dt.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        (self.folder / "ca.pem").write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    @property
    def ca_path(self) -> Path:
        return self.folder / "ca.pem"

    def issue(self, common_name: str, cert_path: Path, key_path: Path) -> x509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        tmp_key = key_path.with_suffix(".tmp")
        tmp_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        tmp_cert = cert_path.with_suffix(".tmpc")
        tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        tmp_key.replace(key_path)
        tmp_cert.replace(cert_path)
        return cert


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
