"""How the inventory cache's SQLite file is opened: a rollback journal, and no fsync at any step (it is a cache)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from wharfinger.inventory import cache as cache_module
from wharfinger.inventory.cache import InventoryCache


def test_a_new_cache_keeps_a_rollback_journal_without_syncs(tmp_path: Path) -> None:
    cache = InventoryCache(tmp_path)
    cache.put_layer("k", b"v" * 100_000)
    connection = cache._connect()  # the connection's settings are what is tested
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("truncate",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (0,)  # OFF
    assert cache.get_layer("k") == b"v" * 100_000
    # the value went into the database file itself: no write-ahead log to copy it from again on close
    assert not Path(f"{cache.path}-wal").exists()
    assert cache.path.stat().st_size > 100_000
    cache.close()


def test_syncs_are_off_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(cache_module.sqlite3, "connect", traced)
    cache = InventoryCache(tmp_path)
    cache.put_layer("k", b"v")
    cache.close()
    pragmas = [s for s in statements if s.startswith("PRAGMA")]
    assert pragmas[:2] == ["PRAGMA synchronous=OFF", "PRAGMA journal_mode=TRUNCATE"]


def test_a_cache_left_in_wal_mode_by_an_older_version_is_switched_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "inventory-v1.sqlite"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE layers (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
    with old:
        old.execute("INSERT INTO layers VALUES ('k', x'0102')")
    old.close()
    cache = InventoryCache(tmp_path)
    assert cache.get_layer("k") == b"\x01\x02"
    assert cache._connect().execute("PRAGMA journal_mode").fetchone() == ("truncate",)
    cache.close()


_WRITER = """
import sys
from pathlib import Path
from wharfinger.inventory.cache import InventoryCache

directory, name = Path(sys.argv[1]), sys.argv[2]
cache = InventoryCache(directory)
for i in range(20):
    cache.put_layer(f"{name}-{i}", (name * 50_000).encode() + bytes([i]))  # ~250 KB each: real pages to write
    # another process's entries, read while it writes: never an error, a miss at worst
    cache.get_layer(f"other-{i}")
cache.close()
"""


def test_processes_sharing_one_cache_write_and_read_beside_each_other(tmp_path: Path) -> None:
    """CI runners start several scans with one cache directory: with a rollback journal, writers
    wait for each other (the connection's busy timeout) and every entry lands."""
    import subprocess
    import sys

    names = ["alpha", "bravo", "charl", "delta"]
    runs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name], stderr=subprocess.PIPE) for name in names
    ]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors.decode()
    cache = InventoryCache(tmp_path)
    for name in names:
        for i in range(20):
            assert cache.get_layer(f"{name}-{i}") == (name * 50_000).encode() + bytes([i])
    cache.close()
