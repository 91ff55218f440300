"""A real RFC 3161 timestamp authority for tests: ``openssl ts -reply`` behind a loopback HTTP server.

The TSA's root CA and its timestamping certificate (EKU timeStamping, critical) are generated here;
openssl does the TimeStampResp encoding and CMS signing, so our client and verifier meet an
independent implementation.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testkit.httpserver import Reply, Request, serve

__all__ = ["RunningTsa", "running_tsa"]


@dataclass(frozen=True)
class RunningTsa:
    url: str
    root: x509.Certificate
    root_pem: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@contextmanager
def running_tsa(directory: Path, *, now: datetime) -> Iterator[RunningTsa]:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (
        x509.CertificateBuilder().subject_name(_name("Test TSA Root")).issuer_name(_name("Test TSA Root"))
        .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)  # noqa: FBT003
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = (
        x509.CertificateBuilder().subject_name(_name("Test TSA")).issuer_name(root.subject)
        .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)  # noqa: FBT003
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    key_file = _write(
        directory / "tsa.key",
        tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    cert_file = _write(directory / "tsa.crt", tsa.public_bytes(pem))
    root_file = _write(directory / "tsa-root.pem", root.public_bytes(pem))
    (directory / "serial").write_text("01\n")
    config = _write(
        directory / "tsa.cnf",
        f"""[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {directory / "serial"}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""".encode(),
    )

    def handle(request: Request) -> Reply:
        if request.method != "POST" or request.headers.get("content-type") != "application/timestamp-query":
            return Reply(status=400)
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            query = _write(Path(scratch) / "q.tsq", request.body)
            answer = Path(scratch) / "r.tsr"
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(config), "-queryfile", str(query), "-inkey", str(key_file),
                 "-signer", str(cert_file), "-chain", str(root_file), "-out", str(answer)],
                check=True, capture_output=True,
            )  # fmt: skip
            return Reply(headers={"Content-Type": "application/timestamp-reply"}, body=answer.read_bytes())

    with serve(handle) as server:
        yield RunningTsa(url=server.url, root=root, root_pem=root_file)
