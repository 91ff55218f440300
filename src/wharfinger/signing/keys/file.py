"""The file key provider: a PEM PKCS#8 private key (optionally encrypted) with its certificate chain beside it.

Key URI: ``file:PATH`` or a bare path. The passphrase comes from an environment variable
(``WHARFINGER_KEY_PASSPHRASE`` unless the URI says ``?passphrase-env=NAME``), never from the
command line. The chain is ``PATH`` with suffix ``.crt`` (PEM, leaf first) unless ``?cert=PATH``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import default_algorithm, hash_for
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

__all__ = ["DEFAULT_PASSPHRASE_ENV", "FileSigner", "open_file_signer"]

DEFAULT_PASSPHRASE_ENV = "WHARFINGER_KEY_PASSPHRASE"  # noqa: S105 -- the name of a variable, not a secret


@dataclass(frozen=True, slots=True)
class FileSigner:
    """Signs with a private key held in memory; ``repr`` never shows it."""

    _key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    _spec: KeySpec

    @classmethod
    def from_pem(
        cls,
        key_pem: bytes,
        *,
        key_id: str,
        passphrase: bytes | None = None,
        chain_pem: bytes | None = None,
        algorithm: SignatureAlgorithm | None = None,
    ) -> FileSigner:
        try:
            key = serialization.load_pem_private_key(key_pem, password=passphrase)
        except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
            raise KeyProviderError(
                f"cannot open key {key_id}: {exc}",
                hint=f"set the passphrase in ${DEFAULT_PASSPHRASE_ENV} (or the variable named by ?passphrase-env=)",
            ) from exc
        except ValueError as exc:
            raise KeyProviderError(
                f"cannot open key {key_id}: not a PEM private key or wrong passphrase",
                hint="check the file and the passphrase variable",
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyProviderError(f"key {key_id} is a {type(key).__name__}; RSA or EC keys are required")
        chain: tuple[bytes, ...] = ()
        if chain_pem:
            try:
                certs = x509.load_pem_x509_certificates(chain_pem)
            except ValueError as exc:
                raise KeyProviderError(
                    f"the certificate chain of key {key_id} is not PEM", hint="PEM, leaf first"
                ) from exc
            chain = tuple(c.public_bytes(serialization.Encoding.DER) for c in certs)
        spec = KeySpec(
            key_id=key_id,
            algorithm=algorithm or default_algorithm(key.public_key()),
            public_key_der=key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            certificate_chain=chain,
        )
        return cls(key, spec)

    def __repr__(self) -> str:
        return f"FileSigner(key_id={self._spec.key_id!r}, algorithm={self._spec.algorithm.value!r})"

    def key(self) -> KeySpec:
        return self._spec

    def sign(self, payload: bytes) -> bytes:
        algorithm = self._spec.algorithm
        hash_algorithm = hash_for(algorithm)
        if hash_algorithm is None:
            raise KeyProviderError(f"file keys cannot sign with {algorithm.value}", hint="use an RSA or EC key")
        if isinstance(self._key, rsa.RSAPrivateKey):
            if algorithm is SignatureAlgorithm.RSASSA_PKCS1V15_SHA256:
                return self._key.sign(payload, padding.PKCS1v15(), hash_algorithm)
            pss = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
            return self._key.sign(payload, pss, hash_algorithm)
        return self._key.sign(payload, ec.ECDSA(hash_algorithm))


def _path_and_options(uri: str) -> tuple[Path, dict[str, str]]:
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        path = unquote(parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return Path(path), options
    return Path(uri), {}


def open_file_signer(uri: str, env: Mapping[str, str], *, algorithm: SignatureAlgorithm | None = None) -> FileSigner:
    """Open ``file:PATH[?passphrase-env=VAR&cert=CHAIN]`` (or a bare path); I/O: reads the two files."""
    path, options = _path_and_options(uri)
    if not path.is_file():
        raise InputError(f"key file {path} does not exist", hint="create one with `wharfinger keys generate`")
    key_pem = path.read_bytes()
    chain_path = Path(options["cert"]) if "cert" in options else path.with_suffix(".crt")
    chain_pem = chain_path.read_bytes() if chain_path.is_file() else None
    variable = options.get("passphrase-env", DEFAULT_PASSPHRASE_ENV)
    passphrase = env.get(variable)
    encrypted = b"ENCRYPTED PRIVATE KEY" in key_pem
    if encrypted and not passphrase:
        raise KeyProviderError(
            f"key {path} is encrypted and ${variable} is not set", hint=f"export {variable}=… with the key's passphrase"
        )
    return FileSigner.from_pem(
        key_pem,
        key_id=f"file:{path}",
        passphrase=passphrase.encode() if encrypted and passphrase else None,
        chain_pem=chain_pem,
        algorithm=algorithm,
    )
