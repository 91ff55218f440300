"""Verify one Notary Project signature: bytes, trust material and a time in, a result out. No I/O.

The steps follow the spec's verification workflow, each enforced or only logged as the trust
policy's level (and ``override``) says:

1. select the trust policy for the artifact's repository (none applies: the signature fails);
   level ``skip``: done, verified;
2. integrity (always enforced): parse the envelope, the signing algorithm must be the one the
   certificate's key dictates, the signature must verify, the payload must name the target;
3. authenticity: the chain meets the certificate rules and contains a trust-store certificate,
   and the signing certificate's subject matches a trusted identity;
4. expiry: the signer's "best by" time has not passed;
5. authentic timestamp: ``notary.x509`` — the RFC 3161 countersignature (when the policy has a
   ``tsa`` store) proves the chain was valid when signing, else the chain must be valid now;
   ``notary.x509.signingAuthority`` — the authentic signing time is within the chain's validity;
6. revocation: no certificate of the chain is revoked (OCSP, then CRL, through the injected checker).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from wharfinger.signing.notary.algorithms import (
    BY_COSE_ID,
    BY_JWS_NAME,
    AlgorithmInfo,
    UnsupportedKeyError,
    algorithm_for_key,
    verify_signature,
)
from wharfinger.signing.notary.chain import (
    CertificatePurpose,
    ChainError,
    check_validity_at,
    check_validity_range,
    load_certificates,
    validate_chain,
)
from wharfinger.signing.notary.envelope import DEFAULT_LIMITS, EnvelopeLimits, InvalidEnvelopeError
from wharfinger.signing.notary.headers import SEMVER_RE, parse_envelope
from wharfinger.signing.notary.model import (
    CheckOutcome,
    CheckResult,
    EnvelopeMediaType,
    FailureReason,
    NotaryEnvelope,
    NotaryVerification,
    SigningScheme,
    TargetDescriptor,
    ValidationAction,
    ValidationType,
    VerificationLevel,
)
from wharfinger.signing.notary.revocation import NoRevocationSource, RevocationChecker, RevocationStatus
from wharfinger.signing.notary.timestamp import TimestampError, VerifiedTimestamp, verify_timestamp_token
from wharfinger.signing.notary.trustpolicy import (
    TrustPolicy,
    TrustPolicyDocument,
    VerifyTimestamp,
    parse_distinguished_name,
    select_policy,
)
from wharfinger.signing.notary.truststore import StoreType, TrustStore

__all__ = [
    "DescriptorLike",
    "TrustMaterial",
    "plugin_version_problem",
    "subject_attributes",
    "verify_notary_signature",
]


class DescriptorLike(Protocol):
    @property
    def digest(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def media_type(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustMaterial:
    """Everything a verifier trusts: the policy document and the trust stores it names."""

    policy: TrustPolicyDocument
    store: TrustStore
    # Verification plugins this deployment has (name -> version). Wharfinger runs none itself, so a
    # signature that requires a plugin still fails; this only makes the reason precise.
    installed_plugins: Mapping[str, str] = field(default_factory=dict)


_GO_NAMES = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.POSTAL_CODE: "POSTALCODE",
}


def _escape(value: str) -> str:
    escaped = "".join("\\" + ch if ch in ',+"\\<>;' else ch for ch in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def subject_attributes(cert: x509.Certificate) -> dict[str, str]:
    """The subject as Notation sees it: Go's RFC 2253 string re-parsed, one value per attribute type."""
    parts = []
    for rdn in reversed(list(cert.subject.rdns)):
        if len(rdn) > 1:
            raise ValueError("the certificate subject has multi-valued RDN attributes, which are not supported")
        (attribute,) = tuple(rdn)
        name = _GO_NAMES.get(attribute.oid, attribute.oid.dotted_string)
        parts.append(f"{name}={_escape(str(attribute.value))}")
    return dict(parse_distinguished_name(",".join(parts)))


