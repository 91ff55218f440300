"""Key URI → ``Signer``: one registry of providers, chosen by the URI scheme.

``file:`` (and bare paths) is built in; other providers (``pkcs11:``, ``azurekv://``,
``awskms://``) register an opener under their scheme with ``register_provider``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from wharfinger.errors import InputError
from wharfinger.signing.keys.signer import Signer

__all__ = ["KeyOpener", "open_signer", "register_provider"]

KeyOpener = Callable[[str, Mapping[str, str]], Signer]
_PROVIDERS: dict[str, KeyOpener] = {}


def register_provider(scheme: str, opener: KeyOpener) -> None:
    _PROVIDERS[scheme] = opener


def _open_file(uri: str, env: Mapping[str, str]) -> Signer:
    from wharfinger.signing.keys.file import open_file_signer  # noqa: PLC0415 -- providers load on demand

    return open_file_signer(uri, env)


register_provider("file", _open_file)


def open_signer(uri: str, env: Mapping[str, str]) -> Signer:
    """Open the signer a key URI names; a bare path means ``file:``."""
    scheme, sep, _ = uri.partition(":")
    if not sep or "/" in scheme or len(scheme) == 1:  # a path, or a Windows drive letter
        scheme = "file"
    opener = _PROVIDERS.get(scheme)
    if opener is None:
        raise InputError(
            f"unknown key provider {scheme!r} in key URI {uri!r}",
            hint="known providers: " + ", ".join(sorted(_PROVIDERS)) + " (e.g. file:/keys/signer.pem)",
        )
    return opener(uri, env)
