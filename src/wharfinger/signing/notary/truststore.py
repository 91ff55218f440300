"""Notary Project trust stores: ``x509/{ca,signingAuthority,tsa}/NAME/*`` certificate files.

``TrustStore`` is pure (named stores of parsed certificates, or the problem that made a store
unusable, reported only when a policy uses it, as Notation does). ``load_trust_store`` is the
one function here that reads the disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from wharfinger.errors import TrustPolicyError
from wharfinger.signing.notary.chain import is_self_signed, parse_certificate

__all__ = ["StoreType", "TrustStore", "load_trust_store", "parse_store_certificates"]

STORE_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]+$")
MAX_CERT_FILE_BYTES = 1024 * 1024  # bytes; a trust store file holds a few PEM certificates


class StoreType(StrEnum):
    CA = "ca"
    SIGNING_AUTHORITY = "signingAuthority"
    TSA = "tsa"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustStore:
    certificates: Mapping[tuple[StoreType, str], tuple[x509.Certificate, ...]] = field(default_factory=dict)
    problems: Mapping[tuple[StoreType, str], str] = field(default_factory=dict)
    location: str = "<memory>"

    def get(self, store_type: StoreType, name: str) -> tuple[x509.Certificate, ...]:
        key = (store_type, name)
        if key in self.problems:
            raise TrustPolicyError(
                f"trust store {store_type}:{name} is unusable: {self.problems[key]}",
                hint=f"fix the files under {self.location}/x509/{store_type}/{name}/",
            )
        certs = self.certificates.get(key)
        if not certs:
            raise TrustPolicyError(
                f"trust store {store_type}:{name} does not exist or holds no certificates",
                hint=f"put the trusted root certificates (PEM) in {self.location}/x509/{store_type}/{name}/",
            )
        return certs

    @classmethod
    def from_certificates(
        cls, stores: Mapping[tuple[StoreType, str], Iterable[x509.Certificate]], *, location: str = "<memory>"
    ) -> TrustStore:
        return cls(certificates={k: tuple(v) for k, v in stores.items()}, location=location)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def parse_store_certificates(store_type: StoreType, files: Iterable[tuple[str, bytes]]) -> tuple[x509.Certificate, ...]:
    """Parse a named store's files (PEM bundle or DER each); raise ValueError naming the bad file."""
    result: list[x509.Certificate] = []
    for file_name, data in files:
        try:
            loaded = (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
            certs = [parse_certificate(c.public_bytes(Encoding.DER)) for c in loaded]
        except (ValueError, x509.InvalidVersion) as exc:
            raise ValueError(f"{file_name} is not a PEM or DER X.509 certificate file") from exc
        for cert in certs:
            if not _is_ca(cert) and not is_self_signed(cert):
                raise ValueError(
                    f"{file_name}: certificate {cert.subject.rfc4514_string()!r} is not a CA certificate or a "
                    "self-signed signing certificate"
                )
            if store_type is StoreType.TSA and not (_is_ca(cert) and is_self_signed(cert)):
                raise ValueError(
                    f"{file_name}: certificate {cert.subject.rfc4514_string()!r} in a tsa store must be a self-signed "
                    "root CA certificate"
                )
        result.extend(certs)
    if not result:
        raise ValueError("no x509 certificates were found")
    return tuple(result)


def load_trust_store(directory: Path) -> TrustStore:
    """Read ``DIR/x509/<type>/<name>/*`` (``DIR`` may also be the ``x509`` folder itself)."""
    base = directory / "x509" if (directory / "x509").is_dir() else directory
    if not base.is_dir():
        raise TrustPolicyError(
            f"trust store directory {directory} does not exist",
            hint="pass the folder that holds x509/ca/NAME/*.pem (Notation's truststore folder)",
        )
    certificates: dict[tuple[StoreType, str], tuple[x509.Certificate, ...]] = {}
    problems: dict[tuple[StoreType, str], str] = {}
    for store_type in StoreType:
        type_dir = base / store_type.value
        if not type_dir.is_dir():
            continue
        for store_dir in sorted(type_dir.iterdir()):
            if not store_dir.is_dir():
                continue
            key = (store_type, store_dir.name)
            try:
                certificates[key] = parse_store_certificates(store_type, _read_store_files(store_dir))
            except ValueError as exc:
                problems[key] = str(exc)
    return TrustStore(certificates=certificates, problems=problems, location=str(base.parent))


def _read_store_files(store_dir: Path) -> list[tuple[str, bytes]]:
    files = []
    for entry in sorted(store_dir.iterdir()):
        if entry.is_symlink() or not entry.is_file():
            raise ValueError(f"{entry.name} is not a regular file (directories or symlinks are not supported)")
        if entry.stat().st_size > MAX_CERT_FILE_BYTES:
            raise ValueError(f"{entry.name} is larger than {MAX_CERT_FILE_BYTES} bytes")
        files.append((entry.name, entry.read_bytes()))
    return files
