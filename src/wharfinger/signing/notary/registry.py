"""Notary Project signatures in a registry (edge): push one, find and verify all of an image's.

Signing (``push_signature``): the envelope blob and the OCI 1.1 artifact manifest go to the
image's repository through ``wharfinger.oci.referrers.attach_artifact``, which also maintains the
``sha256-<hex>`` tag-schema index on registries without the referrers API.

Verifying (``verify_image``):

1. the trust policy is selected first: level ``skip`` needs no registry call at all;
2. the referrers of the image digest with artifact type ``application/vnd.cncf.notary.signature``
   are listed (bounded; the tag schema on older registries);
3. each signature manifest and its envelope blob are fetched (digest-verified, size-capped) and
   handed to the pure ``verify_notary_signature``; as in Notation, the image verifies when at
   least one signature does, and every signature's outcome is kept for the report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from wharfinger.errors import ManifestError, RegistryError, WharfingerError
from wharfinger.oci.client import RegistryClient
from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.oci.referrers import attach_artifact, list_referrers
from wharfinger.signing.notary.artifact import MAX_ENVELOPE_BLOB_BYTES, signature_annotations, signature_layer
from wharfinger.signing.notary.model import (
    SIGNATURE_ARTIFACT_TYPE,
    FailureReason,
    NotaryVerification,
    VerificationLevel,
)
from wharfinger.signing.notary.revocation import RevocationChecker
from wharfinger.signing.notary.trustpolicy import select_policy
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature

__all__ = ["ImageVerification", "SignatureOutcome", "push_signature", "verify_image"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureOutcome:
    manifest_digest: str
    envelope_media_type: str | None
    result: NotaryVerification


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageVerification:
    reference: str  # registry/repository@digest
    digest: str
    verified: bool
    message: str
    policy_name: str | None
    level: VerificationLevel | None
    signatures: tuple[SignatureOutcome, ...] = ()
    referrers_source: str = ""  # "api", "tag-schema", "none"
    truncated: bool = False


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
) -> ImageVerification:
    """Verify every Notary signature of ``subject`` in ``repository`` (``repository`` without the host)."""
    scope = f"{client.host}/{repository}"
    reference = f"{scope}@{subject.digest}"
    policy = select_policy(trust.policy, scope)
    if policy is None:
        return ImageVerification(
            reference=reference, digest=subject.digest, verified=False, policy_name=None, level=None,
            message=f"no trust policy statement applies to {scope!r}",
        )  # fmt: skip
    if policy.level is VerificationLevel.SKIP:
        return ImageVerification(
            reference=reference, digest=subject.digest, verified=True, policy_name=policy.name, level=policy.level,
            message=f"signature verification is skipped for {scope} by trust policy {policy.name!r}",
        )  # fmt: skip
    referrers = list_referrers(client, repository, subject.digest, artifact_type=SIGNATURE_ARTIFACT_TYPE)
    outcomes: list[SignatureOutcome] = []
    for descriptor in referrers.descriptors:
        try:
            envelope, media_type = _fetch_envelope(client, repository, descriptor)
        except (ValueError, ManifestError) as exc:
            outcomes.append(_broken(descriptor, policy.name, policy.level, str(exc)))
            continue
        except RegistryError:
            raise
        except WharfingerError as exc:  # e.g. a blob whose digest does not match
            outcomes.append(_broken(descriptor, policy.name, policy.level, exc.message))
            continue
        result = verify_notary_signature(
            envelope, media_type, subject, trust, now, repository=scope, revocation=revocation
        )
        outcomes.append(
            SignatureOutcome(manifest_digest=descriptor.digest, envelope_media_type=media_type, result=result)
        )
    verified = any(o.result.verified for o in outcomes)
    if not outcomes:
        message = f"no signature is associated with {reference}, make sure the artifact was signed successfully"
    elif verified:
        good = next(o for o in outcomes if o.result.verified)
        message = f"{reference} verified: signature {good.manifest_digest} by {good.result.signer_subject}"
    else:
        message = f"none of the {len(outcomes)} signature(s) of {reference} verified: " + "; ".join(
            f"{o.manifest_digest[:19]}: {o.result.message}" for o in outcomes
        )
    return ImageVerification(
        reference=reference,
        digest=subject.digest,
        verified=verified,
        message=message,
        policy_name=policy.name,
        level=policy.level,
        signatures=tuple(outcomes),
        referrers_source=referrers.source,
        truncated=referrers.truncated,
    )


def _broken(descriptor: Descriptor, policy_name: str, level: VerificationLevel, message: str) -> SignatureOutcome:
    return SignatureOutcome(
        manifest_digest=descriptor.digest,
        envelope_media_type=None,
        result=NotaryVerification(
            verified=False,
            level=level,
            policy_name=policy_name,
            reason=FailureReason.MALFORMED_ENVELOPE,
            message=f"the signature artifact is unusable: {message}",
        ),
    )
