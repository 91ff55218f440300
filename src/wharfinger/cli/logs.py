"""Log configuration for the CLI: text or one JSON object per line, never secrets."""

from __future__ import annotations

import json
import logging
import sys
from typing import ClassVar

__all__ = ["configure_for_options", "configure_logging"]


class _JsonFormatter(logging.Formatter):
    _RESERVED: ClassVar[frozenset[str]] = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._RESERVED and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        return json.dumps(entry, sort_keys=True)


def configure_logging(*, level: int, json_format: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("wharfinger")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else level)
    root.propagate = False


def configure_for_options(*, verbose: int, quiet: bool, log_format: str) -> None:
    """Logging as the global options ``-v`` (repeatable), ``-q`` and ``--log-format`` ask."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    configure_logging(level=level, json_format=log_format == "json", quiet=quiet)
