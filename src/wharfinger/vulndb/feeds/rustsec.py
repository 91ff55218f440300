"""RustSec advisories (``crates/<crate>/RUSTSEC-*.md``: TOML front matter in a ```toml fence, Markdown body)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_mapping, as_str_list, optional_str, parse_time, required_str
from wharfinger.vulndb.feeds.requirements import affected_events, cargo_interval
from wharfinger.vulndb.model import Advisory, Affected, FixState, Range, RangeType

__all__ = ["NON_VULNERABILITY_KINDS", "parse_rustsec"]

# Informational advisories that say nothing about a vulnerability; ingestion counts them as excluded.
NON_VULNERABILITY_KINDS = frozenset({"unmaintained", "notice"})


def parse_rustsec(data: bytes) -> Advisory:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AdvisoryFormatError(f"RustSec advisory is not UTF-8: {exc}") from exc
    front, body = _split(text)
    try:
        document: dict[str, Any] = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        raise AdvisoryFormatError(f"RustSec front matter is not TOML: {exc}") from exc
    advisory = as_mapping(document.get("advisory"), "RustSec [advisory]")
    vuln_id = required_str(advisory, "id", "RustSec [advisory]")
    crate = required_str(advisory, "package", f"RustSec {vuln_id}")
    versions = as_mapping(document.get("versions", {}), f"RustSec {vuln_id} [versions]")
    safe = [
        cargo_interval(requirement)
        for key in ("patched", "unaffected")
        for requirement in as_str_list(versions.get(key), f"RustSec {vuln_id} {key}")
    ]
    events = tuple(replace(e, value=semver_padded(e.value)) for e in affected_events(safe))
    has_fix = bool(as_str_list(versions.get("patched"), vuln_id))
    cvss = optional_str(advisory, "cvss")
    title = next((line[2:].strip() for line in body.splitlines() if line.startswith("# ")), "")
    informational = optional_str(advisory, "informational")
    return Advisory(
        id=vuln_id,
        aliases=as_str_list(advisory.get("aliases"), f"RustSec {vuln_id} aliases"),
        related=as_str_list(advisory.get("related"), f"RustSec {vuln_id} related"),
        summary=title,
        details=body.strip(),
        published=parse_time(advisory.get("date"), f"RustSec {vuln_id} date"),
        modified=parse_time(advisory.get("date"), f"RustSec {vuln_id} date"),
        withdrawn=parse_time(advisory.get("withdrawn"), f"RustSec {vuln_id} withdrawn"),
        cvss_vectors=(cvss,) if cvss else (),
        affected=(
            Affected(
                ecosystem="crates.io",
                name=crate,
                purl=f"pkg:cargo/{crate}",
                ranges=(Range(type=RangeType.SEMVER, events=events),),
                fix_state=FixState.FIXED if has_fix else FixState.NOT_FIXED,
            ),
        ),
        references=tuple(r for r in (optional_str(advisory, "url"),) if r)
        + as_str_list(advisory.get("references"), vuln_id),
        sources=("rustsec" if informational is None else f"rustsec:{informational}",),
    )


def semver_padded(version: str) -> str:
    """Cargo lets requirements say "1.2"; OSV SEMVER events need "1.2.0"."""
    match = re.match(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$", version)
    if match is None or version == "0":
        return version
    major, minor, patch, rest = match.groups()
    return f"{major}.{minor or 0}.{patch or 0}{rest}"


def _split(text: str) -> tuple[str, str]:
    stripped = text.lstrip()
    if stripped.startswith("```toml"):
        rest = stripped[len("```toml") :]
        end = rest.find("\n```")
        if end < 0:
            raise AdvisoryFormatError("RustSec front matter: the ```toml fence is not closed")
        return rest[:end], rest[end + 4 :]
    if stripped.startswith("[advisory]"):  # the older all-TOML layout
        return stripped, ""
    raise AdvisoryFormatError("not a RustSec advisory: no ```toml front matter")
