"""Sigstore bundles (media types v0.1 to v0.3): keyless verification with the ``sigstore`` library.

A bundle carries a signature (over an artifact, or a DSSE envelope), the Fulcio certificate
of the signer's identity, and the transparency-log proof. Verification is offline: the trust
root (Fulcio CAs, Rekor and CT keys, TSAs) is a ``trusted_root.json`` given by the caller,
and the log inclusion is checked from the bundle itself. Identity is matched exactly or by
regular expression, as ``cosign verify --certificate-identity[-regexp]`` does; no identity at
all must be asked for explicitly (``IdentityPolicy.unsafe_any()``). Regular expressions match
anywhere in the value, as Go's ``regexp.MatchString`` does in cosign: anchor them (``^…$``) to
pin a whole identity.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from wharfinger.errors import InputError

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

__all__ = ["BundleVerification", "IdentityPolicy", "load_trusted_root", "verify_bundle"]

MAX_BUNDLE_BYTES = 4 * 1024 * 1024  # bytes; real bundles are a few KiB, DSSE SBOM bundles more

_OIDC_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OTHERNAME_SAN = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")  # Sigstore's "username" otherName


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityPolicy:
    """Which signer identities are trusted: SAN and OIDC issuer, exact or by regular expression."""

    subject: str | None = None
    subject_regex: str | None = None
    issuer: str | None = None
    issuer_regex: str | None = None
    any_identity: bool = False  # only via unsafe_any(): accepts every identity the trust root vouches for

    @classmethod
    def unsafe_any(cls) -> IdentityPolicy:
        return cls(any_identity=True)

    def check(self, certificate: x509.Certificate) -> str | None:
        """None when the certificate's identity is trusted, else why not."""
        if self.any_identity:
            return None
        if not (self.subject or self.subject_regex) or not (self.issuer or self.issuer_regex):
            return "no identity policy: give a certificate identity and an OIDC issuer (exact or regexp)"
        subjects = certificate_identities(certificate)
        issuer = certificate_issuer(certificate)
        if self.subject and self.subject not in subjects:
            return f"certificate identity {', '.join(subjects) or '(none)'} is not {self.subject}"
        if self.subject_regex and not any(re.search(self.subject_regex, s) for s in subjects):
            return f"certificate identity {', '.join(subjects) or '(none)'} does not match {self.subject_regex!r}"
        if self.issuer and issuer != self.issuer:
            return f"OIDC issuer {issuer or '(none)'} is not {self.issuer}"
        if self.issuer_regex and not (issuer and re.search(self.issuer_regex, issuer)):
            return f"OIDC issuer {issuer or '(none)'} does not match {self.issuer_regex!r}"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleVerification:
    verified: bool
    reason: str  # why not, or what verified
    identity: tuple[str, ...] = ()  # the signer's SANs
    issuer: str | None = None
    payload_type: str | None = None  # DSSE bundles: the envelope's payload type
    payload: bytes | None = None  # DSSE bundles: the verified statement bytes


def certificate_identities(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = [*san.get_values_for_type(x509.UniformResourceIdentifier)]
    names += san.get_values_for_type(x509.RFC822Name)
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == _OTHERNAME_SAN:
            names.append(_der_utf8(other.value))
    return tuple(names)


def certificate_issuer(certificate: x509.Certificate) -> str | None:
    for oid in (_OIDC_ISSUER_V2, _OIDC_ISSUER_V1):
        try:
            value = certificate.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        return _der_utf8(raw) if oid == _OIDC_ISSUER_V2 else raw.decode(errors="replace")
    return None


def _der_utf8(raw: bytes) -> str:
    """Decode a DER UTF8String (tag 0x0c, short or long length)."""
    if len(raw) >= 2 and raw[0] == 0x0C:  # noqa: PLR2004 -- tag and length bytes
        length = raw[1]
        start = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(raw[2 : 2 + count])
            start = 2 + count
        return raw[start : start + length].decode(errors="replace")
    return raw.decode(errors="replace")


def load_trusted_root(path: str | Path) -> TrustedRoot:
    from sigstore.models import TrustedRoot  # noqa: PLC0415 -- optional extra wharfinger[sigstore]
    from sigstore_models.trustroot import v1 as trustroot_v1  # noqa: PLC0415

    try:
        document = json.loads(Path(path).read_bytes())
        # The trusted-root spec makes a CA's subject commonName optional (sigstore-go's roots omit it);
        # the sigstore library's model requires it, so an absent one is read as empty.
        for authority in [*document.get("certificateAuthorities", []), *document.get("timestampAuthorities", [])]:
            if isinstance(authority, dict) and isinstance(authority.get("subject"), dict):
                authority["subject"].setdefault("commonName", "")
        return TrustedRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(document)))
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(
            f"cannot read the Sigstore trusted root {path}: {exc}",
            hint="give a trusted_root.json (as `cosign trusted-root create` or sigstore's TUF repository writes)",
        ) from exc


def verify_bundle(
    bundle_json: bytes,
    *,
    artifact: bytes | None,
    trusted_root: TrustedRoot,
    identity: IdentityPolicy,
    artifact_sha256: str | None = None,
) -> BundleVerification:
    """Verify a bundle over ``artifact`` (message signatures) or its DSSE envelope (``artifact=None``).

    ``artifact_sha256`` (hex) stands for the artifact when only its digest is known (an image digest).
    """
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.models import Bundle, InvalidBundle  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415
    from sigstore.verify.policy import UnsafeNoOp  # noqa: PLC0415

    if len(bundle_json) > MAX_BUNDLE_BYTES:
        return BundleVerification(verified=False, reason=f"bundle exceeds {MAX_BUNDLE_BYTES} bytes")
    try:
        bundle = Bundle.from_json(bundle_json)
    except (InvalidBundle, ValueError, KeyError, TypeError) as exc:
        return BundleVerification(verified=False, reason=f"invalid bundle: {_first_line(exc)}")
    certificate = bundle.signing_certificate
    sans = certificate_identities(certificate)
    issuer = certificate_issuer(certificate)
    problem = identity.check(certificate)
    if problem is not None:
        return BundleVerification(verified=False, reason=problem, identity=sans, issuer=issuer)
    verifier = Verifier(trusted_root=trusted_root)
    try:
        if artifact is None and artifact_sha256 is None:
            payload_type, payload = verifier.verify_dsse(bundle, UnsafeNoOp())
        else:
            verifier.verify_artifact(_input(artifact, artifact_sha256), bundle, UnsafeNoOp())
            payload_type, payload = None, None
    except (SigstoreError, ValueError) as exc:
        return BundleVerification(verified=False, reason=_first_line(exc), identity=sans, issuer=issuer)
    who = ", ".join(sans) or "(no SAN)"
    return BundleVerification(
        verified=True,
        reason=f"signed by {who} ({issuer or 'no issuer'})",
        identity=sans,
        issuer=issuer,
        payload_type=payload_type,
        payload=payload,
    )


def _input(artifact: bytes | None, artifact_sha256: str | None) -> Any:
    if artifact is not None:
        return artifact
    from sigstore.hashes import Hashed  # noqa: PLC0415
    from sigstore_models.common.v1 import HashAlgorithm  # noqa: PLC0415

    return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(str(artifact_sha256)))


def _first_line(exc: Any) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
