"""Notary Project signatures (JWS and COSE envelopes, X.509 trust, RFC 3161 timestamps), pure core.

Verify a signature whose bytes are in memory::

    from wharfinger.signing.notary import TrustMaterial, load_trust_store, parse_trust_policy
    from wharfinger.signing.notary import verify_notary_signature

    trust = TrustMaterial(policy=parse_trust_policy(policy_bytes), store=load_trust_store(truststore_dir))
    result = verify_notary_signature(envelope, "application/jose+json", descriptor, trust, now,
                                     repository="registry.example/app")
    result.verified, result.reason, result.message

Sign: ``build_jws_envelope`` / ``build_cose_envelope`` with any ``Signer``.
"""

from __future__ import annotations

from wharfinger.signing.notary.model import (
    CheckOutcome,
    CheckResult,
    EnvelopeMediaType,
    FailureReason,
    NotaryVerification,
    SigningScheme,
    TargetDescriptor,
    ValidationAction,
    ValidationType,
    VerificationLevel,
)
from wharfinger.signing.notary.revocation import (
    FetchingRevocationChecker,
    NoRevocationSource,
    PrefetchedRevocation,
    RevocationChecker,
)
from wharfinger.signing.notary.trustpolicy import TrustPolicyDocument, parse_trust_policy
from wharfinger.signing.notary.truststore import StoreType, TrustStore, load_trust_store
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature

__all__ = [
    "CheckOutcome",
    "CheckResult",
    "EnvelopeMediaType",
    "FailureReason",
    "FetchingRevocationChecker",
    "NoRevocationSource",
    "NotaryVerification",
    "PrefetchedRevocation",
    "RevocationChecker",
    "SigningScheme",
    "StoreType",
    "TargetDescriptor",
    "TrustMaterial",
    "TrustPolicyDocument",
    "TrustStore",
    "ValidationAction",
    "ValidationType",
    "VerificationLevel",
    "load_trust_store",
    "parse_trust_policy",
    "verify_notary_signature",
]
