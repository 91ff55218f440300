"""Loading cosign trust material: public keys and keyless roots (Fulcio CAs, Rekor keys)."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from wharfinger.errors import InputError
from wharfinger.signing.cosign.keyless import KeylessTrust
from wharfinger.signing.cosign.simplesigning import CosignKey

__all__ = ["keyless_trust_from_files", "load_cosign_key"]


def load_cosign_key(path: Path, name: str | None = None) -> CosignKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the public key {path}: {exc.strerror}") from exc
    try:
        public_key = load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(
            f"{path} is not a PEM public key", hint="pass the public half (cosign.pub), not the private key"
        ) from exc
    return CosignKey(name=name or path.stem, public_key=public_key)


def keyless_trust_from_files(
    *, trusted_root: Path | None = None, fulcio_roots: Path | None = None, rekor_keys: Path | None = None
) -> KeylessTrust:
    """From a Sigstore ``trusted_root.json``, or from PEM files of Fulcio certificates and Rekor keys."""
    certs: list[x509.Certificate] = []
    keys: list[PublicKeyTypes] = []
    try:
        if trusted_root is not None:
            document = json.loads(trusted_root.read_bytes())
            certs.extend(
                x509.load_der_x509_certificate(base64.b64decode(raw["rawBytes"]))
                for authority in document.get("certificateAuthorities", [])
                for raw in authority.get("certChain", {}).get("certificates", [])
            )
            keys.extend(
                load_der_public_key(base64.b64decode(tlog["publicKey"]["rawBytes"]))
                for tlog in document.get("tlogs", [])
            )
        if fulcio_roots is not None:
            certs += x509.load_pem_x509_certificates(fulcio_roots.read_bytes())
        if rekor_keys is not None:
            keys.append(load_pem_public_key(rekor_keys.read_bytes()))
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InputError(
            f"cannot read the keyless trust material: {exc}",
            hint="pass --trusted-root trusted_root.json, or --fulcio-root PEM and --rekor-key PEM",
        ) from exc
    # Only self-signed CAs are roots; intermediates in a trusted root chain are kept to build paths.
    return KeylessTrust(fulcio_roots=tuple(certs), rekor_keys=tuple(keys))
