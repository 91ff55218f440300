"""Typed reads from untrusted parsed JSON/YAML: each getter checks the type or raises ``AdvisoryFormatError``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from wharfinger.errors import AdvisoryFormatError

__all__ = ["as_list", "as_mapping", "as_str_list", "optional_str", "parse_time", "required_str"]


_LOOSE_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*$")
_YAML_NULLS = frozenset({"", "~", "null", "Null", "NULL"})  # how YAML (read as strings) spells "nothing"


def as_mapping(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, str) and value in _YAML_NULLS:
        return {}
    if not isinstance(value, dict):
        raise AdvisoryFormatError(f"{what} is a {type(value).__name__}, not a mapping")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if value is None or (isinstance(value, str) and value in _YAML_NULLS):
        return []
    if not isinstance(value, list):
        raise AdvisoryFormatError(f"{what} is a {type(value).__name__}, not a list")
    return value


def as_str_list(value: Any, what: str) -> tuple[str, ...]:
    items = as_list(value, what)
    if not all(isinstance(item, str | int | float) for item in items):
        raise AdvisoryFormatError(f"{what} holds something other than strings")
    return tuple(str(item) for item in items)


def required_str(mapping: dict[str, Any], key: str, what: str) -> str:
    value = mapping.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise AdvisoryFormatError(f"{what} has no {key!r}")
    return value.strip()


def optional_str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise AdvisoryFormatError(f"{key!r} is a {type(value).__name__}, not a string")
    return value


def parse_time(value: Any, what: str) -> datetime | None:
    """RFC 3339 timestamps (OSV) and bare dates (RustSec, RubySec); always aware UTC."""
    if value is None or (isinstance(value, str) and value.strip() in _YAML_NULLS):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise AdvisoryFormatError(f"{what} is not a timestamp: {value!r}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        loose = _LOOSE_TIME.match(text)  # YAML's own timestamps allow a one-digit hour: "2015-07-24 0:41:41"
        if loose is None:
            raise AdvisoryFormatError(f"{what} is not a timestamp: {value!r}") from None
        year, month, day, hour, minute, second = loose.groups()
        try:
            parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
        except ValueError as exc:
            raise AdvisoryFormatError(f"{what} is not a timestamp: {value!r}") from exc
    if parsed.year <= 1:
        return None  # golang/vulndb's repository copy writes 0001-01-01 until publication: unknown
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
