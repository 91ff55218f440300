"""OVAL 5 definitions from Microsoft's Azure Linux / CBL-Mariner feed (rpminfo tests, EVR comparisons).

Each ``<definition>`` names one CVE and one package: its criterion points to an
``rpminfo_test`` whose object is the package name and whose state is ``evr less than X``
(fixed in X) or ``less than or equal`` X (affected up to X, no fix: ``patchable`` false).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # expat >= 2.4 refuses entity-expansion bombs; no DTD is ever fetched
from collections import defaultdict
from datetime import datetime

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import parse_time
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

__all__ = ["oval_ecosystem", "parse_oval"]

_NS = {
    "d": "http://oval.mitre.org/XMLSchema/oval-definitions-5",
    "linux": "http://oval.mitre.org/XMLSchema/oval-definitions-5#linux",
}
_FILENAME = re.compile(r"(azurelinux|cbl-mariner)-(\d+)\.\d+-oval\.xml$")


def oval_ecosystem(path: str) -> str:
    """``azurelinux-3.0-oval.xml`` → ``Azure Linux:3``; ``cbl-mariner-2.0-oval.xml`` → ``Mariner:2``."""
    match = _FILENAME.search(path)
    if match is None:
        raise AdvisoryFormatError(
            f"OVAL file {path!r}: cannot tell the release from its name",
            hint="keep Microsoft's file names (azurelinux-3.0-oval.xml, cbl-mariner-2.0-oval.xml)",
        )
    family = "Azure Linux" if match.group(1) == "azurelinux" else "Mariner"
    return f"{family}:{match.group(2)}"


def parse_oval(data: bytes, *, path: str) -> tuple[list[Advisory], list[str]]:
    """Returns the advisories and one problem string per definition that does not parse."""
    ecosystem = oval_ecosystem(path)
    try:
        root = ET.fromstring(data)  # noqa: S314 -- see the import
    except ET.ParseError as exc:
        raise AdvisoryFormatError(f"OVAL file {path!r} is not well-formed XML: {exc}") from exc
    objects = {
        o.get("id"): (o.findtext("linux:name", namespaces=_NS) or "").strip()
        for o in root.iterfind("d:objects/linux:rpminfo_object", _NS)
    }
    states = {}
    for state in root.iterfind("d:states/linux:rpminfo_state", _NS):
        evr = state.find("linux:evr", _NS)
        if evr is not None:
            states[state.get("id")] = (evr.get("operation") or "", (evr.text or "").strip())
    tests = {}
    for test in root.iterfind("d:tests/linux:rpminfo_test", _NS):
        obj, ste = test.find("linux:object", _NS), test.find("linux:state", _NS)
        tests[test.get("id")] = (
            obj.get("object_ref") if obj is not None else None,
            ste.get("state_ref") if ste is not None else None,
        )
    affected_by_id: dict[str, list[Affected]] = defaultdict(list)
    dates: dict[str, list[datetime]] = defaultdict(list)
    problems: list[str] = []
    for definition in root.iterfind("d:definitions/d:definition", _NS):
        def_id = definition.get("id") or "?"
        try:
            vuln_id, affected, when = _definition(definition, ecosystem, objects, states, tests)
        except AdvisoryFormatError as exc:
            problems.append(f"{def_id}: {exc.message}")
            continue
        affected_by_id[vuln_id].append(affected)
        if when is not None:
            dates[vuln_id].append(when)
    source = "azurelinux-oval" if ecosystem.startswith("Azure") else "mariner-oval"
    advisories = [
        Advisory(
            id=vuln_id,
            modified=max(dates[vuln_id]) if dates[vuln_id] else None,
            affected=tuple(affected),
            sources=(source,),
        )
        for vuln_id, affected in affected_by_id.items()
    ]
    return advisories, problems


def _definition(
    definition: ET.Element,
    ecosystem: str,
    objects: dict[str | None, str],
    states: dict[str | None, tuple[str, str]],
    tests: dict[str | None, tuple[str | None, str | None]],
) -> tuple[str, Affected, datetime | None]:
    reference = definition.find("d:metadata/d:reference", _NS)
    vuln_id = reference.get("ref_id") if reference is not None else None
    if not vuln_id:
        raise AdvisoryFormatError("no reference id")
    criterion = definition.find(".//d:criterion", _NS)
    if criterion is None or criterion.get("test_ref") not in tests:
        raise AdvisoryFormatError("no criterion with a known rpminfo test")
    object_ref, state_ref = tests[criterion.get("test_ref")]
    name = objects.get(object_ref)
    if not name or state_ref not in states:
        raise AdvisoryFormatError("the rpminfo test has no package name or no EVR state")
    operation, evr = states[state_ref]
    version = evr.removeprefix("0:")  # epoch 0 is the same as no epoch
    if operation == "less than":
        end = Event(kind=EventKind.FIXED, value=version)
        state = FixState.FIXED
    elif operation == "less than or equal":
        end = Event(kind=EventKind.LAST_AFFECTED, value=version)
        state = FixState.NOT_FIXED
    else:
        raise AdvisoryFormatError(f"EVR operation {operation!r} is not supported")
    rating = (definition.findtext("d:metadata/d:severity", namespaces=_NS) or "").strip()
    severity = Severity.parse(rating) if rating else None
    when = parse_time(definition.findtext("d:metadata/d:advisory_date", namespaces=_NS), f"{vuln_id} date")
    affected = Affected(
        ecosystem=ecosystem,
        name=name,
        purl=f"pkg:rpm/{'azurelinux' if ecosystem.startswith('Azure') else 'mariner'}/{name}",
        ranges=(Range(type=RangeType.ECOSYSTEM, events=(Event(kind=EventKind.INTRODUCED, value="0"), end)),),
        fix_state=state,
        severity=None if severity is Severity.UNKNOWN else severity,
    )
    return vuln_id, affected, when
