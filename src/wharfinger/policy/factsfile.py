"""Facts written down: a JSON/YAML document of image facts, for ``policy test --facts`` and for replay.

    images:
      ghcr.io/acme/api:                 # a normalised name (any tag/digest) or an exact reference
        digest: sha256:…
        signatures: [{authority: ci, kind: cosign, verified: true, identity: "ci@acme"}]
        attestations: [{predicateType: https://slsa.dev/provenance/v1, predicate: {…}}]
        vulnerabilities: {scannedAt: 2026-11-24T10:00:00Z, counts: {high: 2}, unfixed: {high: 1}, kev: [CVE-…]}
        # or: vulnerabilities: {unscannable: "no scan attestation"}

An image not listed has no signature, no attestation and no scan: the facts of an unsigned image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from wharfinger.errors import InputError
from wharfinger.policy.facts import (
    AttestationFact,
    FactNeeds,
    ImageFacts,
    SignatureFact,
    SignatureKind,
    Unscannable,
    Unverifiable,
    VulnerabilitySummary,
)
from wharfinger.policy.selectors import parse_image_name
from wharfinger.vulndb.model import Severity

__all__ = ["FactsBook", "facts_to_document", "parse_facts_document", "parse_image_facts"]


def _time(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _counts(raw: object) -> dict[Severity, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {Severity.parse(str(k)): int(v) for k, v in raw.items()}


def _image(reference: str, raw: Mapping[str, Any]) -> ImageFacts:
    digest = raw.get("digest")
    signatures = tuple(
        SignatureFact(
            authority=str(s["authority"]),
            kind=SignatureKind(s.get("kind", "cosign")),
            verified=bool(s.get("verified", False)),
            identity=str(s.get("identity", "")),
            issuer=str(s.get("issuer", "")),
            reason=str(s.get("reason", "")),
        )
        for s in raw.get("signatures") or ()
    )
    attestations = tuple(
        AttestationFact(predicate_type=str(a["predicateType"]), predicate=dict(a.get("predicate") or {}))
        for a in raw.get("attestations") or ()
    )
    vuln_raw = raw.get("vulnerabilities")
    vulnerabilities: VulnerabilitySummary | Unscannable
    if not isinstance(vuln_raw, Mapping) or "unscannable" in vuln_raw:
        reason = vuln_raw.get("unscannable") if isinstance(vuln_raw, Mapping) else None
        vulnerabilities = Unscannable(reason=str(reason or "no vulnerability-scan attestation is attached"))
    else:
        ids = {str(k): Severity.parse(str(v)) for k, v in (vuln_raw.get("ids") or {}).items()}
        vulnerabilities = VulnerabilitySummary(
            scanned_at=_time(vuln_raw["scannedAt"]),
            counts=_counts(vuln_raw.get("counts")),
            unfixed_counts=_counts(vuln_raw.get("unfixed")),
            kev_ids=tuple(str(k) for k in vuln_raw.get("kev") or ()),
            vulnerability_ids=ids,
            fixable_ids=frozenset(str(k) for k in vuln_raw.get("fixable") or ()),
        )
    return ImageFacts(
        reference=reference,
        digest=str(digest) if digest else Unverifiable(reason="the facts file gives no digest"),
        signatures=signatures,
        attestations=attestations,
        vulnerabilities=vulnerabilities,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FactsBook:
    """Facts looked up by exact reference, then by normalised name."""

    by_reference: Mapping[str, ImageFacts]

    def lookup(self, reference: str, needs: FactNeeds) -> ImageFacts:
        found = self.by_reference.get(reference)
        if found is None:
            name = parse_image_name(reference)
            found = self.by_reference.get(name.name) if name else None
        if found is None:
            parsed = parse_image_name(reference)
            found = ImageFacts(
                reference=reference,
                digest=parsed.digest
                if parsed and parsed.digest
                else Unverifiable(reason="the image is not in the facts file"),
                vulnerabilities=Unscannable(reason="no vulnerability-scan attestation is attached"),
            )
        else:
            parsed = parse_image_name(reference)
            if parsed and parsed.digest:
                found = replace(found, digest=parsed.digest)
        if isinstance(found.signatures, tuple):
            have = {s.authority for s in found.signatures}
            missing = tuple(
                SignatureFact(authority=a.name, kind=a.kind, verified=False, reason="no signature found")
                for a in needs.authorities
                if a.name not in have
            )
            found = replace(found, signatures=found.signatures + missing)
        return replace(found, reference=reference)


def parse_facts_document(document: object, *, source: str = "<facts>") -> FactsBook:
    """Build a ``FactsBook`` from parsed JSON/YAML; raise ``InputError`` naming the bad entry."""
    if not isinstance(document, Mapping) or not isinstance(document.get("images", {}), Mapping):
        raise InputError(f"{source}: expected a mapping with an 'images' mapping", hint="see docs/policy.md")
    out: dict[str, ImageFacts] = {}
    for key, raw in (document.get("images") or {}).items():
        if not isinstance(raw, Mapping):
            raise InputError(f"{source}: images.{key} must be a mapping", hint="see docs/policy.md")
        name = parse_image_name(str(key))
        if name is None:
            raise InputError(f"{source}: {key!r} is not an image reference", hint="write registry/repository[:tag]")
        try:
            facts = _image(str(key), raw)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{source}: images.{key} is malformed ({exc})", hint="see docs/policy.md") from exc
        plain = str(key) if (name.tag or name.digest) else name.name
        out[plain] = facts
    return FactsBook(by_reference=out)


def _severity_map(counts: Mapping[Severity, int]) -> dict[str, int]:
    return {sev.name.lower(): n for sev, n in counts.items()}


def facts_to_document(facts: ImageFacts) -> dict[str, object]:
    """The facts of one image in the facts-file format (``parse_image_facts`` reads it back)."""
    out: dict[str, object] = {"reference": facts.reference}
    if isinstance(facts.digest, str):
        out["digest"] = facts.digest
    else:
        out["digestUnverifiable"] = {"reason": facts.digest.reason, "isOutage": facts.digest.is_outage}
    if isinstance(facts.signatures, Unverifiable):
        out["signaturesUnverifiable"] = {"reason": facts.signatures.reason, "isOutage": facts.signatures.is_outage}
    else:
        out["signatures"] = [
            {
                "authority": s.authority,
                "kind": s.kind.value,
                "verified": s.verified,
                "identity": s.identity,
                "issuer": s.issuer,
                "reason": s.reason,
            }
            for s in facts.signatures
        ]
    if isinstance(facts.attestations, Unverifiable):
        out["attestationsUnverifiable"] = {
            "reason": facts.attestations.reason,
            "isOutage": facts.attestations.is_outage,
        }
    else:
        out["attestations"] = [
            {"predicateType": a.predicate_type, "predicate": dict(a.predicate), "signer": a.signer}
            for a in facts.attestations
        ]
    v = facts.vulnerabilities
    if isinstance(v, Unscannable):
        out["vulnerabilities"] = {"unscannable": v.reason}
    else:
        out["vulnerabilities"] = {
            "scannedAt": v.scanned_at.isoformat(),
            "counts": _severity_map(v.counts),
            "unfixed": _severity_map(v.unfixed_counts),
            "kev": list(v.kev_ids),
            "ids": {k: s.name.lower() for k, s in v.vulnerability_ids.items()},
            "fixable": sorted(v.fixable_ids),
        }
    return out


def parse_image_facts(document: Mapping[str, Any]) -> ImageFacts:
    """Read back ``facts_to_document`` output (shared cache entries, replay files)."""
    facts = _image(str(document["reference"]), document)
    for key, attr in (
        ("digestUnverifiable", "digest"),
        ("signaturesUnverifiable", "signatures"),
        ("attestationsUnverifiable", "attestations"),
    ):
        if key in document:
            raw = document[key]
            missing = Unverifiable(reason=str(raw["reason"]), is_outage=bool(raw.get("isOutage")))
            if attr == "digest":
                facts = replace(facts, digest=missing)
            elif attr == "signatures":
                facts = replace(facts, signatures=missing)
            else:
                facts = replace(facts, attestations=missing)
    return facts
