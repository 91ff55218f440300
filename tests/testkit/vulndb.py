"""A vulnerability database built from feeds of the shared ``vulndata`` folder, as several suites need one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from wharfinger.vulndb.database import write_database
from wharfinger.vulndb.ingest import ingest_files


def build_feed_database(path: Path, vulndata: Path, feeds: Iterable[str], *, now: datetime) -> Path:
    """Write at ``path`` the database of every file under ``vulndata/feed`` for each of ``feeds`` (in that order,
    each feed's files in name order), each file named by its path relative to ``vulndata``; return ``path``."""
    files = [
        (str(p.relative_to(vulndata)), p.read_bytes())
        for feed in feeds
        for p in sorted((vulndata / feed).rglob("*"))
        if p.is_file()
    ]
    write_database(path, ingest_files(files), now=now)
    return path
