"""Vulnerability data: OSV and distro feeds, the SQLite database, CVSS, EPSS and KEV (core + edge).

>>> from wharfinger.vulndb import VulnDatabase, ingest_files, write_database
>>> write_database(path, ingest_files(iter_feed_files(folder)), now=now)   # doctest: +SKIP
>>> with VulnDatabase.open(path) as db:                                    # doctest: +SKIP
...     db.advisories_for("Debian:12", "openssl")

Parsers (``vulndb.feeds``), ingestion (``ingest``), merging (``merge``) and severity (``severity``)
are pure; I/O lives in ``inputs`` (files), ``database`` (SQLite), ``fetch``/``update`` (HTTP) and
``publish`` (registry). ``docs/vulndb.md`` describes feeds, precedence and the file format.

Imports here are lazy (PEP 562) so that ``from wharfinger.vulndb.model import Advisory`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wharfinger.vulndb.database import AdvisoryIndex, DatabaseInfo, VulnDatabase, write_database
    from wharfinger.vulndb.ingest import IngestResult, Skipped, ingest_files
    from wharfinger.vulndb.merge import merge_advisories
    from wharfinger.vulndb.severity import compute_severity, severity_for

__all__ = [
    "AdvisoryIndex",
    "DatabaseInfo",
    "IngestResult",
    "Skipped",
    "VulnDatabase",
    "compute_severity",
    "ingest_files",
    "merge_advisories",
    "severity_for",
    "write_database",
]

_HOMES = {
    "AdvisoryIndex": "database",
    "DatabaseInfo": "database",
    "VulnDatabase": "database",
    "write_database": "database",
    "IngestResult": "ingest",
    "Skipped": "ingest",
    "ingest_files": "ingest",
    "merge_advisories": "merge",
    "compute_severity": "severity",
    "severity_for": "severity",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"wharfinger.vulndb.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