class _Run:
    """Collects check results; knows whether an enforced failure has stopped the run."""

    def __init__(self, policy: TrustPolicy) -> None:
        self.policy = policy
        self.checks: list[CheckResult] = []
        self.failure: CheckResult | None = None

    def action(self, validation: ValidationType) -> ValidationAction:
        return self.policy.action(validation)

    def passed(self, validation: ValidationType) -> None:
        self.checks.append(
            CheckResult(validation=validation, action=self.action(validation), outcome=CheckOutcome.PASSED)
        )

    def skipped(self, validation: ValidationType, message: str = "") -> None:
        self.checks.append(
            CheckResult(
                validation=validation, action=self.action(validation), outcome=CheckOutcome.SKIPPED, message=message
            )
        )

    def failed(self, validation: ValidationType, reason: FailureReason, message: str, *, force: bool = False) -> bool:
        """Record a failure; True when it is enforced (the run stops)."""
        action = ValidationAction.ENFORCE if force else self.action(validation)
        enforced = action is ValidationAction.ENFORCE
        result = CheckResult(
            validation=validation,
            action=action,
            outcome=CheckOutcome.FAILED if enforced else CheckOutcome.LOGGED,
            reason=reason,
            message=message,
        )
        self.checks.append(result)
        if enforced and self.failure is None:
            self.failure = result
        return enforced


def _no_policy(repository: str) -> NotaryVerification:
    return NotaryVerification(
        verified=False,
        level=None,
        policy_name=None,
        reason=FailureReason.NO_APPLICABLE_POLICY,
        message=f"no trust policy statement applies to {repository!r}: add its repository to a registryScopes list "
        "or add a statement with the global scope '*'",
    )


def _integrity(
    run: _Run, envelope_bytes: bytes, media_type: str, target: DescriptorLike, limits: EnvelopeLimits
) -> tuple[NotaryEnvelope, tuple[x509.Certificate, ...]] | None:
    integrity = ValidationType.INTEGRITY
    try:
        envelope = parse_envelope(envelope_bytes, media_type, limits)
    except InvalidEnvelopeError as exc:
        run.failed(integrity, exc.reason, exc.message, force=True)
        return None
    try:
        chain = load_certificates(envelope.certificate_chain)
    except ChainError as exc:
        run.failed(integrity, FailureReason.MALFORMED_ENVELOPE, exc.message, force=True)
        return None
    try:
        expected = algorithm_for_key(chain[0].public_key())
    except UnsupportedKeyError as exc:
        run.failed(integrity, FailureReason.WEAK_KEY, f"the signing certificate's key is refused: {exc}", force=True)
        return None
    claimed = _claimed_algorithm(envelope)
    if claimed is None or claimed.algorithm is not expected.algorithm:
        run.failed(
            integrity,
            FailureReason.ALGORITHM_MISMATCH,
            f"the envelope claims algorithm {envelope.algorithm_name!r} but the signing certificate's key requires "
            f"{expected.jws_name if envelope.media_type is EnvelopeMediaType.JWS else expected.cose_id} "
            f"({expected.algorithm}); algorithm confusion is refused",
            force=True,
        )
        return None
    if not verify_signature(chain[0].public_key(), expected, envelope.signature, envelope.signed_bytes):
        run.failed(
            integrity,
            FailureReason.TAMPERED,
            "the signature does not verify with the signing certificate's key: the envelope was altered or corrupted",
            force=True,
        )
        return None
    mismatch = _target_mismatch(envelope.target, target)
    if mismatch:
        run.failed(integrity, FailureReason.DIGEST_MISMATCH, mismatch, force=True)
        return None
    run.passed(integrity)
    return envelope, chain


def _claimed_algorithm(envelope: NotaryEnvelope) -> AlgorithmInfo | None:
    if envelope.media_type is EnvelopeMediaType.JWS:
        return BY_JWS_NAME.get(envelope.algorithm_name)
    try:
        return BY_COSE_ID.get(int(envelope.algorithm_name))
    except ValueError:
        return None


def _target_mismatch(signed: TargetDescriptor, target: DescriptorLike) -> str | None:
    if signed.digest != target.digest:
        return f"the signature is for digest {signed.digest}, not for the artifact's {target.digest}"
    if signed.size != target.size:
        return f"the signature is for an artifact of {signed.size} bytes, not {target.size}"
    if signed.media_type != target.media_type:
        return f"the signature is for media type {signed.media_type!r}, not {target.media_type!r}"
    return None


