"""Attach a signed in-toto attestation to an image, cosign's way (the ``sha256-<hex>.att`` manifest).

The webhook reads these (``providers.RegistryFactsProvider``); this is the writing side, used
to attach a vulnerability-scan attestation made by ``scan`` (TODO: ``wharfinger scan --attest
--key URI`` once the scan command lands) and by the end-to-end tests.

TODO(signing-cosign): move next to ``signing.cosign.registry.append_signature``, its twin for ``.sig``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wharfinger.errors import RegistryNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.client import RegistryClient
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.signing.cosign.attestation import attestation_tag, build_dsse_attestation
from wharfinger.signing.keys.signer import Signer

__all__ = ["attach_attestation", "attest_image"]


def attach_attestation(
    client: RegistryClient, repository: str, image_digest: str, envelope: bytes, layer: Descriptor
) -> str:
    """Append one DSSE envelope layer to the image's ``.att`` manifest (creating it); return its digest."""
    existing: list[Descriptor] = []
    try:
        current = client.get_manifest(repository, attestation_tag(image_digest)).parse()
        if isinstance(current, ImageManifest):
            existing = [d for d in current.layers if d.digest != layer.digest]
    except RegistryNotFoundError:
        pass
    layers = [*existing, layer]
    client.push_blob(repository, layer.digest, len(envelope), envelope)
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [d.digest for d in layers]},
        },
        separators=(",", ":"),
    ).encode()
    config_digest = sha256_digest(config)
    client.push_blob(repository, config_digest, len(config), config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "size": len(config), "digest": config_digest},
            "layers": [d.to_json() for d in layers],
        },
        separators=(",", ":"),
    ).encode()
    return client.push_manifest(repository, manifest, mt.OCI_MANIFEST, tag=attestation_tag(image_digest))


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
    return attach_attestation(client, repository, image_digest, envelope, layer)
