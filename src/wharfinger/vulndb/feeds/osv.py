"""OSV schema records (JSON, or YAML as the PyPA database writes them) → ``Advisory``.

Every ecosystem goes through here: language ecosystems (PyPI, npm, Go, Maven …) and the
distributions that publish OSV (Debian, Ubuntu, Alpine, Red Hat, Rocky, Alma, SUSE, Azure
Linux, Wolfi, Chainguard …). Distribution ratings (Ubuntu's ``severity[type=Ubuntu]``, Debian's
``ecosystem_specific.urgency``) land on ``Affected.severity``; GitHub's reviewed rating
(``database_specific.severity``) on the advisory with ``severity_source="ghsa"``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import yaml

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.ecosystems import base_ecosystem, is_distro
from wharfinger.vulndb.feeds.fields import (
    as_list,
    as_mapping,
    as_str_list,
    optional_str,
    parse_time,
    required_str,
)
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

__all__ = ["load_document", "osv_source", "parse_osv", "parse_osv_bytes"]

_CVSS_TYPES = frozenset({"CVSS_V2", "CVSS_V3", "CVSS_V4"})
_DISTRO_RATING_TYPES = frozenset({"Ubuntu"})
# Every scalar stays a string (BaseLoader): feed versions like `1.10` must not become the float 1.1, and
# skipping type resolution makes YAML feeds load twice as fast. libyaml's C loader when available.
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def load_document(data: bytes, *, is_yaml: bool) -> Any:
    """Parse JSON or YAML bytes; a syntax error is an ``AdvisoryFormatError``."""
    try:
        if is_yaml:
            return yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 -- BaseLoader builds only str, list, dict
        return json.loads(data)
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise AdvisoryFormatError(f"not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from exc


def parse_osv_bytes(data: bytes, *, is_yaml: bool = False) -> Advisory:
    return parse_osv(load_document(data, is_yaml=is_yaml))


def osv_source(advisory: Advisory) -> str:
    """The feed name an OSV record is counted under: ``ghsa``, ``malicious`` or ``osv:<ecosystem>``."""
    if advisory.id.startswith("GHSA-"):
        return "ghsa"
    if advisory.id.startswith("MAL-"):
        return "malicious"
    ecosystems = sorted({base_ecosystem(a.ecosystem) for a in advisory.affected})
    return f"osv:{ecosystems[0]}" if ecosystems else "osv"


def parse_osv(document: Any) -> Advisory:
    record = as_mapping(document, "OSV record")
    vuln_id = required_str(record, "id", "OSV record")
    what = f"OSV record {vuln_id}"
    if "modified" not in record:
        raise AdvisoryFormatError(f"{what} has no 'modified' (required by the OSV schema)")

    vectors, distro_rating = _severities(record.get("severity"), f"{what} severity", what)

    database_specific = record.get("database_specific")
    database_rating: Severity | None = None
    if isinstance(database_specific, dict) and isinstance(database_specific.get("severity"), str):
        database_rating = Severity.parse(database_specific["severity"])
        if database_rating is Severity.UNKNOWN:
            database_rating = None

    is_ghsa = vuln_id.startswith("GHSA-")  # only the GitHub database rates in database_specific.severity
    if not is_ghsa and distro_rating is None:
        # A distribution's own record (Red Hat's "Important", SUSE's, Alma's …) rates its packages there;
        # `_affected` applies it to distro packages only.
        distro_rating = database_rating
    affected = tuple(
        _affected(item, what, distro_rating, vectors) for item in as_list(record.get("affected"), f"{what} affected")
    )
    references = tuple(
        url
        for ref in as_list(record.get("references"), f"{what} references")
        if isinstance(ref, dict) and isinstance(url := ref.get("url"), str)
    )
    advisory = Advisory(
        id=vuln_id,
        aliases=as_str_list(record.get("aliases"), f"{what} aliases"),
        related=as_str_list(record.get("related"), f"{what} related") + as_str_list(record.get("upstream"), what),
        summary=optional_str(record, "summary") or "",
        details=optional_str(record, "details") or "",
        published=parse_time(record.get("published"), f"{what} published"),
        modified=parse_time(record.get("modified"), f"{what} modified"),
        withdrawn=parse_time(record.get("withdrawn"), f"{what} withdrawn"),
        severity=database_rating if (database_rating is not None and is_ghsa) else Severity.UNKNOWN,
        severity_source="ghsa" if (database_rating is not None and is_ghsa) else "",
        cvss_vectors=tuple(dict.fromkeys(vectors)),
        affected=affected,
        references=references,
    )
    return _with_source(advisory)


def _with_source(advisory: Advisory) -> Advisory:
    return replace(advisory, sources=(osv_source(advisory),))


def _severity_entry(entry: Any, what: str) -> tuple[str, str]:
    mapping = as_mapping(entry, f"{what} severity entry")
    return required_str(mapping, "type", f"{what} severity entry"), required_str(
        mapping, "score", f"{what} severity entry"
    )


def _severities(items: Any, label: str, what: str) -> tuple[list[str], Severity | None]:
    """An OSV ``severity`` list (the record's or an affected entry's): its CVSS vectors, and its
    distribution rating (the last one given)."""
    vectors: list[str] = []
    rating: Severity | None = None
    for entry in as_list(items, label):
        kind, score = _severity_entry(entry, what)
        if kind in _CVSS_TYPES:
            vectors.append(score)
        elif kind in _DISTRO_RATING_TYPES:
            rating = Severity.parse(score)
    return vectors, rating


def _affected(item: Any, what: str, distro_rating: Severity | None, vectors: list[str]) -> Affected:
    entry = as_mapping(item, f"{what} affected entry")
    package = as_mapping(entry.get("package"), f"{what} affected.package")
    ecosystem = required_str(package, "ecosystem", f"{what} affected.package")
    name = required_str(package, "name", f"{what} affected.package")
    ranges = tuple(_range(r, what) for r in as_list(entry.get("ranges"), f"{what} ranges"))
    own_vectors, own_rating = _severities(entry.get("severity"), f"{what} affected.severity", what)
    vectors.extend(own_vectors)
    if own_rating is not None:  # the entry's own distro rating wins over the record's
        distro_rating = own_rating
    severity = distro_rating if is_distro(ecosystem) else None
    ecosystem_specific = entry.get("ecosystem_specific")
    if is_distro(ecosystem) and isinstance(ecosystem_specific, dict):
        urgency = ecosystem_specific.get("urgency") or ecosystem_specific.get("severity")
        if isinstance(urgency, str):
            parsed = Severity.parse(urgency.rstrip("*"))
            severity = parsed if parsed is not Severity.UNKNOWN else severity
    return Affected(
        ecosystem=ecosystem,
        name=name,
        purl=optional_str(package, "purl"),
        ranges=ranges,
        versions=as_str_list(entry.get("versions"), f"{what} versions"),
        fix_state=_fix_state(ranges),
        severity=severity,
    )


def _range(item: Any, what: str) -> Range:
    mapping = as_mapping(item, f"{what} range")
    kind = required_str(mapping, "type", f"{what} range")
    try:
        range_type = RangeType(kind)
    except ValueError as exc:
        raise AdvisoryFormatError(f"{what} has a range of unknown type {kind!r}") from exc
    events: list[Event] = []
    for raw in as_list(mapping.get("events"), f"{what} range events"):
        event = as_mapping(raw, f"{what} range event")
        if len(event) != 1:
            raise AdvisoryFormatError(f"{what} has a range event with {len(event)} keys: {sorted(event)}")
        ((key, value),) = event.items()
        try:
            kind_of_event = EventKind(key)
        except ValueError as exc:
            raise AdvisoryFormatError(f"{what} has a range event of unknown kind {key!r}") from exc
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise AdvisoryFormatError(f"{what} has a {key} event whose value is not a string")
        events.append(Event(kind=kind_of_event, value=str(value)))
    if not events:
        raise AdvisoryFormatError(f"{what} has a range with no events")
    return Range(type=range_type, events=tuple(events), repo=optional_str(mapping, "repo"))


def _fix_state(ranges: tuple[Range, ...]) -> FixState:
    """Fixed when a range names a fixed version; affected-without-fix when ranges exist but none does."""
    comparable = [r for r in ranges if r.type is not RangeType.GIT]
    if not comparable:
        return FixState.UNKNOWN
    if any(e.kind is EventKind.FIXED for r in comparable for e in r.events):
        return FixState.FIXED
    return FixState.NOT_FIXED
