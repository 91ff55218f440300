"""What the edge found out about an image, as values the pure engine can judge.

The webhook (or a CLI command) gathers these through a ``FactsProvider``: signatures through
the signing package's verifiers, attestations and the vulnerability summary from a signed
scan attestation attached to the image. The engine never fetches anything; it only reads
these facts. "Could not find out" is a value (``Unverifiable``, ``Unscannable``), never
``None`` or an empty list, so a policy can gate on it and a report can count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from wharfinger.vulndb.model import Severity

__all__ = [
    "AttestationFact",
    "Authority",
    "FactNeeds",
    "FactsProvider",
    "ImageFacts",
    "SignatureFact",
    "SignatureKind",
    "Unscannable",
    "Unverifiable",
    "VulnerabilitySummary",
]


class SignatureKind(StrEnum):
    NOTARY = "notary"
    COSIGN = "cosign"
    KEYLESS = "keyless"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unverifiable:
    """The edge could not establish a fact (registry down, budget spent, digest not resolvable)."""

    reason: str
    is_outage: bool = False  # True: a backend failed or the time budget ran out; the failure mode decides


@dataclass(frozen=True, slots=True, kw_only=True)
class Unscannable:
    """No usable vulnerability summary: no scan attestation, an unsigned one, or one that would not parse."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureFact:
    """The outcome of checking the image against one trust authority named in a policy."""

    authority: str  # the policy's name for the authority: "ci-notary", "release-key"
    kind: SignatureKind
    verified: bool
    identity: str = ""  # certificate subject, key id, or keyless SAN that signed, when verified
    issuer: str = ""  # keyless OIDC issuer, when known
    reason: str = ""  # why it did not verify, in words a developer can act on
    signed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationFact:
    """One in-toto statement attached to the image whose signature verified (unverified ones are not facts)."""

    predicate_type: str  # "https://slsa.dev/provenance/v1"
    predicate: Mapping[str, object] = field(default_factory=dict)  # parsed JSON, read-only by convention
    signer: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnerabilitySummary:
    """What a signed vulnerability-scan attestation says: enough to gate, not the whole report."""

    scanned_at: datetime
    counts: Mapping[Severity, int]  # findings per severity, fixed and unfixed together
    unfixed_counts: Mapping[Severity, int]  # of those, findings with no fix available
    kev_ids: tuple[str, ...] = ()  # vulnerability ids listed in CISA KEV
    vulnerability_ids: Mapping[str, Severity] = field(default_factory=dict)  # id -> severity, for exceptions
    fixable_ids: frozenset[str] = frozenset()  # ids with a fix available
    scanner: str = "wharfinger"

    def max_severity(self, *, ignore_unfixed: bool, ignored_ids: frozenset[str] = frozenset()) -> Severity | None:
        """The worst severity still counting, after dropping unfixed findings and excepted ids."""
        if self.vulnerability_ids:
            worst: Severity | None = None
            for vuln_id, severity in self.vulnerability_ids.items():
                if vuln_id in ignored_ids or (ignore_unfixed and vuln_id not in self.fixable_ids):
                    continue
                worst = severity if worst is None or severity > worst else worst
            return worst
        counting = {
            sev: self.counts.get(sev, 0) - (self.unfixed_counts.get(sev, 0) if ignore_unfixed else 0)
            for sev in Severity
        }
        present = [sev for sev, n in counting.items() if n > 0]
        return max(present) if present else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageFacts:
    """Everything the edge established about one image reference, at one time."""

    reference: str  # as written in the pod spec
    digest: str | Unverifiable  # "sha256:…" resolved from the registry (or pinned in the reference)
    signatures: tuple[SignatureFact, ...] | Unverifiable = ()
    attestations: tuple[AttestationFact, ...] | Unverifiable = ()
    vulnerabilities: VulnerabilitySummary | Unscannable = Unscannable(reason="no scan attestation was looked up")


@dataclass(frozen=True, slots=True, kw_only=True)
class Authority:
    name: str
    kind: SignatureKind
    trust_policy: str = ""  # notary: the trust policy name in trustpolicy.json
    trust_stores: tuple[str, ...] = ()  # notary: "ca:acme-rockets"
    public_key: str = ""  # cosign: key reference (file path, URI) or inline PEM
    issuer: str = ""  # keyless: OIDC issuer
    subject: str = ""  # keyless: exact SAN
    subject_regexp: str = ""  # keyless: SAN regex


@dataclass(frozen=True, slots=True, kw_only=True)
class FactNeeds:
    """What the matching policies need to know about an image; providers skip the rest (and its latency)."""

    authorities: tuple[Authority, ...] = ()  # trust authorities to check signatures against
    attestation_types: tuple[str, ...] = ()  # predicate types the rules ask for
    vulnerabilities: bool = False


class FactsProvider(Protocol):
    """The one seam between the pure engine and the registry: one implementation per source of facts."""

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        """Establish the facts for ``reference``; failures become ``Unverifiable``/``Unscannable`` values."""
        ...
