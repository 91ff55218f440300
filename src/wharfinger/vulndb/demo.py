"""The bundled demo database: real advisories for the demo image's packages, built on first use.

The records live in the package as OSV JSON (``wharfinger/demo/advisories/*.json``: facts from
the Debian security tracker and NVD, summaries written for Wharfinger). ``demo_database`` builds
them into SQLite in the user's cache directory once, named by the hash of the records, so a new
release with new records builds a new file and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from wharfinger.errors import DatabaseError
from wharfinger.vulndb.database import VulnDatabase, write_database
from wharfinger.vulndb.ingest import ingest_files

__all__ = ["demo_cache_dir", "demo_database", "demo_records"]


def demo_records() -> list[tuple[str, bytes]]:
    folder = files("wharfinger.demo") / "advisories"
    records = sorted(
        (f"demo/{entry.name}", entry.read_bytes()) for entry in folder.iterdir() if entry.name.endswith(".json")
    )
    if not records:
        raise DatabaseError(
            "the bundled demo advisories are missing from this installation", hint="reinstall wharfinger"
        )
    return records


def demo_cache_dir(env: Mapping[str, str], home: Path) -> Path:
    cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "wharfinger"


def demo_database(cache_dir: Path, *, now: datetime) -> Path:
    """The demo database file, built into ``cache_dir`` unless an intact copy is already there."""
    records = demo_records()
    digest = hashlib.sha256(b"".join(name.encode() + b"\0" + data for name, data in records)).hexdigest()[:16]
    path = cache_dir / f"demo-vulndb-{digest}.sqlite"
    if path.is_file():
        try:
            VulnDatabase(path).close()
        except DatabaseError:
            path.unlink()  # a damaged cache copy is rebuilt, never trusted
        else:
            return path
    write_database(path, ingest_files(records), now=now)
    return path
