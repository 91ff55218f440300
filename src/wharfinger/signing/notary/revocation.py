"""Certificate revocation by OCSP and CRL, as the trust-store/trust-policy spec describes.

The I/O is behind ``RevocationFetcher`` (download a CRL, post an OCSP request); everything else is
pure: ``evaluate_crl`` and ``evaluate_ocsp`` judge bytes at a given time, and
``FetchingRevocationChecker`` walks a chain from the root down, OCSP first then CRL. The webhook
can pass ``PrefetchedRevocation`` (responses it cached) and stay free of network calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from asn1crypto import keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from wharfinger.signing.notary.chain import describe

__all__ = [
    "FetchingRevocationChecker",
    "NoRevocationSource",
    "PrefetchedRevocation",
    "RevocationChecker",
    "RevocationFetchError",
    "RevocationFetcher",
    "RevocationResult",
    "RevocationStatus",
    "crl_urls",
    "delta_crl_urls",
    "evaluate_crl",
    "evaluate_ocsp",
    "ocsp_request",
    "ocsp_urls",
]

CLOCK_SKEW = timedelta(minutes=5)  # tolerance for OCSP thisUpdate in the future (responder clocks drift)


class RevocationStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNAVAILABLE = "unavailable"  # could not be determined: the spec treats it as a failure


@dataclass(frozen=True, slots=True, kw_only=True)
class RevocationResult:
    status: RevocationStatus
    message: str = ""


class RevocationFetchError(Exception):
    """A CRL or OCSP responder could not be reached or answered with an error."""


class RevocationFetcher(Protocol):
    def fetch_crl(self, url: str) -> bytes: ...

    def post_ocsp(self, url: str, request_der: bytes) -> bytes: ...


class RevocationChecker(Protocol):
    def check(
        self, chain: Sequence[x509.Certificate], *, now: datetime, signing_time: datetime | None
    ) -> RevocationResult: ...


def _uris(names: Sequence[x509.GeneralName]) -> list[str]:
    return [n.value for n in names if isinstance(n, x509.UniformResourceIdentifier) and n.value.startswith("http")]


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return _uris([d.access_location for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP])


def crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [url for point in cdp for url in _uris(point.full_name or [])]


def delta_crl_urls(source: x509.Certificate | x509.CertificateRevocationList) -> list[str] | None:
    """HTTP URLs of the Freshest CRL (delta CRL) extension; None when there is no such extension.

    An extension without any HTTP URL gives ``[]``: a delta CRL exists but cannot be fetched.
    """
    try:
        freshest = source.extensions.get_extension_for_class(x509.FreshestCRL).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a malformed extension: treat as present but unusable
        return []
    return [url for point in freshest for url in _uris(point.full_name or [])]


def _verify_by(public_key: object, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm | None) -> bool:
    if hash_algorithm is None or isinstance(hash_algorithm, hashes.SHA1 | hashes.MD5):
        return False
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _revoked_after_signing(invalidity: datetime | None, signing_time: datetime | None) -> bool:
    """True when the key was compromised only after an authentic signing time: the signature stays valid."""
    return invalidity is not None and signing_time is not None and invalidity > signing_time


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(data) if not data.startswith(b"-----") else x509.load_pem_x509_crl(data)


def _crl_number(crl: x509.CertificateRevocationList, kind: type[x509.CRLNumber | x509.DeltaCRLIndicator]) -> int | None:
    try:
        value = crl.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    return value.crl_number


def _unavailable(message: str) -> RevocationResult:
    return RevocationResult(status=RevocationStatus.UNAVAILABLE, message=message)


def _signed_crl(
    der: bytes, what: str, cert: x509.Certificate, issuer: x509.Certificate
) -> x509.CertificateRevocationList | RevocationResult:
    """The base or delta CRL (``what``) for ``cert``, parsed and signed by ``issuer``; else why it is unusable."""
    try:
        crl = _load_crl(der)
    except ValueError as exc:
        return _unavailable(f"the {what} does not parse: {exc}")
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        return _unavailable(f"the {what} for {describe(cert)!r} is not signed by its issuer")
    return crl


def evaluate_crl(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crl_der: bytes,
    *,
    now: datetime,
    signing_time: datetime | None,
    delta_der: bytes | None = None,
) -> RevocationResult:
    """Judge ``cert`` by its issuer's base CRL and, when given, the delta CRL that updates it."""
    try:
        return _evaluate_crl(cert, issuer, crl_der, now=now, signing_time=signing_time, delta_der=delta_der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # cryptography decodes CRL fields lazily
        return _unavailable(f"the CRL for {describe(cert)!r} is malformed: {exc}")


def _evaluate_crl(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crl_der: bytes,
    *,
    now: datetime,
    signing_time: datetime | None,
    delta_der: bytes | None = None,
) -> RevocationResult:
    crl = _signed_crl(crl_der, "CRL", cert, issuer)
    if isinstance(crl, RevocationResult):
        return crl
    if _crl_number(crl, x509.DeltaCRLIndicator) is not None:
        return _unavailable("a delta CRL was served as a base CRL")
    delta: x509.CertificateRevocationList | None = None
    if delta_der is not None:
        loaded = _signed_crl(delta_der, "delta CRL", cert, issuer)
        if isinstance(loaded, RevocationResult):
            return loaded
        delta = loaded
        base_needed = _crl_number(delta, x509.DeltaCRLIndicator)
        base_number = _crl_number(crl, x509.CRLNumber)
        if base_needed is None:
            return _unavailable("the delta CRL has no delta CRL indicator")
        if base_number is None or base_number < base_needed:
            return _unavailable(f"the delta CRL needs base CRL number {base_needed}, the base CRL is {base_number}")
        if delta.next_update_utc is not None and now > delta.next_update_utc:
            return _unavailable(f"the delta CRL for {describe(cert)!r} expired at {delta.next_update_utc}")
    expired = crl.next_update_utc is not None and now > crl.next_update_utc
    entry = None
    if delta is not None:
        entry = delta.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        if expired:
            return RevocationResult(
                status=RevocationStatus.UNAVAILABLE,
                message=f"the CRL for {describe(cert)!r} expired at {crl.next_update_utc}; its answer is stale",
            )
        return RevocationResult(status=RevocationStatus.GOOD)
    invalidity = None
    reason = "unspecified"
    for ext in entry.extensions:
        if isinstance(ext.value, x509.InvalidityDate):
            invalidity = ext.value.invalidity_date_utc
        if isinstance(ext.value, x509.CRLReason):
            reason = ext.value.reason.name
    if reason == "remove_from_crl":
        return RevocationResult(status=RevocationStatus.GOOD)
    if _revoked_after_signing(invalidity, signing_time):
        return RevocationResult(status=RevocationStatus.GOOD, message="revoked only after the authentic signing time")
    return RevocationResult(
        status=RevocationStatus.REVOKED,
        message=f"certificate {describe(cert)!r} (serial {cert.serial_number:x}) is revoked ({reason}) "
        f"since {entry.revocation_date_utc.isoformat()}",
    )


def ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    # CertID hashes use SHA-1 by RFC 6960 convention; this is an identifier, not a signature.
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
    return builder.build().public_bytes(Encoding.DER)


def evaluate_ocsp(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    response_der: bytes,
    *,
    now: datetime,
    signing_time: datetime | None,
) -> RevocationResult:
    try:
        response = ocsp.load_der_ocsp_response(response_der)
    except ValueError as exc:
        return RevocationResult(status=RevocationStatus.UNAVAILABLE, message=f"the OCSP response does not parse: {exc}")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return RevocationResult(
            status=RevocationStatus.UNAVAILABLE, message=f"the OCSP responder answered {response.response_status.name}"
        )
    signer_key = None
    if response.responder_name == issuer.subject or response.responder_key_hash == _key_hash(issuer):
        signer_key = issuer.public_key()
    else:
        for delegate in response.certificates:
            if _is_delegated_responder(delegate, issuer, now):
                signer_key = delegate.public_key()
                break
    if signer_key is None or not _verify_by(
        signer_key, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
    ):
        return RevocationResult(
            status=RevocationStatus.UNAVAILABLE,
            message=f"the OCSP response for {describe(cert)!r} is not signed by its issuer or a delegated responder",
        )
    for single in response.responses:
        if single.serial_number != cert.serial_number or single.issuer_key_hash != _key_hash(
            issuer, single.hash_algorithm
        ):
            continue
        if single.this_update_utc > now + CLOCK_SKEW or (
            single.next_update_utc is not None and now > single.next_update_utc
        ):
            return RevocationResult(status=RevocationStatus.UNAVAILABLE, message="the OCSP response is not current")
        if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return RevocationResult(status=RevocationStatus.GOOD)
        if single.certificate_status == ocsp.OCSPCertStatus.UNKNOWN:
            return RevocationResult(status=RevocationStatus.UNAVAILABLE, message="the OCSP responder does not know it")
        revoked_at = single.revocation_time_utc
        if _revoked_after_signing(revoked_at, signing_time):
            return RevocationResult(
                status=RevocationStatus.GOOD, message="revoked only after the authentic signing time"
            )
        return RevocationResult(
            status=RevocationStatus.REVOKED,
            message=f"certificate {describe(cert)!r} (serial {cert.serial_number:x}) is revoked since "
            f"{revoked_at.isoformat() if revoked_at else 'an unknown time'} (OCSP)",
        )
    return RevocationResult(
        status=RevocationStatus.UNAVAILABLE, message="the OCSP response is about another certificate"
    )


def _key_hash(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm | None = None) -> bytes:
    digest = hashes.Hash(algorithm or hashes.SHA1())  # noqa: S303 -- RFC 6960 ResponderID byKey is SHA-1
    spki = issuer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    # byKey hashes the BIT STRING contents of subjectPublicKey, not the whole SPKI.
    digest.update(_subject_public_key_bits(spki))
    return digest.finalize()


def _subject_public_key_bits(spki_der: bytes) -> bytes:
    info = keys.PublicKeyInfo.load(spki_der)
    return bytes(info["public_key"].contents[1:])  # drop the unused-bits byte


def _is_delegated_responder(candidate: x509.Certificate, issuer: x509.Certificate, now: datetime) -> bool:
    try:
        candidate.verify_directly_issued_by(issuer)
        eku = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return (
        ExtendedKeyUsageOID.OCSP_SIGNING in eku
        and candidate.not_valid_before_utc <= now <= candidate.not_valid_after_utc
    )


@dataclass(frozen=True, slots=True)
class FetchingRevocationChecker:
    """Walks the chain root-to-leaf: OCSP when the certificate names a responder, else (or on failure) CRLs."""

    fetcher: RevocationFetcher

    def check(
        self, chain: Sequence[x509.Certificate], *, now: datetime, signing_time: datetime | None
    ) -> RevocationResult:
        for index in reversed(range(len(chain))):
            cert = chain[index]
            issuer = chain[index + 1] if index + 1 < len(chain) else cert
            result = self._check_one(cert, issuer, now=now, signing_time=signing_time)
            if result.status is not RevocationStatus.GOOD:
                return result
        return RevocationResult(status=RevocationStatus.GOOD)

    def _check_one(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, now: datetime, signing_time: datetime | None
    ) -> RevocationResult:
        ocsp_list, crl_list = ocsp_urls(cert), crl_urls(cert)
        if not ocsp_list and not crl_list:
            return RevocationResult(status=RevocationStatus.GOOD)
        problems: list[str] = []
        for url in ocsp_list:
            try:
                answer = self.fetcher.post_ocsp(url, ocsp_request(cert, issuer))
            except RevocationFetchError as exc:
                problems.append(f"OCSP {url}: {exc}")
                continue
            result = evaluate_ocsp(cert, issuer, answer, now=now, signing_time=signing_time)
            if result.status is not RevocationStatus.UNAVAILABLE:
                return result
            problems.append(f"OCSP {url}: {result.message}")
        for url in crl_list:
            try:
                crl = self.fetcher.fetch_crl(url)
            except RevocationFetchError as exc:
                problems.append(f"CRL {url}: {exc}")
                continue
            delta, problem = self._delta_for(cert, crl)
            if problem:
                problems.append(f"delta CRL for {url}: {problem}")
                continue
            result = evaluate_crl(cert, issuer, crl, now=now, signing_time=signing_time, delta_der=delta)
            if result.status is not RevocationStatus.UNAVAILABLE:
                return result
            problems.append(f"CRL {url}: {result.message}")
        return RevocationResult(
            status=RevocationStatus.UNAVAILABLE,
            message=f"revocation status of {describe(cert)!r} could not be determined: " + "; ".join(problems),
        )

    def _delta_for(self, cert: x509.Certificate, base_der: bytes) -> tuple[bytes | None, str | None]:
        """The delta CRL named by the certificate (or the base CRL), or why it cannot be had."""
        urls = _delta_urls_of(cert, base_der)
        if urls is None:
            return None, None
        if not urls:
            return None, "the Freshest CRL extension names no HTTP URL"
        errors = []
        for url in urls:
            try:
                return self.fetcher.fetch_crl(url), None
            except RevocationFetchError as exc:
                errors.append(f"{url}: {exc}")
        return None, "; ".join(errors)


def _delta_urls_of(cert: x509.Certificate, base_der: bytes) -> list[str] | None:
    from_cert = delta_crl_urls(cert)
    if from_cert is not None:
        return from_cert
    try:
        return delta_crl_urls(_load_crl(base_der))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PrefetchedRevocation:
    """A pure fetcher over responses gathered earlier (by URL); a missing URL is 'unavailable'."""

    crls: Mapping[str, bytes] = field(default_factory=dict)
    ocsp_responses: Mapping[str, bytes] = field(default_factory=dict)

    def fetch_crl(self, url: str) -> bytes:
        if url not in self.crls:
            raise RevocationFetchError("no CRL was prefetched for this URL")
        return self.crls[url]

    def post_ocsp(self, url: str, request_der: bytes) -> bytes:  # noqa: ARG002 -- the answer was fetched earlier
        if url not in self.ocsp_responses:
            raise RevocationFetchError("no OCSP response was prefetched for this URL")
        return self.ocsp_responses[url]


@dataclass(frozen=True, slots=True)
class NoRevocationSource:
    """No network: certificates that name OCSP/CRL endpoints get 'unavailable' (the spec fails closed)."""

    def check(
        self, chain: Sequence[x509.Certificate], *, now: datetime, signing_time: datetime | None
    ) -> RevocationResult:
        return FetchingRevocationChecker(PrefetchedRevocation()).check(chain, now=now, signing_time=signing_time)
