"""Debian security tracker: the JSON export (``/tracker/data/json``) and the ``DSA/list``, ``DLA/list`` texts.

Debian names releases by codename; OSV by number (``Debian:12``). ``sid`` has no number and
is recorded as ``Debian:sid``. Tracker statuses map to fix states: ``resolved`` with a version
→ fixed (``"0"``: never affected, no entry); ``open``/``undetermined`` → not fixed, unless
``nodsa_reason`` is ``ignored`` (won't fix); urgency ``end-of-life`` → end of life. Urgencies
("low", "medium**", "unimportant") become the package's distro severity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_mapping, optional_str
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

__all__ = ["DEBIAN_RELEASES", "debian_ecosystem", "parse_debian_list", "parse_debian_tracker_json"]

DEBIAN_RELEASES: dict[str, str] = {
    "buzz": "1.1",
    "rex": "1.2",
    "bo": "1.3",
    "hamm": "2.0",
    "slink": "2.1",
    "potato": "2.2",
    "woody": "3.0",
    "sarge": "3.1",
    "etch": "4",
    "lenny": "5",
    "squeeze": "6",
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "duke": "15",
    "sid": "sid",
}
_HEADER = re.compile(r"^\[(\d{1,2} \w{3} \d{4})\]\s+(D[SL]A-[\w-]+)\s+(.*?)(?:\s+-\s+(.*))?\s*$")
_RELEASE_LINE = re.compile(r"^\s*\[(\w+)\] - (\S+) (\S+)(?:\s+\((.*)\))?\s*$")
_CVE_LINE = re.compile(r"^\s*\{(.*)\}\s*$")


def debian_ecosystem(codename: str) -> str | None:
    number = DEBIAN_RELEASES.get(codename.strip().lower())
    return f"Debian:{number}" if number else None


def _affected(ecosystem: str, package: str, fixed: str | None, state: FixState, severity: Severity | None) -> Affected:
    events = [Event(kind=EventKind.INTRODUCED, value="0")]
    if fixed is not None:
        events.append(Event(kind=EventKind.FIXED, value=fixed))
    return Affected(
        ecosystem=ecosystem,
        name=package,
        purl=f"pkg:deb/debian/{package}",
        ranges=(Range(type=RangeType.ECOSYSTEM, events=tuple(events)),),
        fix_state=state,
        severity=severity,
    )


def parse_debian_tracker_json(document: Any) -> list[Advisory]:
    tracker = as_mapping(document, "Debian tracker JSON")
    affected_by_id: dict[str, list[Affected]] = defaultdict(list)
    details: dict[str, str] = {}
    for package, cves in tracker.items():
        for vuln_id, raw in as_mapping(cves, f"Debian tracker {package}").items():
            entry = as_mapping(raw, f"Debian tracker {package} {vuln_id}")
            details.setdefault(vuln_id, optional_str(entry, "description") or "")
            releases = entry.get("releases") or {}  # the tracker writes [] for "no release data yet"
            for codename, raw_release in as_mapping(releases, f"{vuln_id} releases").items():
                ecosystem = debian_ecosystem(codename)
                if ecosystem is None:
                    raise AdvisoryFormatError(f"Debian tracker {package} {vuln_id}: unknown release {codename!r}")
                release = as_mapping(raw_release, f"Debian tracker {vuln_id} {codename}")
                status = optional_str(release, "status") or ""
                fixed = optional_str(release, "fixed_version")
                urgency = (optional_str(release, "urgency") or "").rstrip("*").strip()
                severity = Severity.parse(urgency) if urgency else None
                severity = None if severity is Severity.UNKNOWN else severity
                if status == "resolved":
                    if fixed is None or fixed == "0":
                        continue  # never affected in this release
                    affected_by_id[vuln_id].append(_affected(ecosystem, package, fixed, FixState.FIXED, severity))
                elif status in {"open", "undetermined"}:
                    state = FixState.NOT_FIXED
                    if urgency == "end-of-life":
                        state = FixState.END_OF_LIFE
                    elif optional_str(release, "nodsa_reason") == "ignored":
                        state = FixState.WONT_FIX
                    affected_by_id[vuln_id].append(_affected(ecosystem, package, None, state, severity))
                else:
                    raise AdvisoryFormatError(f"Debian tracker {package} {vuln_id} {codename}: status {status!r}")
    return [
        Advisory(id=vuln_id, details=details.get(vuln_id, ""), affected=tuple(affected), sources=("debian-tracker",))
        for vuln_id, affected in affected_by_id.items()
    ]


def parse_debian_list(data: bytes, *, source: str) -> tuple[list[Advisory], list[str]]:
    """A ``DSA/list`` or ``DLA/list`` file → one advisory per CVE (the DSA as ``related``).

    Returns the advisories and one problem string per block that does not parse (skipped, counted).
    A DSA that names no CVE becomes an advisory under its own id.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AdvisoryFormatError(f"{source} list is not UTF-8: {exc}") from exc
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("["):
            blocks.append([line])
        elif blocks and line.strip():
            blocks[-1].append(line)
        elif line.strip():
            raise AdvisoryFormatError(f"{source} list: text before the first header: {line[:60]!r}")
    advisories: list[Advisory] = []
    problems: list[str] = []
    for block in blocks:
        try:
            advisories.extend(_list_block(block, source))
        except AdvisoryFormatError as exc:
            problems.append(exc.message)
    return advisories, problems


def _list_block(block: list[str], source: str) -> list[Advisory]:
    header = _HEADER.match(block[0])
    if header is None:
        raise AdvisoryFormatError(f"{source} list: header {block[0][:80]!r} does not parse")
    try:
        when = datetime.strptime(header.group(1), "%d %b %Y").replace(tzinfo=UTC)
    except ValueError as exc:
        raise AdvisoryFormatError(f"{source} list: date in {block[0][:80]!r} does not parse") from exc
    notice_id, description = header.group(2), header.group(4) or ""
    cves: list[str] = []
    affected: list[Affected] = []
    for line in block[1:]:
        if (cve_line := _CVE_LINE.match(line)) is not None:
            cves.extend(cve_line.group(1).split())
            continue
        release = _RELEASE_LINE.match(line)
        if release is None:
            continue  # NOTE: lines and free text
        ecosystem = debian_ecosystem(release.group(1))
        if ecosystem is None:
            raise AdvisoryFormatError(f"{notice_id}: unknown release {release.group(1)!r}")
        version = release.group(3)
        if version.startswith("<"):
            state = {"<unfixed>": FixState.NOT_FIXED, "<end-of-life>": FixState.END_OF_LIFE}.get(version)
            if state is None:
                continue  # <not-affected>, <ignored>, <postponed>: no affected entry
            affected.append(_affected(ecosystem, release.group(2), None, state, None))
        else:
            affected.append(_affected(ecosystem, release.group(2), version, FixState.FIXED, None))
    if not affected:
        return []  # key-change notices, end-of-life announcements
    url = f"https://security-tracker.debian.org/tracker/{notice_id}"
    ids = cves or [notice_id]
    return [
        Advisory(
            id=vuln_id,
            related=(notice_id,) if vuln_id != notice_id else (),
            summary=description if vuln_id == notice_id else "",
            published=when,
            modified=when,
            affected=tuple(affected),
            references=(url,),
            sources=(source,),
        )
        for vuln_id in ids
    ]
