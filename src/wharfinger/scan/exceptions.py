"""Scan exceptions: reviewed, expiring decisions to accept one vulnerability.

A YAML file (``--exceptions FILE``)::

    exceptions:
      - id: CVE-2023-5678                      # a vulnerability id or any of its aliases
        package: "pkg:deb/debian/openssl*"     # optional glob over the purl or the package name
        image: "registry.example.com/shop/*"   # optional glob over the image reference
        reason: the vulnerable code path needs a custom engine we do not load
        approver: security@example.com
        expires: 2026-03-31                    # last day it applies (UTC); a datetime works too

``parse_exceptions`` reads the bytes and collects *every* problem with its line before raising
one ``ScanExceptionsError``. Expired exceptions stop applying; the scan lists them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import yaml

from wharfinger.errors import ScanExceptionsError
from wharfinger.matching.finding import Finding

__all__ = ["ScanException", "parse_exceptions"]

_REQUIRED = ("id", "reason", "approver", "expires")
_OPTIONAL = ("package", "image")
_MAX_BYTES = 4 * 1024 * 1024  # bytes; an exceptions file is a reviewed list, not a data dump


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanException:
    vulnerability_id: str
    reason: str
    approver: str
    expires_at: datetime  # the first instant it no longer applies (UTC)
    package: str | None = None  # glob over purl or name
    image: str | None = None  # glob over the image reference
    line: int = 0  # where it is written, for messages

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def applies_to(self, finding: Finding, image: str | None) -> bool:
        wanted = self.vulnerability_id.upper()
        if wanted not in (i.upper() for i in finding.ids):
            return False
        if self.package is not None:
            package = finding.package
            if not (fnmatch.fnmatchcase(package.purl, self.package) or fnmatch.fnmatchcase(package.name, self.package)):
                return False
        if self.image is not None:
            return image is not None and fnmatch.fnmatchcase(image, self.image)
        return True

    def describe(self) -> str:
        scope = "".join(
            [f" for {self.package}" if self.package else "", f" in images {self.image}" if self.image else ""]
        )
        return (
            f"exception for {self.vulnerability_id}{scope} (line {self.line}), approved by {self.approver} "
            f"until {self.expires_at:%Y-%m-%d %H:%M} UTC: {self.reason}"
        )


def _expiry(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text.strip()) == len("YYYY-MM-DD"):  # a date: it applies through that whole day
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC) + timedelta(days=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entries(root: yaml.Node) -> tuple[list[yaml.Node], list[str]]:
    if isinstance(root, yaml.SequenceNode):
        return list(root.value), []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "exceptions":
                if isinstance(value, yaml.SequenceNode):
                    return list(value.value), []
                if isinstance(value, yaml.ScalarNode) and value.value in ("", "null", "~"):
                    return [], []
                return [], [f"line {value.start_mark.line + 1}: 'exceptions' must be a list"]
    return [], [f"line {root.start_mark.line + 1}: expected a list under the top-level key 'exceptions'"]


def _entry(node: yaml.Node, problems: list[str]) -> ScanException | None:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"line {line}: each exception must be a mapping with {', '.join(_REQUIRED)}")
        return None
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    before = len(problems)
    for key, value in node.value:
        key_line = key.start_mark.line + 1
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        if name not in _REQUIRED and name not in _OPTIONAL:
            problems.append(f"line {key_line}: unknown field {name!r} (known: {', '.join(_REQUIRED + _OPTIONAL)})")
            continue
        if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
            problems.append(f"line {key_line}: {name!r} must be a non-empty text value")
            continue
        fields[name], lines[name] = str(value.value).strip(), key_line
    for name in _REQUIRED:
        if name not in fields and not any(f"{name!r}" in p for p in problems[before:]):
            problems.append(f"line {line}: missing required field {name!r}")
    expires_at = _expiry(fields["expires"]) if "expires" in fields else None
    if "expires" in fields and expires_at is None:
        problems.append(f"line {lines['expires']}: 'expires' must be a date (YYYY-MM-DD) or an ISO 8601 datetime")
    if len(problems) > before or expires_at is None:
        return None
    return ScanException(
        vulnerability_id=fields["id"],
        reason=fields["reason"],
        approver=fields["approver"],
        expires_at=expires_at,
        package=fields.get("package"),
        image=fields.get("image"),
        line=line,
    )


def parse_exceptions(data: bytes, *, source: str = "exceptions file") -> tuple[ScanException, ...]:
    """Read an exceptions file; ``ScanExceptionsError`` lists every problem with its line."""
    if len(data) > _MAX_BYTES:
        raise ScanExceptionsError(f"{source} is larger than {_MAX_BYTES} bytes", hint="is this the right file?")
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise ScanExceptionsError(f"{source} is not UTF-8 text", hint="save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScanExceptionsError(f"{source}: {where}not valid YAML ({problem})", hint="fix the YAML syntax") from exc
    if root is None:
        return ()
    nodes, problems = _entries(root)
    parsed = [_entry(node, problems) for node in nodes]
    if problems:
        raise ScanExceptionsError(
            f"{source} has {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            hint="each exception needs id, reason, approver and expires; package and image are optional globs",
        )
    return tuple(p for p in parsed if p is not None)
