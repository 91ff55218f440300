"""How the inventory cache's SQLite file is opened: WAL, and no fsync at any step (it is a cache)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from wharfinger.inventory import cache as cache_module
from wharfinger.inventory.cache import InventoryCache


def test_a_new_cache_is_in_wal_mode_without_syncs(tmp_path: Path) -> None:
    cache = InventoryCache(tmp_path)
    cache.put_layer("k", b"v")
    connection = cache._connect()  # the connection's settings are what is tested
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (0,)  # OFF
    assert cache.get_layer("k") == b"v"
    cache.close()


def test_syncs_are_off_before_the_file_is_switched_to_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Switching a new file to WAL syncs it unless synchronous is already OFF (~2 ms a cold run)."""
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
    assert pragmas[:2] == ["PRAGMA synchronous=OFF", "PRAGMA journal_mode=WAL"]
