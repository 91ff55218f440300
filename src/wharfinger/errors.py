"""The one exception tree of Wharfinger.

Every error Wharfinger raises on purpose is a ``WharfingerError``. The second level says who
must act, and the CLI maps it to an exit code (see ``wharfinger --help`` and ``docs/cli.md``)::

    WharfingerError
    ├── InputError              you can fix the input                       → exit 3
    │     InvalidReferenceError (also ValueError) · InvalidDigestError (also ValueError)
    │     ManifestError · PlatformNotFoundError · LayoutError
    │     SbomFormatError · PolicyError · TrustPolicyError · VersionError (also ValueError)
    │     UnsafeArchiveError (a hostile or broken layer/archive) · DatabaseError
    │     PackageMetadataError (a malformed lock file or package manifest; catalogers skip it)
    │     FileTooLargeError (a file over a reader's byte cap) · RpmDatabaseError (a corrupt rpm database)
    │     AdvisoryFormatError (one malformed advisory record: skipped and counted)
    │     ScanExceptionsError (an exceptions file; every problem with its line) · VexError
    ├── VerificationError       the artifact is not trustworthy             → exit 1
    │     DigestMismatchError · SignatureEnvelopeError (malformed or hostile signature envelope)
    └── BackendError            a dependency failed; a retry may help       → exit 4
          RegistryError > RegistryAuthError · RegistryNotFoundError · RegistryUnavailableError
          KeyProviderError · StoreError · FeedError (a vulnerability feed could not be downloaded)

A gate that trips (``scan --fail-on``) or a policy that denies is not an error: it is a
result, and the CLI turns it into exit 1 itself.
"""

from __future__ import annotations

__all__ = [
    "AdvisoryFormatError",
    "BackendError",
    "DatabaseError",
    "DigestMismatchError",
    "FeedError",
    "FileTooLargeError",
    "InputError",
    "InvalidDigestError",
    "InvalidReferenceError",
    "KeyProviderError",
    "LayoutError",
    "ManifestError",
    "PackageMetadataError",
    "PlatformNotFoundError",
    "PolicyError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryNotFoundError",
    "RegistryUnavailableError",
    "RpmDatabaseError",
    "SbomFormatError",
    "ScanExceptionsError",
    "SignatureEnvelopeError",
    "StoreError",
    "TrustPolicyError",
    "UnsafeArchiveError",
    "VerificationError",
    "VersionError",
    "VexError",
    "WharfingerError",
]


class WharfingerError(Exception):
    """Root of every error Wharfinger raises on purpose."""

    exit_code: int = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint  # the next thing the user should try

    def diagnostics(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class InputError(WharfingerError):
    """The input (a reference, a file, a policy) is wrong; the user can fix it."""

    exit_code = 3


class InvalidReferenceError(InputError, ValueError):
    """An image reference does not follow the Docker/OCI reference grammar."""


class InvalidDigestError(InputError, ValueError):
    """A digest is not ``sha256:<64 hex>`` or ``sha512:<128 hex>``."""


class ManifestError(InputError):
    """A manifest or index is malformed, of the wrong media type, or too large."""


class PlatformNotFoundError(InputError):
    """An index has no manifest for the requested platform."""


class LayoutError(InputError):
    """An OCI layout or an image archive on disk is malformed."""


class SbomFormatError(InputError):
    """An SBOM file cannot be read as CycloneDX, SPDX or our own JSON."""


class PolicyError(InputError):
    """A policy document is invalid."""


class TrustPolicyError(InputError):
    """A Notary Project trust policy or trust store is invalid."""


class VersionError(InputError, ValueError):
    """A version string does not parse in its scheme."""


class FileTooLargeError(InputError):
    """A file in an image is larger than the reader's ``max_bytes`` cap; it is skipped."""


class RpmDatabaseError(InputError):
    """An rpm database (SQLite, Berkeley DB, NDB) or one of its header blobs is corrupt."""


class UnsafeArchiveError(InputError):
    """A layer or archive is hostile or broken (traversal, bomb, too many entries)."""


class DatabaseError(InputError):
    """A vulnerability database file is corrupt, truncated or of an unknown schema."""


class AdvisoryFormatError(InputError):
    """One advisory record (OSV, distro feed, KEV, EPSS) is malformed; ingestion skips and counts it."""


class ScanExceptionsError(InputError):
    """A scan exceptions file is invalid; the message lists every problem with its line."""


class VexError(InputError):
    """An OpenVEX document cannot be read."""


class VerificationError(WharfingerError):
    """The artifact is not trustworthy: a signature or digest check failed."""

    exit_code = 1


class DigestMismatchError(VerificationError):
    """Content does not hash to the digest it was addressed by."""


class SignatureEnvelopeError(VerificationError):
    """A signature envelope is malformed, oversized, or breaks a rule (alg confusion, unknown critical header)."""


class BackendError(WharfingerError):
    """A dependency (registry, key provider, store) failed; a retry may help."""

    exit_code = 4


class RegistryError(BackendError):
    """A registry answered with an error or could not be reached."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (401/403)."""


class RegistryNotFoundError(RegistryError):
    """The repository, manifest or blob does not exist (404)."""


class RegistryUnavailableError(RegistryError):
    """The registry could not be reached or kept failing (connection, 5xx, 429)."""


class KeyProviderError(BackendError):
    """A key provider (file, PKCS#11, Key Vault, KMS) failed."""


class FeedError(BackendError):
    """A vulnerability feed (OSV export, database artifact) could not be downloaded."""


class StoreError(BackendError):
    """The store (SQLite/PostgreSQL) failed."""


class PackageMetadataError(InputError):
    """A package database, manifest or lock file inside an image is malformed or too large.

    Catalogers skip the file with a warning; the error never ends a scan.
    """
