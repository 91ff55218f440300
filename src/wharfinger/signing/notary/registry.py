"""Notary Project signatures in a registry (edge): push one, find and verify all of an image's.

Signing (``push_signature``): the envelope blob and the OCI 1.1 artifact manifest go to the
image's repository through ``wharfinger.oci.referrers.attach_artifact``, which also maintains the
``sha256-<hex>`` tag-schema index on registries without the referrers API.

Verifying (``verify_image``):

1. the trust policy is selected first: level ``skip`` needs no registry call at all;
2. the referrers of the image digest with artifact type ``application/vnd.cncf.notary.signature``
   are listed (bounded; the tag schema on older registries);
3. each signature manifest and its envelope blob are fetched (digest-verified, size-capped), at
   most ``MAX_SIGNATURE_ATTEMPTS``, and the pure ``image.verify_image_signatures`` decides: as in
   Notation, the image verifies when at least one signature does.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime

from wharfinger.errors import ManifestError, RegistryError, RegistryNotFoundError, WharfingerError
from wharfinger.oci.client import RegistryClient
from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.oci.referrers import attach_artifact, list_referrers
from wharfinger.signing.notary.artifact import MAX_ENVELOPE_BLOB_BYTES, signature_annotations, signature_layer
from wharfinger.signing.notary.image import (
    MAX_SIGNATURE_ATTEMPTS,
    FetchedSignature,
    ImageVerification,
    applicable_policy,
    verify_image_signatures,
)
from wharfinger.signing.notary.model import SIGNATURE_ARTIFACT_TYPE, VerificationLevel
from wharfinger.signing.notary.revocation import RevocationChecker
from wharfinger.signing.notary.verifier import TrustMaterial

__all__ = ["ImageVerification", "push_signature", "verify_image"]  # ImageVerification lives in image.py


def push_signature(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    envelope: bytes,
    *,
    media_type: str,
    chain: tuple[bytes, ...],
) -> Descriptor:
    """Attach ``envelope`` to ``subject`` as a Notary signature; returns the signature manifest's descriptor."""
    return attach_artifact(
        client,
        repository,
        subject,
        SIGNATURE_ARTIFACT_TYPE,
        [(media_type, envelope)],
        annotations=signature_annotations(chain),
    )


def _fetch_envelope(client: RegistryClient, repository: str, descriptor: Descriptor) -> tuple[bytes, str]:
    fetched = client.get_manifest(repository, descriptor.digest)
    manifest = fetched.parse(max_bytes=client.settings.max_manifest_bytes)
    if not isinstance(manifest, ImageManifest):
        raise ValueError("the referrer is not an image manifest")  # noqa: TRY004 -- a bad document, not a bad type
    layer = signature_layer(manifest)
    sink = io.BytesIO()
    client.download_blob(repository, layer.descriptor.digest, sink, size=layer.descriptor.size)
    data = sink.getvalue()
    if len(data) > MAX_ENVELOPE_BLOB_BYTES:
        raise ValueError("the signature envelope is larger than the limit")
    return data, layer.media_type.value


def verify_image(
    client: RegistryClient,
    repository: str,
    subject: Descriptor,
    trust: TrustMaterial,
    now: datetime,
    *,
    revocation: RevocationChecker | None = None,
    max_signatures: int = MAX_SIGNATURE_ATTEMPTS,
    user_metadata: Mapping[str, str] | None = None,
    registry: str | None = None,
) -> ImageVerification:
    """Fetch and verify the Notary signatures of ``subject`` in ``repository`` (without the host).

    ``registry`` is the name in the image reference (``docker.io``), which trust policy scopes use;
    it defaults to the client's host, which differs only where the API lives elsewhere (Docker Hub).
    """
    scope = f"{registry or client.host}/{repository}"
    policy = applicable_policy(trust, scope)
    if policy is None or policy.level is VerificationLevel.SKIP:  # decided without a registry call
        return verify_image_signatures((), subject, trust, now, repository=scope)
    referrers = list_referrers(client, repository, subject.digest, artifact_type=SIGNATURE_ARTIFACT_TYPE)
    fetched = [_fetch(client, repository, d) for d in referrers.descriptors[:max_signatures]]
    return verify_image_signatures(
        fetched, subject, trust, now, repository=scope, revocation=revocation, referrers_source=referrers.source,
        referrers_truncated=referrers.truncated, referrers_total=len(referrers.descriptors),
        max_signatures=max_signatures, user_metadata=user_metadata,
    )  # fmt: skip


def _fetch(client: RegistryClient, repository: str, descriptor: Descriptor) -> FetchedSignature:
    try:
        envelope, media_type = _fetch_envelope(client, repository, descriptor)
    except (ValueError, ManifestError) as exc:
        return FetchedSignature(manifest_digest=descriptor.digest, problem=str(exc))
    except RegistryNotFoundError as exc:  # a referrer entry pointing at nothing
        return FetchedSignature(manifest_digest=descriptor.digest, problem=exc.message)
    except RegistryError:
        raise
    except WharfingerError as exc:  # e.g. a blob whose digest does not match
        return FetchedSignature(manifest_digest=descriptor.digest, problem=exc.message)
    return FetchedSignature(manifest_digest=descriptor.digest, envelope=envelope, envelope_media_type=media_type)
