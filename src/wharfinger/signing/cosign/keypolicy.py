"""Verifying an image's cosign signatures against trusted keys, with a threshold.

Several signers can sign one image (a manifest with several layers). The policy says how many
distinct trusted keys must have signed (``threshold``, default 1: any), and which named keys
must be among them (``required``). An empty key list never passes: that would be "trust
nothing" turned into "trust anything".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wharfinger.signing.cosign.simplesigning import (
    CosignKey,
    CosignSignatureLayer,
    FailureReason,
    KeyVerification,
    verify_layer_with_key,
)

__all__ = ["CosignKeyPolicy", "CosignKeyResult", "verify_with_key_policy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignKeyPolicy:
    keys: tuple[CosignKey, ...]
    threshold: int = 1  # distinct trusted keys that must have signed
    required: tuple[str, ...] = ()  # names of keys that must be among them


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignKeyResult:
    verified: bool
    signed_by: tuple[str, ...]  # names of the trusted keys whose signature verified
    per_signature: tuple[tuple[KeyVerification, ...], ...]  # for each layer, the outcome under each key
    reason: str  # one line a developer can act on


def verify_with_key_policy(
    image_digest: str, layers: Sequence[CosignSignatureLayer], policy: CosignKeyPolicy
) -> CosignKeyResult:
    if not policy.keys:
        return CosignKeyResult(
            verified=False,
            signed_by=(),
            per_signature=(),
            reason="no trusted cosign keys are configured; nothing can be verified",
        )
    if not layers:
        return CosignKeyResult(
            verified=False,
            signed_by=(),
            per_signature=(),
            reason=f"no cosign signatures found for {image_digest}; sign it with `wharfinger sign`",
        )
    outcomes = tuple(tuple(verify_layer_with_key(layer, image_digest, key) for key in policy.keys) for layer in layers)
    signed_by = tuple(sorted({o.key_name for row in outcomes for o in row if o.verified and o.key_name}))
    missing = [name for name in policy.required if name not in signed_by]
    threshold = max(policy.threshold, 1, len(policy.required))
    if missing:
        reason = f"missing required signature(s) from {', '.join(missing)}"
    elif len(signed_by) < threshold:
        reason = (
            f"validation threshold not reached: {len(signed_by)} of {threshold} required trusted signatures"
            + _why_not(outcomes)
        )
    else:
        return CosignKeyResult(
            verified=True, signed_by=signed_by, per_signature=outcomes, reason=f"signed by {', '.join(signed_by)}"
        )
    return CosignKeyResult(verified=False, signed_by=signed_by, per_signature=outcomes, reason=reason)


def _why_not(outcomes: tuple[tuple[KeyVerification, ...], ...]) -> str:
    """The most telling failure: a digest mismatch beats 'not signed by this key'."""
    failures = [o for row in outcomes for o in row if not o.verified]
    for reason in (FailureReason.DIGEST_MISMATCH, FailureReason.WRONG_TYPE, FailureReason.MALFORMED):
        for failure in failures:
            if failure.reason is reason:
                return f" ({failure.message})"
    return ""