def _authenticity(run: _Run, envelope: NotaryEnvelope, chain: tuple[x509.Certificate, ...], store: TrustStore) -> bool:
    """False when an enforced failure stopped the run."""
    check = ValidationType.AUTHENTICITY
    if run.action(check) is ValidationAction.SKIP:
        run.skipped(check)
        return True
    try:
        validate_chain(chain, CertificatePurpose.CODE_SIGNING)
    except ChainError as exc:
        return not run.failed(check, exc.reason, exc.message)
    wanted = StoreType.CA if envelope.signing_scheme is SigningScheme.X509 else StoreType.SIGNING_AUTHORITY
    names = [name for kind, name in run.policy.trust_stores if kind is wanted]
    if not names:
        return not run.failed(
            check,
            FailureReason.UNTRUSTED_ROOT,
            f"trust policy {run.policy.name!r} has no {wanted} trust store, which signing scheme "
            f"{envelope.signing_scheme} needs",
        )
    trusted = {cert.public_bytes(Encoding.DER) for name in names for cert in store.get(wanted, name)}
    if not any(cert.public_bytes(Encoding.DER) in trusted for cert in chain):
        return not run.failed(
            check,
            FailureReason.UNTRUSTED_ROOT,
            "the signature's certificate chain does not contain any trusted certificate (trust stores: "
            + ", ".join(f"{wanted}:{n}" for n in names)
            + ")",
        )
    identities = run.policy.trusted_identities
    if not any(i.wildcard for i in identities):
        try:
            subject = subject_attributes(chain[0])
        except ValueError as exc:
            return not run.failed(
                check, FailureReason.WRONG_IDENTITY, f"error while parsing the signing certificate's subject: {exc}"
            )
        if not any(identity.matches(subject) for identity in identities):
            return not run.failed(
                check,
                FailureReason.WRONG_IDENTITY,
                f"signing certificate subject {chain[0].subject.rfc4514_string()!r} matches none of the trusted "
                f"identities of policy {run.policy.name!r}",
            )
    run.passed(check)
    return True


def _expiry(run: _Run, envelope: NotaryEnvelope, now: datetime) -> bool:
    check = ValidationType.EXPIRY
    if run.action(check) is ValidationAction.SKIP:
        run.skipped(check)
        return True
    if envelope.expiry is not None and now >= envelope.expiry:
        return not run.failed(
            check,
            FailureReason.EXPIRED,
            f"digital signature has expired on {envelope.expiry.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        )
    run.passed(check)
    return True


def _authentic_timestamp(
    run: _Run, envelope: NotaryEnvelope, chain: tuple[x509.Certificate, ...], store: TrustStore, now: datetime
) -> tuple[bool, VerifiedTimestamp | None]:
    check = ValidationType.AUTHENTIC_TIMESTAMP
    if run.action(check) is ValidationAction.SKIP:
        run.skipped(check)
        return True, None
    if envelope.signing_scheme is SigningScheme.X509_SIGNING_AUTHORITY:
        moment = envelope.authentic_signing_time
        problem = check_validity_at(chain, moment) if moment else "the authentic signing time is missing"
        if problem:
            return not run.failed(check, FailureReason.CERTIFICATE_EXPIRED, problem), None
        run.passed(check)
        return True, None
    tsa_names = [name for kind, name in run.policy.trust_stores if kind is StoreType.TSA]
    expired_now = check_validity_at(chain, now)
    triggered = bool(tsa_names) and (run.policy.verify_timestamp is VerifyTimestamp.ALWAYS or expired_now is not None)
    if not triggered:
        if expired_now:
            return not run.failed(check, FailureReason.CERTIFICATE_EXPIRED, expired_now), None
        run.passed(check)
        return True, None
    if envelope.timestamp_token is None:
        return not run.failed(
            check, FailureReason.TIMESTAMP_MISSING, "no timestamp countersignature was found in the signature envelope"
        ), None
    roots = [cert for name in tsa_names for cert in store.get(StoreType.TSA, name)]
    try:
        stamp = verify_timestamp_token(envelope.timestamp_token, envelope.signature, roots)
    except TimestampError as exc:
        return not run.failed(check, FailureReason.TIMESTAMP_INVALID, exc.message), None
    problem = check_validity_range(chain, stamp.lower, stamp.upper)
    if problem:
        return not run.failed(check, FailureReason.CERTIFICATE_EXPIRED, problem), stamp
    run.passed(check)
    return True, stamp


def _revocation(
    run: _Run,
    *,
    chain: tuple[x509.Certificate, ...],
    checker: RevocationChecker,
    now: datetime,
    authentic_time: datetime | None,
    stamp: VerifiedTimestamp | None,
) -> bool:
    check = ValidationType.REVOCATION
    if run.action(check) is ValidationAction.SKIP:
        run.skipped(check)
        return True
    result = checker.check(chain, now=now, signing_time=authentic_time)
    if result.status is RevocationStatus.GOOD and stamp is not None:
        result = checker.check(stamp.tsa_chain, now=now, signing_time=stamp.gen_time)
        if result.status is not RevocationStatus.GOOD:
            result = type(result)(status=result.status, message=f"timestamp authority: {result.message}")
    if result.status is RevocationStatus.REVOKED:
        return not run.failed(check, FailureReason.REVOKED, result.message)
    if result.status is RevocationStatus.UNAVAILABLE:
        return not run.failed(check, FailureReason.REVOCATION_UNAVAILABLE, result.message)
    run.passed(check)
    return True


def plugin_version_problem(envelope: NotaryEnvelope, installed: Mapping[str, str]) -> str | None:
    """The plugin-version step alone (is the required plugin present, at the minimum version?): None when met."""
    plugin = envelope.verification_plugin
    if plugin is None:
        return None
    version = installed.get(plugin)
    if version is None:
        return f"the signature requires verification plugin {plugin!r}, which is not installed"
    minimum = envelope.verification_plugin_min_version
    if minimum is not None and _semver_key(version) < _semver_key(minimum):
        return (
            f"found plugin {plugin} with version {version} but signature verification needs plugin version greater "
            f"than or equal to {minimum}"
        )
    return None


def _plugin_problem(envelope: NotaryEnvelope, installed: Mapping[str, str]) -> str | None:
    if envelope.verification_plugin is None:
        return None
    return plugin_version_problem(envelope, installed) or (
        f"the signature requires verification plugin {envelope.verification_plugin!r}; Wharfinger cannot run "
        "Notation plugins, so it must fail the signature (spec: implementations without the plugin's logic fail)"
    )


def _semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    match = SEMVER_RE.match(version)
    if not match:
        return (0, 0, 0, 0, ())
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)  # numeric ids sort before alphanumeric ones, as SemVer says


