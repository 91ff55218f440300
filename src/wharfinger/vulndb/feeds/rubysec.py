"""ruby-advisory-db (``gems/<gem>/<id>.yml``): ``patched_versions``/``unaffected_versions`` are Gem::Requirements."""

from __future__ import annotations

from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_mapping, as_str_list, optional_str, parse_time, required_str
from wharfinger.vulndb.feeds.requirements import affected_events, gem_interval
from wharfinger.vulndb.model import Advisory, Affected, FixState, Range, RangeType, Severity

__all__ = ["parse_rubysec"]


def parse_rubysec(document: Any, *, stem: str) -> Advisory:
    record = as_mapping(document, "RubySec advisory")
    gem = required_str(record, "gem", f"RubySec advisory {stem}")
    ids = []
    if cve := optional_str(record, "cve"):
        ids.append(f"CVE-{cve}")
    if ghsa := optional_str(record, "ghsa"):
        ids.append(f"GHSA-{ghsa}")
    if osvdb := optional_str(record, "osvdb"):
        ids.append(f"OSVDB-{osvdb}")
    if not ids:
        ids.append(f"RUBYSEC-{gem}-{stem}")
    what = f"RubySec {ids[0]}"
    patched = as_str_list(record.get("patched_versions"), f"{what} patched_versions")
    unaffected = as_str_list(record.get("unaffected_versions"), f"{what} unaffected_versions")
    events = affected_events([gem_interval(r) for r in (*patched, *unaffected)])
    scores: list[tuple[str, str]] = []
    for key, version in (("cvss_v4", "4.0"), ("cvss_v3", "3.0"), ("cvss_v2", "2.0")):
        value = record.get(key)
        if value is None:
            continue
        try:
            scores.append((f"{float(value):.1f}", version))
        except (TypeError, ValueError) as exc:
            raise AdvisoryFormatError(f"{what} {key} is not a number: {value!r}") from exc
    severity_source, cvss_score = "", None
    if scores:
        score, version = scores[0]  # v4 > v3 > v2, the order above
        severity_source, cvss_score = f"score:{version}", float(score)
    related = as_mapping(record.get("related", {}) or {}, f"{what} related")
    return Advisory(
        id=ids[0],
        aliases=tuple(ids[1:]),
        summary=optional_str(record, "title") or "",
        details=(optional_str(record, "description") or "").strip(),
        published=parse_time(record.get("date"), f"{what} date"),
        modified=parse_time(record.get("date"), f"{what} date"),
        severity=Severity.UNKNOWN,
        severity_source=severity_source,
        cvss_score=cvss_score,
        affected=(
            Affected(
                ecosystem="RubyGems",
                name=gem,
                purl=f"pkg:gem/{gem}",
                ranges=(Range(type=RangeType.ECOSYSTEM, events=events),),
                fix_state=FixState.FIXED if patched else FixState.NOT_FIXED,
            ),
        ),
        references=tuple(r for r in (optional_str(record, "url"),) if r) + as_str_list(related.get("url"), what),
        sources=("rubysec",),
    )
