"""Signed databases: a cosign key-based signature over the database artifact's manifest digest.

The artifact is signed the way ``wharfinger sign --format cosign`` signs an image (a simple-signing
payload naming the manifest digest, stored under the ``sha256-<hex>.sig`` tag next to it), so
``cosign verify --key`` and ``wharfinger verify --key`` check a database too. The manifest names the
layer by digest and ``pull_database`` checks the layer against it, so the one signature covers the
SQLite bytes. Nothing here reads the environment: the CLI passes the keys in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wharfinger.errors import InputError, VerificationError
from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, CosignKeyResult, verify_with_key_policy
from wharfinger.signing.cosign.registry import append_signature, fetch_signatures
from wharfinger.signing.cosign.simplesigning import CosignKey, build_signature_layer
from wharfinger.signing.cosign.trust import load_cosign_key

if TYPE_CHECKING:
    from wharfinger.oci.client import RegistryClient
    from wharfinger.oci.manifest import Descriptor
    from wharfinger.oci.reference import ImageRef
    from wharfinger.signing.keys.signer import Signer

__all__ = ["load_verification_keys", "sign_database", "verify_database"]


def sign_database(client: RegistryClient, reference: ImageRef, manifest_digest: str, signer: Signer) -> Descriptor:
    """Sign the pushed artifact ``manifest_digest`` and append the signature (other signers' are kept)."""
    payload, layer = build_signature_layer(reference.name, manifest_digest, signer)
    return append_signature(client, reference.repository, manifest_digest, payload, layer)


def load_verification_keys(paths: Sequence[Path]) -> tuple[CosignKey, ...]:
    """PEM public keys, named by file (the full path when two files share a name)."""
    stems = [path.stem for path in paths]
    keys = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"the database verification key {path} does not exist", hint="pass a PEM public key")
        keys.append(load_cosign_key(path, name=path.stem if stems.count(path.stem) == 1 else str(path)))
    return tuple(keys)


def verify_database(
    client: RegistryClient, reference: ImageRef, manifest_digest: str, keys: Sequence[CosignKey]
) -> CosignKeyResult:
    """At least one of ``keys`` must have signed ``manifest_digest``; raises ``VerificationError`` otherwise."""
    signatures = fetch_signatures(client, reference.repository, manifest_digest)
    result = verify_with_key_policy(manifest_digest, signatures.layers, CosignKeyPolicy(keys=tuple(keys)))
    if not result.verified:
        raise VerificationError(
            f"the database {reference.name}@{manifest_digest} is not signed by a trusted key: {result.reason}",
            hint="push it again with `wharfinger db push REF --key KEY`, or check --key / $WHARFINGER_DB_VERIFY_KEY",
        )
    return result