def verify_notary_signature(
    envelope: bytes,
    media_type: str,
    target: DescriptorLike,
    trust: TrustMaterial,
    now: datetime,
    *,
    repository: str,
    revocation: RevocationChecker | None = None,
    limits: EnvelopeLimits = DEFAULT_LIMITS,
) -> NotaryVerification:
    """Verify one signature ``envelope`` of ``media_type`` over ``target`` in ``repository`` at ``now``."""
    policy = select_policy(trust.policy, repository)
    if policy is None:
        return _no_policy(repository)
    run = _Run(policy)
    if policy.level is VerificationLevel.SKIP:
        for validation in ValidationType:
            run.skipped(validation, "trust policy level is skip")
        return NotaryVerification(
            verified=True, level=policy.level, policy_name=policy.name, checks=tuple(run.checks),
            message=f"verification skipped by trust policy {policy.name!r}",
        )  # fmt: skip
    parsed = _integrity(run, envelope, media_type, target, limits)
    envelope_info: NotaryEnvelope | None = None
    chain: tuple[x509.Certificate, ...] = ()
    stamp: VerifiedTimestamp | None = None
    if parsed is not None:
        envelope_info, chain = parsed
        plugin_problem = _plugin_problem(envelope_info, trust.installed_plugins)
        if plugin_problem:
            run.failed(ValidationType.INTEGRITY, FailureReason.PLUGIN_REQUIRED, plugin_problem, force=True)
        elif _authenticity(run, envelope_info, chain, trust.store) and _expiry(run, envelope_info, now):
            ok, stamp = _authentic_timestamp(run, envelope_info, chain, trust.store, now)
            if ok:
                authentic_time = stamp.gen_time if stamp else envelope_info.authentic_signing_time
                _revocation(
                    run,
                    chain=chain,
                    checker=revocation or NoRevocationSource(),
                    now=now,
                    authentic_time=authentic_time,
                    stamp=stamp,
                )
    done = {c.validation for c in run.checks}
    checks = list(run.checks)
    checks += [
        CheckResult(validation=v, action=policy.action(v), outcome=CheckOutcome.NOT_RUN)
        for v in ValidationType
        if v not in done
    ]
    failure = run.failure
    logged = tuple(c for c in checks if c.outcome is CheckOutcome.LOGGED)
    return NotaryVerification(
        verified=failure is None,
        level=policy.level,
        policy_name=policy.name,
        checks=tuple(checks),
        reason=failure.reason if failure else None,
        message=failure.message if failure else f"verified under trust policy {policy.name!r} ({policy.level})",
        signer_subject=chain[0].subject.rfc4514_string() if chain else None,
        signing_scheme=envelope_info.signing_scheme if envelope_info else None,
        signing_time=(envelope_info.signing_time or envelope_info.authentic_signing_time) if envelope_info else None,
        timestamp_time=stamp.gen_time if stamp else None,
        envelope_media_type=media_type,
        target=envelope_info.target if envelope_info else None,
        logged=logged,
    )
