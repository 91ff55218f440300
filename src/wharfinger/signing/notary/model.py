"""Domain objects of Notary Project signatures: what an envelope says, and what verification found.

All frozen: an envelope is parsed once (``jws.parse_jws`` / ``cose.parse_cose``) into a
``NotaryEnvelope`` and every later check reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "CheckOutcome",
    "CheckResult",
    "EnvelopeMediaType",
    "FailureReason",
    "NotaryEnvelope",
    "NotaryVerification",
    "SigningScheme",
    "TargetDescriptor",
    "ValidationAction",
    "ValidationType",
    "VerificationLevel",
]

PAYLOAD_MEDIA_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
THUMBPRINT_ANNOTATION = "io.cncf.notary.x509chain.thumbprint#S256"

# Protected header names shared by JWS and COSE (COSE uses the same strings as map keys).
HEADER_SIGNING_SCHEME = "io.cncf.notary.signingScheme"
HEADER_SIGNING_TIME = "io.cncf.notary.signingTime"
HEADER_AUTHENTIC_SIGNING_TIME = "io.cncf.notary.authenticSigningTime"
HEADER_EXPIRY = "io.cncf.notary.expiry"
HEADER_VERIFICATION_PLUGIN = "io.cncf.notary.verificationPlugin"
HEADER_VERIFICATION_PLUGIN_MIN_VERSION = "io.cncf.notary.verificationPluginMinVersion"
HEADER_SIGNING_AGENT = "io.cncf.notary.signingAgent"
HEADER_TIMESTAMP_SIGNATURE = "io.cncf.notary.timestampSignature"

# Critical headers this implementation understands and processes; any other critical header fails.
KNOWN_CRITICAL_HEADERS = frozenset(
    {
        HEADER_SIGNING_SCHEME,
        HEADER_AUTHENTIC_SIGNING_TIME,
        HEADER_EXPIRY,
        HEADER_VERIFICATION_PLUGIN,
        HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
    }
)


class EnvelopeMediaType(StrEnum):
    JWS = "application/jose+json"
    COSE = "application/cose"


class SigningScheme(StrEnum):
    X509 = "notary.x509"
    X509_SIGNING_AUTHORITY = "notary.x509.signingAuthority"


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetDescriptor:
    """The artifact a signature is about (an OCI descriptor's identifying fields)."""

    media_type: str
    digest: str
    size: int
    annotations: tuple[tuple[str, str], ...] = ()  # sorted (key, value) pairs
    artifact_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaryEnvelope:
    """A parsed, not yet trusted, Notary Project signature envelope."""

    media_type: EnvelopeMediaType
    algorithm_name: str  # as written in the envelope: "PS384" (JWS) or "-38" (COSE)
    signing_scheme: SigningScheme
    content_type: str
    payload: bytes
    target: TargetDescriptor
    signing_time: datetime | None
    authentic_signing_time: datetime | None
    expiry: datetime | None
    critical: tuple[str, ...]
    extended_attributes: tuple[tuple[str, str], ...]  # other protected headers, stringified
    verification_plugin: str | None
    verification_plugin_min_version: str | None
    certificate_chain: tuple[bytes, ...]  # DER, signing certificate first
    signing_agent: str | None
    timestamp_token: bytes | None  # DER CMS ContentInfo (RFC 3161 TimeStampToken)
    signature: bytes  # raw signature value (r||s for ECDSA)
    signed_bytes: bytes  # exactly what the signature covers


class VerificationLevel(StrEnum):
    STRICT = "strict"
    PERMISSIVE = "permissive"
    AUDIT = "audit"
    SKIP = "skip"


class ValidationType(StrEnum):
    INTEGRITY = "integrity"
    AUTHENTICITY = "authenticity"
    AUTHENTIC_TIMESTAMP = "authenticTimestamp"
    EXPIRY = "expiry"
    REVOCATION = "revocation"


class ValidationAction(StrEnum):
    ENFORCE = "enforce"
    LOG = "log"
    SKIP = "skip"


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # and enforced: the signature is rejected
    LOGGED = "logged"  # failed, but the level only logs this check
    SKIPPED = "skipped"  # the level or override skips it
    NOT_RUN = "not-run"  # an earlier enforced check already failed


class FailureReason(StrEnum):
    """Why a signature did not verify; stable names for policy, metrics and JSON output."""

    NO_APPLICABLE_POLICY = "no-applicable-policy"
    MALFORMED_ENVELOPE = "malformed-envelope"
    OVERSIZED_ENVELOPE = "oversized-envelope"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    UNKNOWN_CRITICAL_HEADER = "unknown-critical-header"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    WEAK_KEY = "weak-key"
    TAMPERED = "tampered"
    DIGEST_MISMATCH = "digest-mismatch"
    INVALID_CERTIFICATE_CHAIN = "invalid-certificate-chain"
    UNTRUSTED_ROOT = "untrusted-root"
    WRONG_IDENTITY = "wrong-identity"
    EXPIRED = "expired"
    CERTIFICATE_EXPIRED = "certificate-expired"
    TIMESTAMP_INVALID = "timestamp-invalid"
    TIMESTAMP_MISSING = "timestamp-missing"
    REVOKED = "revoked"
    REVOCATION_UNAVAILABLE = "revocation-unavailable"
    PLUGIN_REQUIRED = "plugin-required"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    validation: ValidationType
    action: ValidationAction
    outcome: CheckOutcome
    reason: FailureReason | None = None
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaryVerification:
    """The answer for one signature: verified or not, and every check with its outcome."""

    verified: bool
    level: VerificationLevel | None  # None when no policy applied
    policy_name: str | None
    checks: tuple[CheckResult, ...] = ()
    reason: FailureReason | None = None  # the first enforced failure
    message: str = ""  # a sentence a user can act on
    signer_subject: str | None = None  # RFC 4514 subject of the signing certificate
    signing_scheme: SigningScheme | None = None
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None  # TSA genTime, when a timestamp was verified
    envelope_media_type: str | None = None
    target: TargetDescriptor | None = None
    logged: tuple[CheckResult, ...] = field(default=())  # failures that the level only logs
