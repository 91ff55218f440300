"""Alpine secdb (``v3.19/main.yaml``): per package, ``secfixes`` maps a fixed version to the CVEs it fixes.

A fixed version of ``"0"`` means the package was never affected; such entries produce nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_list, as_mapping, required_str
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType

__all__ = ["parse_alpine_secdb"]


def parse_alpine_secdb(document: Any) -> list[Advisory]:
    secdb = as_mapping(document, "Alpine secdb")
    release = required_str(secdb, "distroversion", "Alpine secdb")
    ecosystem = f"Alpine:{release if release.startswith('v') else 'v' + release}"
    affected_by_id: dict[str, list[Affected]] = defaultdict(list)
    for item in as_list(secdb.get("packages"), "Alpine secdb packages"):
        package = as_mapping(as_mapping(item, "Alpine secdb package").get("pkg"), "Alpine secdb pkg")
        name = required_str(package, "name", "Alpine secdb pkg")
        for fixed, ids in as_mapping(package.get("secfixes") or {}, f"Alpine secdb {name} secfixes").items():
            fixed_version = str(fixed).strip()
            if fixed_version == "0":
                continue  # "not affected" statements
            for raw in as_list(ids, f"Alpine secdb {name} {fixed_version}"):
                if not isinstance(raw, str) or not raw.strip():
                    raise AdvisoryFormatError(f"Alpine secdb {name} {fixed_version}: id {raw!r} is not a string")
                vuln_id = raw.split()[0]  # "CVE-2019-1234 (some note)"
                affected_by_id[vuln_id].append(
                    Affected(
                        ecosystem=ecosystem,
                        name=name,
                        purl=f"pkg:apk/alpine/{name}",
                        ranges=(
                            Range(
                                type=RangeType.ECOSYSTEM,
                                events=(
                                    Event(kind=EventKind.INTRODUCED, value="0"),
                                    Event(kind=EventKind.FIXED, value=fixed_version),
                                ),
                            ),
                        ),
                        fix_state=FixState.FIXED,
                    )
                )
    return [
        Advisory(id=vuln_id, affected=tuple(affected), sources=("alpine-secdb",))
        for vuln_id, affected in affected_by_id.items()
    ]
