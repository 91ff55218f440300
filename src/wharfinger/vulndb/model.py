"""``Advisory``: one vulnerability as OSV models it, with every source merged in.

The OSV schema is the lingua franca: distro feeds are converted to it on ingestion, so
``matching`` has one model to evaluate. Ranges keep OSV's event semantics exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

__all__ = ["Advisory", "Affected", "Event", "EventKind", "FixState", "Range", "RangeType", "Severity"]


class Severity(IntEnum):
    """Ordered severities; comparisons mean what they say (CRITICAL > HIGH)."""

    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, text: str) -> Severity:
        normalised = text.strip().upper()
        aliases = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH", "UNIMPORTANT": "NEGLIGIBLE", "NONE": "NEGLIGIBLE"}
        normalised = aliases.get(normalised, normalised)
        return cls[normalised] if normalised in cls.__members__ else cls.UNKNOWN


class RangeType(StrEnum):
    SEMVER = "SEMVER"
    ECOSYSTEM = "ECOSYSTEM"
    GIT = "GIT"


class EventKind(StrEnum):
    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


class FixState(StrEnum):
    """What the package's distribution or ecosystem says about a fix."""

    FIXED = "fixed"  # a fixed version exists
    NOT_FIXED = "not-fixed"  # affected, no fix yet
    WONT_FIX = "wont-fix"  # the distro will not fix it
    END_OF_LIFE = "end-of-life"  # the release is no longer supported
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: EventKind
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Range:
    type: RangeType
    events: tuple[Event, ...]
    repo: str | None = None  # GIT ranges only


@dataclass(frozen=True, slots=True, kw_only=True)
class Affected:
    """One affected package of an advisory, as OSV ``affected[]``."""

    ecosystem: str  # OSV ecosystem, with release: "PyPI", "Debian:12", "Alpine:v3.19", "Azure Linux:3"
    name: str  # package name in that ecosystem (source package for distros)
    purl: str | None = None
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()  # explicitly enumerated affected versions
    fix_state: FixState = FixState.UNKNOWN  # distro statement when the feed gives one
    severity: Severity | None = None  # a per-package severity (distro's own rating) when the feed gives one


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    id: str  # primary id: the CVE when there is one, else the source id (GHSA-…, PYSEC-…, GO-…)
    aliases: tuple[str, ...] = ()  # every other id merged into this one
    related: tuple[str, ...] = ()  # ids of other vulnerabilities or notices that mention this one (DSA-…)
    summary: str = ""
    details: str = ""
    published: datetime | None = None
    modified: datetime | None = None
    withdrawn: datetime | None = None
    severity: Severity = Severity.UNKNOWN  # the one computed severity (vulndb's documented precedence)
    severity_source: str = ""  # where `severity` came from: "ghsa", "cvss:3.1", "debian" … (vulndb/severity.py)
    cvss_vectors: tuple[str, ...] = ()  # every CVSS vector we know, "CVSS:3.1/AV:N/…"
    cvss_score: float | None = None
    epss: float | None = None  # probability 0..1
    kev: bool = False  # listed in CISA's Known Exploited Vulnerabilities catalogue
    affected: tuple[Affected, ...] = ()
    references: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # which feeds contributed: "osv:PyPI", "debian-tracker", "kev" …
