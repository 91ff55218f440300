"""``Signer``: who holds the key, separate from what is signed (STYLE 2.6).

Envelope code (Notary JWS/COSE, cosign simple signing, DSSE) is pure and takes a ``Signer``.
Providers in ``signing/keys/`` implement it; each is chosen by a key URI
(``file:``/path, ``pkcs11:…``, ``azurekv://VAULT/KEY[/VERSION]``, ``awskms://…``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["KeySpec", "SignatureAlgorithm", "Signer"]


class SignatureAlgorithm(StrEnum):
    """Algorithms as Notary Project names them; cosign uses the same set."""

    RSASSA_PSS_SHA256 = "RSASSA-PSS-SHA-256"
    RSASSA_PSS_SHA384 = "RSASSA-PSS-SHA-384"
    RSASSA_PSS_SHA512 = "RSASSA-PSS-SHA-512"
    ECDSA_SHA256 = "ECDSA-SHA-256"  # P-256
    ECDSA_SHA384 = "ECDSA-SHA-384"  # P-384
    ECDSA_SHA512 = "ECDSA-SHA-512"  # P-521
    ED25519 = "Ed25519"  # cosign only
    RSASSA_PKCS1V15_SHA256 = "RSASSA-PKCS1-v1_5-SHA-256"  # cosign RSA keys


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySpec:
    key_id: str  # provider-specific id (URI without secrets)
    algorithm: SignatureAlgorithm
    public_key_der: bytes  # SubjectPublicKeyInfo, DER
    certificate_chain: tuple[bytes, ...] = ()  # DER, leaf first; empty for bare keys (cosign)


class Signer(Protocol):
    """Signs raw bytes. Knows nothing about envelopes or registries."""

    def key(self) -> KeySpec: ...

    def sign(self, payload: bytes) -> bytes:
        """Sign ``payload`` (the provider hashes it per ``algorithm``); return the raw signature bytes.

        ECDSA signatures are returned DER-encoded; envelope code converts to the raw r||s form where a
        format (JWS, COSE) requires it.
        """
        ...
