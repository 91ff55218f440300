"""Attach a signed in-toto attestation to an image, cosign's way (the ``sha256-<hex>.att`` manifest).

The webhook reads these (``providers.RegistryFactsProvider``); this is the writing side, used by
``wharfinger scan --attest`` and ``wharfinger attest``. The manifest work is the signing package's
(``signing.cosign.registry.append_attestation``); this module only builds and signs the statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wharfinger.oci.client import RegistryClient
from wharfinger.signing.cosign.attestation import build_dsse_attestation
from wharfinger.signing.cosign.registry import append_attestation
from wharfinger.signing.keys.signer import Signer

__all__ = ["attest_image"]


def attest_image(
    client: RegistryClient,
    repository: str,
    image_digest: str,
    *,
    predicate_type: str,
    predicate: Mapping[str, Any],
    signer: Signer,
) -> str:
    """Sign a statement about ``image_digest`` and attach it; return the ``.att`` manifest digest."""
    envelope, layer = build_dsse_attestation(
        f"{client.host}/{repository}", image_digest, predicate_type, predicate, signer
    )
    return append_attestation(client, repository, image_digest, envelope, layer).digest
