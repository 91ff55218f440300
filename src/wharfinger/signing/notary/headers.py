"""Format-independent rules for Notary Project envelopes: which header is required, critical, forbidden.

``jws.py`` and ``cose.py`` decode their wire formats into a ``RawEnvelope``; ``interpret_headers``
applies every rule once, so both formats enforce exactly the same things.
"""

from __future__ import annotations

import re

from wharfinger.signing.notary.cose import decode_cose
from wharfinger.signing.notary.envelope import (
    DEFAULT_LIMITS,
    EnvelopeLimits,
    InvalidEnvelopeError,
    RawEnvelope,
    check_size,
    malformed,
    parse_payload,
)
from wharfinger.signing.notary.jws import decode_jws
from wharfinger.signing.notary.model import (
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    HEADER_VERIFICATION_PLUGIN,
    HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
    KNOWN_CRITICAL_HEADERS,
    PAYLOAD_MEDIA_TYPE,
    EnvelopeMediaType,
    FailureReason,
    NotaryEnvelope,
    SigningScheme,
)

__all__ = ["interpret_headers", "parse_envelope"]

SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

_NOTARY_HEADERS = frozenset(
    {
        HEADER_SIGNING_SCHEME,
        HEADER_SIGNING_TIME,
        HEADER_AUTHENTIC_SIGNING_TIME,
        HEADER_EXPIRY,
        HEADER_VERIFICATION_PLUGIN,
        HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
    }
)


def parse_envelope(data: bytes, media_type: str, limits: EnvelopeLimits = DEFAULT_LIMITS) -> NotaryEnvelope:
    """Decode an envelope of ``media_type`` (``application/jose+json`` or ``application/cose``)."""
    check_size(data, limits)
    if media_type == EnvelopeMediaType.JWS:
        return interpret_headers(decode_jws(data, limits), limits)
    if media_type == EnvelopeMediaType.COSE:
        return interpret_headers(decode_cose(data, limits), limits)
    raise InvalidEnvelopeError(
        f"signature envelope media type {media_type!r} is not supported",
        reason=FailureReason.UNSUPPORTED_MEDIA_TYPE,
        hint="Notary Project envelopes are application/jose+json or application/cose",
    )


def interpret_headers(raw: RawEnvelope, limits: EnvelopeLimits = DEFAULT_LIMITS) -> NotaryEnvelope:
    if raw.content_type != PAYLOAD_MEDIA_TYPE:
        raise malformed(f"content type {raw.content_type!r} is not supported; expected {PAYLOAD_MEDIA_TYPE!r}")
    crit = _critical_list(raw)
    scheme_value = raw.protected.get(HEADER_SIGNING_SCHEME)
    if scheme_value not in {s.value for s in SigningScheme}:
        raise malformed(f"signing scheme {scheme_value!r} is not notary.x509 or notary.x509.signingAuthority")
    scheme = SigningScheme(str(scheme_value))
    must_be_critical = [HEADER_SIGNING_SCHEME]
    must_be_critical += [
        name
        for name in (
            HEADER_AUTHENTIC_SIGNING_TIME,
            HEADER_EXPIRY,
            HEADER_VERIFICATION_PLUGIN,
            HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
        )
        if name in raw.protected
    ]
    for name in must_be_critical:
        if name not in crit:
            raise malformed(f"header {name!r} must be marked critical (listed in crit)")
    signing_time = raw.times.get(HEADER_SIGNING_TIME)
    authentic = raw.times.get(HEADER_AUTHENTIC_SIGNING_TIME)
    if scheme is SigningScheme.X509:
        if signing_time is None:
            raise malformed("signing scheme notary.x509 requires the io.cncf.notary.signingTime header")
        if HEADER_AUTHENTIC_SIGNING_TIME in raw.protected:
            raise malformed("io.cncf.notary.authenticSigningTime is only valid with notary.x509.signingAuthority")
    else:
        if authentic is None:
            raise malformed("signing scheme notary.x509.signingAuthority requires io.cncf.notary.authenticSigningTime")
        if HEADER_SIGNING_TIME in raw.protected:
            raise malformed("io.cncf.notary.signingTime is only valid with signing scheme notary.x509")
    plugin = raw.protected.get(HEADER_VERIFICATION_PLUGIN)
    plugin_min = raw.protected.get(HEADER_VERIFICATION_PLUGIN_MIN_VERSION)
    if plugin is not None and (not isinstance(plugin, str) or not plugin):
        raise malformed("io.cncf.notary.verificationPlugin must be a non-empty string")
    if plugin_min is not None:
        if plugin is None:
            raise malformed("verificationPluginMinVersion is set without verificationPlugin")
        if not isinstance(plugin_min, str) or not SEMVER_RE.match(plugin_min):
            raise malformed(f"verificationPluginMinVersion {plugin_min!r} is not a semantic version")
    if not raw.certificate_chain:
        raise malformed("the envelope carries no certificate chain (x5c / x5chain)")
    if len(raw.certificate_chain) > limits.max_certificates:
        raise InvalidEnvelopeError(
            f"the certificate chain has {len(raw.certificate_chain)} certificates, more than the limit of "
            f"{limits.max_certificates}",
            reason=FailureReason.OVERSIZED_ENVELOPE,
        )
    extended = tuple(
        sorted((k, v if isinstance(v, str) else repr(v)) for k, v in raw.protected.items() if k not in _NOTARY_HEADERS)
    )
    return NotaryEnvelope(
        media_type=raw.media_type,
        algorithm_name=raw.algorithm_name,
        signing_scheme=scheme,
        content_type=PAYLOAD_MEDIA_TYPE,
        payload=raw.payload,
        target=parse_payload(raw.payload, limits),
        signing_time=signing_time,
        authentic_signing_time=authentic,
        expiry=raw.times.get(HEADER_EXPIRY),
        critical=crit,
        extended_attributes=extended,
        verification_plugin=plugin if isinstance(plugin, str) else None,
        verification_plugin_min_version=plugin_min if isinstance(plugin_min, str) else None,
        certificate_chain=raw.certificate_chain,
        signing_agent=raw.signing_agent,
        timestamp_token=raw.timestamp_token,
        signature=raw.signature,
        signed_bytes=raw.signed_bytes,
    )


def _critical_list(raw: RawEnvelope) -> tuple[str, ...]:
    critical = raw.critical
    if not isinstance(critical, list | tuple) or not critical or not all(isinstance(c, str) for c in critical):
        raise malformed("the crit header must be a non-empty list of header names")
    crit: tuple[str, ...] = tuple(critical)
    if len(set(crit)) != len(crit):
        raise malformed("the crit header lists a header twice")
    for name in crit:
        if name not in raw.protected:
            raise malformed(f"critical header {name!r} is listed in crit but absent from the protected headers")
        if name not in KNOWN_CRITICAL_HEADERS:
            raise InvalidEnvelopeError(
                f"unknown critical header {name!r}: this verifier cannot process it, so it must reject the signature",
                reason=FailureReason.UNKNOWN_CRITICAL_HEADER,
                hint="the signature needs an extension (often a Notation plugin) that Wharfinger does not implement",
            )
    return crit
