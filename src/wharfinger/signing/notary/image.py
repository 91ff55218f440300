"""Verify all the Notary signatures of one image (pure): fetched signature blobs in, one verdict out.

The registry edge (``registry.verify_image``) or the admission webhook fetch the referrers and
their envelopes; this module decides. As in Notation, the image verifies when at least one
signature does; every signature's result is kept, and at most ``max_signatures`` are evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from wharfinger.signing.notary.envelope import DEFAULT_LIMITS, EnvelopeLimits
from wharfinger.signing.notary.model import FailureReason, NotaryVerification, VerificationLevel
from wharfinger.signing.notary.revocation import RevocationChecker
from wharfinger.signing.notary.trustpolicy import TrustPolicy, select_policy
from wharfinger.signing.notary.verifier import DescriptorLike, TrustMaterial, verify_notary_signature

__all__ = [
    "MAX_SIGNATURE_ATTEMPTS",
    "FetchedSignature",
    "ImageVerification",
    "SignatureOutcome",
    "applicable_policy",
    "verify_image_signatures",
]

# Signatures evaluated per image before giving up (Notation's default is 100 too): a subject with
# thousands of referrers costs bounded time, and the verdict says the limit was hit.
MAX_SIGNATURE_ATTEMPTS = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedSignature:
    """One signature referrer as fetched: its envelope, or why it could not be used."""

    manifest_digest: str
    envelope: bytes | None = None
    envelope_media_type: str | None = None
    problem: str | None = None  # set when the manifest or blob was unusable


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
    referrers_source: str = ""  # "api", "tag-schema", "none" (how the registry listed them)
    truncated: bool = False  # more signature referrers exist than were evaluated


def applicable_policy(trust: TrustMaterial, repository: str) -> TrustPolicy | None:
    return select_policy(trust.policy, repository)


def verify_image_signatures(
    signatures: Sequence[FetchedSignature],
    subject: DescriptorLike,
    trust: TrustMaterial,
    now: datetime,
    *,
    repository: str,
    revocation: RevocationChecker | None = None,
    referrers_source: str = "",
    referrers_truncated: bool = False,
    referrers_total: int | None = None,  # how many signature referrers exist, when more were listed than fetched
    max_signatures: int = MAX_SIGNATURE_ATTEMPTS,
    limits: EnvelopeLimits = DEFAULT_LIMITS,
    user_metadata: Mapping[str, str] | None = None,
) -> ImageVerification:
    """The verdict on ``subject`` in ``repository`` (``registry/repo``) from its fetched signatures."""
    reference = f"{repository}@{subject.digest}"
    policy = select_policy(trust.policy, repository)
    if policy is None:
        return ImageVerification(
            reference=reference, digest=subject.digest, verified=False, policy_name=None, level=None,
            message=f"no trust policy statement applies to {repository!r}: add it to a registryScopes list or add "
            "a statement with the global scope '*'",
        )  # fmt: skip
    if policy.level is VerificationLevel.SKIP:
        return ImageVerification(
            reference=reference, digest=subject.digest, verified=True, policy_name=policy.name, level=policy.level,
            message=f"signature verification is skipped for {repository} by trust policy {policy.name!r}",
        )  # fmt: skip
    total = max(referrers_total or 0, len(signatures))
    limited = total > max_signatures
    outcomes = []
    for fetched in signatures[:max_signatures]:
        if fetched.envelope is None or fetched.envelope_media_type is None:
            result = NotaryVerification(
                verified=False, level=policy.level, policy_name=policy.name, reason=FailureReason.MALFORMED_ENVELOPE,
                message=f"the signature artifact is unusable: {fetched.problem or 'no envelope'}",
            )  # fmt: skip
        else:
            result = verify_notary_signature(
                fetched.envelope, fetched.envelope_media_type, subject, trust, now,
                repository=repository, revocation=revocation, limits=limits, user_metadata=user_metadata,
            )  # fmt: skip
        outcomes.append(
            SignatureOutcome(
                manifest_digest=fetched.manifest_digest, envelope_media_type=fetched.envelope_media_type, result=result
            )
        )
    verified = any(o.result.verified for o in outcomes)
    if not outcomes:
        message = f"no signature is associated with {reference}, make sure the artifact was signed successfully"
    elif verified:
        good = next(o for o in outcomes if o.result.verified)
        message = f"{reference} verified: signature {good.manifest_digest} by {good.result.signer_subject}"
    else:
        shown = "; ".join(f"{o.manifest_digest[:19]}: {o.result.message}" for o in outcomes[:3])
        message = f"none of the {len(outcomes)} signature(s) of {reference} verified: {shown}"
        if limited or referrers_truncated:
            message += (
                f" (stopped after the limit of {max_signatures} signatures; the image has "
                f"{total}{'+' if referrers_truncated else ''} signature referrers)"
            )
    return ImageVerification(
        reference=reference,
        digest=subject.digest,
        verified=verified,
        message=message,
        policy_name=policy.name,
        level=policy.level,
        signatures=tuple(outcomes),
        referrers_source=referrers_source,
        truncated=referrers_truncated or limited,
    )
