"""The real Debian ``docker-registry`` (CNCF distribution 2.8) started on a free loopback port.

Three flavours, each a session fixture (one per pytest-xdist worker):

``registry_plain``  plain HTTP, no auth, delete enabled
``registry_basic``  HTTPS (test CA) + htpasswd basic auth (bcrypt, made by ``htpasswd -B``)
``registry_token``  HTTPS + ``auth.token``: a test token service (``testkit.token_server``) whose
                    JWTs the registry trusts through its ``rootcertbundle``

A ``RunningRegistry`` knows its URL, CA file and credentials, and gives the ``skopeo`` flags and a
docker ``config.json`` for it. The registry log lives in the test's tmp folder; when a test that
used a registry fails, the log's tail is attached to the report.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testkit.pki import CertificateAuthority, IssuedCert
from testkit.token_server import ANONYMOUS, Grant, TokenService, running_token_service

__all__ = ["RegistryPki", "RunningRegistry", "start_registry"]

REGISTRY_BINARY = os.environ.get("WHARFINGER_TEST_REGISTRY_BINARY", "/usr/bin/docker-registry")
_STARTUP_TIMEOUT = 20.0  # seconds


@dataclass(frozen=True, slots=True)
class RegistryPki:
    ca: CertificateAuthority
    server: IssuedCert  # 127.0.0.1 / localhost
    token_signer: IssuedCert  # signs the token service's JWTs


@dataclass(frozen=True, slots=True)
class RunningRegistry:
    host: str  # "127.0.0.1:PORT": the registry part of image references
    url: str  # "http(s)://127.0.0.1:PORT"
    root: Path  # config, storage, log
    log_file: Path
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None
    token_service: TokenService | None = None
    token_url: str | None = None

    @property
    def tls(self) -> bool:
        return self.url.startswith("https://")

    def ref(self, repository: str, tag_or_digest: str = "latest") -> str:
        separator = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.host}/{repository}{separator}{tag_or_digest}"

    def skopeo_flags(self, side: str, *, username: str | None = None, password: str | None = None) -> list[str]:
        """``skopeo copy`` flags for ``side`` = "src" or "dest" (TLS trust and credentials)."""
        flags: list[str] = []
        if not self.tls:
            flags.append(f"--{side}-tls-verify=false")
        else:
            cert_dir = self.root / "certs.d"
            if not cert_dir.exists():
                cert_dir.mkdir()
                assert self.ca_file is not None
                shutil.copy(self.ca_file, cert_dir / "ca.crt")
            flags.append(f"--{side}-cert-dir={cert_dir}")
        user, secret = username or self.username, password or self.password
        if user is not None and secret is not None:
            flags.append(f"--{side}-creds={user}:{secret}")
        return flags

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this registry's CA (and only it)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, addr: str, pki: RegistryPki | None, auth_yaml: str) -> str:
    tls = ""
    if pki is not None:
        tls = f"  tls:\n    certificate: {pki.server.cert_file}\n    key: {pki.server.key_file}\n"
    return (
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        f"http:\n  addr: {addr}\n  secret: {secrets.token_hex(16)}\n{tls}"
        f"{auth_yaml}"
    )


def _answering(url: str, ca_file: Path | None) -> bool:
    try:
        verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
        status = httpx.get(f"{url}/v2/", verify=verify, timeout=1.0).status_code
    except httpx.HTTPError:
        return False
    return status in {200, 401}


@contextmanager
def start_registry(
    root: Path,
    *,
    pki: RegistryPki | None = None,
    auth_yaml: str = "",
    username: str | None = None,
    password: str | None = None,
    token_service: TokenService | None = None,
    token_url: str | None = None,
    attempts: int = 3,
) -> Iterator[RunningRegistry]:
    """Run ``docker-registry serve`` until the context exits; retry on a port lost to a race."""
    if not Path(REGISTRY_BINARY).exists():
        pytest.fail(f"{REGISTRY_BINARY} is missing: run scripts/install-test-deps (apt-get install docker-registry)")
    root.mkdir(parents=True, exist_ok=True)
    log_file = root / "registry.log"
    for _attempt in range(attempts):
        port = _free_port()
        addr = f"127.0.0.1:{port}"
        config = root / "config.yml"
        config.write_text(_config(root, addr, pki, auth_yaml))
        scheme = "https" if pki is not None else "http"
        url = f"{scheme}://{addr}"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + _STARTUP_TIMEOUT
            ca_file = pki.ca.cert_file if pki is not None else None
            while time.monotonic() < deadline and process.poll() is None:
                if _answering(url, ca_file):
                    break
                time.sleep(0.1)
            if process.poll() is not None or not _answering(url, ca_file):
                continue  # most likely the port was taken between the probe and the bind
            yield RunningRegistry(
                host=addr,
                url=url,
                root=root,
                log_file=log_file,
                ca_file=ca_file,
                username=username,
                password=password,
                token_service=token_service,
                token_url=token_url,
            )
            return
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    pytest.fail(f"docker-registry did not start after {attempts} attempts; log {log_file}:\n{tail}")


def _htpasswd(path: Path, users: dict[str, str]) -> None:
    if shutil.which("htpasswd") is None:
        pytest.fail("htpasswd is missing: run scripts/install-test-deps (apt-get install apache2-utils)")
    lines = []
    for user, password in users.items():
        done = subprocess.run(
            ["htpasswd", "-B", "-n", "-b", user, password], capture_output=True, text=True, check=True
        )
        lines.append(done.stdout.strip())
    path.write_text("\n".join(lines) + "\n")


# --- pytest fixtures ---------------------------------------------------------------------------

BASIC_USER = "alice"
TOKEN_USERS = ("alice", "bob")  # alice: everything; bob: pull on shared/*; anonymous: pull on public/*


@pytest.fixture(scope="session")
def registry_pki(tmp_path_factory: pytest.TempPathFactory) -> RegistryPki:
    directory = tmp_path_factory.mktemp("registry-pki")
    ca = CertificateAuthority.create(directory)
    return RegistryPki(
        ca=ca,
        server=ca.issue(directory, "registry-server"),
        token_signer=ca.issue(directory, "token-signer", server=False),
    )


@pytest.fixture(scope="session")
def registry_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with start_registry(tmp_path_factory.mktemp("registry-plain")) as registry:
        yield registry


@pytest.fixture(scope="session")
def registry_basic(tmp_path_factory: pytest.TempPathFactory, registry_pki: RegistryPki) -> Iterator[RunningRegistry]:
    root = tmp_path_factory.mktemp("registry-basic")
    password = secrets.token_hex(12)
    _htpasswd(root / "htpasswd", {BASIC_USER: password})
    auth = f"auth:\n  htpasswd:\n    realm: wharfinger-test\n    path: {root / 'htpasswd'}\n"
    with start_registry(root, pki=registry_pki, auth_yaml=auth, username=BASIC_USER, password=password) as registry:
        yield registry


def token_grants(users: Sequence[str] = TOKEN_USERS) -> list[Grant]:
    alice, bob = users
    return [
        Grant(account=alice, repository="*", actions=frozenset({"*"})),
        Grant(account=bob, repository="shared/*", actions=frozenset({"pull"})),
        Grant(account=ANONYMOUS, repository="public/*", actions=frozenset({"pull"})),
    ]


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory: pytest.TempPathFactory, registry_pki: RegistryPki) -> Iterator[RunningRegistry]:
    root = tmp_path_factory.mktemp("registry-token")
    users = {name: secrets.token_hex(12) for name in TOKEN_USERS}
    service_name, issuer = "wharfinger-test-registry", "wharfinger-test-token-issuer"
    with ExitStack() as stack:
        service, server = stack.enter_context(
            running_token_service(
                registry_pki.ca,
                registry_pki.server,
                registry_pki.token_signer,
                service=service_name,
                issuer=issuer,
                users=users,
                grants=token_grants(),
            )
        )
        realm = f"{server.url}/token"
        auth = (
            f"auth:\n  token:\n    realm: {realm}\n    service: {service_name}\n    issuer: {issuer}\n"
            f"    rootcertbundle: {registry_pki.ca.cert_file}\n"
        )
        registry = stack.enter_context(
            start_registry(
                root,
                pki=registry_pki,
                auth_yaml=auth,
                username=TOKEN_USERS[0],
                password=users[TOKEN_USERS[0]],
                token_service=service,
                token_url=realm,
            )
        )
        yield registry


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RunningRegistry):
                report.sections.append((f"registry log {value.log_file}", value.log_tail()))
    return report  # type: ignore[return-value]
