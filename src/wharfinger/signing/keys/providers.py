"""Key URI → ``Signer``: one registry of providers, chosen by the URI scheme.

``file:`` (and bare paths) is built in; other providers (``pkcs11:``, ``azurekv://``,
``awskms://``) register an opener under their scheme with ``register_provider``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from wharfinger.errors import InputError
from wharfinger.signing.keys.signer import SignatureAlgorithm, Signer

if TYPE_CHECKING:
    from wharfinger.signing.keys.algorithms import SignatureFormat

__all__ = ["KeyOpener", "open_signer", "open_signer_for", "register_provider"]

# (uri, environment, algorithm or None for the key's default) -> Signer
KeyOpener = Callable[[str, Mapping[str, str], SignatureAlgorithm | None], Signer]
_PROVIDERS: dict[str, KeyOpener] = {}


def register_provider(scheme: str, opener: KeyOpener) -> None:
    _PROVIDERS[scheme] = opener


def _open_file(uri: str, env: Mapping[str, str], algorithm: SignatureAlgorithm | None) -> Signer:
    from wharfinger.signing.keys.file import open_file_signer  # noqa: PLC0415 -- providers load on demand

    return open_file_signer(uri, env, algorithm=algorithm)


def _open_pkcs11(uri: str, env: Mapping[str, str], algorithm: SignatureAlgorithm | None) -> Signer:
    from wharfinger.signing.keys.pkcs11 import Pkcs11Signer, parse_pkcs11_uri  # noqa: PLC0415

    return Pkcs11Signer(parse_pkcs11_uri(uri, env=env), algorithm=algorithm)


def _open_azurekv(uri: str, env: Mapping[str, str], algorithm: SignatureAlgorithm | None) -> Signer:  # noqa: ARG001 -- azure-identity reads its own environment
    from wharfinger.signing.keys.azurekv import AzureKeyVaultSigner, parse_azurekv_uri  # noqa: PLC0415

    return AzureKeyVaultSigner(parse_azurekv_uri(uri), algorithm=algorithm)


def _open_awskms(uri: str, env: Mapping[str, str], algorithm: SignatureAlgorithm | None) -> Signer:  # noqa: ARG001 -- boto3 reads its own environment
    from wharfinger.signing.keys.awskms import AwsKmsSigner, parse_awskms_uri  # noqa: PLC0415

    return AwsKmsSigner(parse_awskms_uri(uri), algorithm=algorithm)


register_provider("file", _open_file)
register_provider("pkcs11", _open_pkcs11)
register_provider("azurekv", _open_azurekv)
register_provider("awskms", _open_awskms)


def open_signer(uri: str, env: Mapping[str, str], *, algorithm: SignatureAlgorithm | None = None) -> Signer:
    """Open the signer a key URI names; a bare path means ``file:``. ``algorithm`` overrides the key's default
    (cosign signs ECDSA with SHA-256 on every curve and RSA with PKCS#1 v1.5)."""
    scheme, sep, _ = uri.partition(":")
    if not sep or "/" in scheme or len(scheme) == 1:  # a path, or a Windows drive letter
        scheme = "file"
    opener = _PROVIDERS.get(scheme)
    if opener is None:
        raise InputError(
            f"unknown key provider {scheme!r} in key URI {uri!r}",
            hint="known providers: " + ", ".join(sorted(_PROVIDERS)) + " (e.g. file:/keys/signer.pem)",
        )
    return opener(uri, env, algorithm)


def open_signer_for(uri: str, env: Mapping[str, str], signature_format: SignatureFormat) -> Signer:
    """Open the key to sign ``signature_format`` signatures with that format's algorithm for it (cosign: SHA-256
    on every curve, RSA PKCS#1 v1.5). A key the format refuses fails here, with the same KeyProviderError
    whichever provider holds it (the rule is ``signing.keys.algorithms.signing_algorithm``)."""
    from wharfinger.signing.keys.algorithms import spec_algorithm  # noqa: PLC0415 -- loads cryptography

    signer = open_signer(uri, env)
    wanted = spec_algorithm(signer.key(), signature_format)
    if wanted is not signer.key().algorithm:
        signer = open_signer(uri, env, algorithm=wanted)
    return signer
