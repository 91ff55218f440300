"""The blob cache, including several real processes writing, reading and evicting at once."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from wharfinger.errors import DigestMismatchError, InvalidDigestError
from wharfinger.oci.cache import BlobCache
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.settings import Settings


def blob(n: int, size: int = 1000) -> tuple[str, bytes]:
    data = hashlib.sha256(str(n).encode()).digest() * (size // 32 + 1)
    data = data[:size]
    return sha256_digest(data), data


def test_round_trip_and_miss(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, max_bytes=0)
    digest, data = blob(1)
    assert cache.open(digest) is None
    path = cache.put_bytes(digest, data)
    assert path == tmp_path / "sha256" / digest.split(":")[1]
    assert cache.contains(digest)
    assert cache.read_bytes(digest) == data
    stats = cache.stats()
    assert (stats.entries, stats.total_bytes, stats.temp_files) == (1, len(data), 0)


def test_wrong_content_is_never_published(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, max_bytes=0)
    digest, _ = blob(1)
    with pytest.raises(DigestMismatchError):
        cache.put_bytes(digest, b"something else")
    assert not cache.contains(digest)
    assert cache.stats().temp_files == 0
    with (
        pytest.raises(DigestMismatchError, match="larger than its declared size"),
        cache.writer(digest, expected_size=10) as out,
    ):
        out.write(b"x" * 11)
    with pytest.raises(InvalidDigestError):
        cache.put_bytes("sha256:../../etc/passwd", b"")


def test_corruption_on_disk_is_detected_and_evicted(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, max_bytes=0)
    digest, data = blob(2)
    path = cache.put_bytes(digest, data)
    path.write_bytes(data[:-1] + b"!")
    with pytest.raises(DigestMismatchError):
        cache.read_bytes(digest)
    assert not path.exists()


def test_symlinked_entry_is_not_followed(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path / "c", max_bytes=0)
    digest, data = blob(3)
    target = tmp_path / "elsewhere"
    target.write_bytes(data)
    path = cache.path_for(digest)
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    with pytest.raises(OSError):  # ELOOP from O_NOFOLLOW
        cache.open(digest)


def test_lru_eviction(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, max_bytes=2500)
    (d1, b1), (d2, b2), (d3, b3) = blob(1), blob(2), blob(3)
    cache.put_bytes(d1, b1)
    cache.put_bytes(d2, b2)
    os.utime(cache.path_for(d1), (1000, 1000))  # d1 used long ago …
    os.utime(cache.path_for(d2), (2000, 2000))
    assert cache.read_bytes(d1) == b1  # … until now: a hit refreshes it
    cache.put_bytes(d3, b3)  # over the limit: the least recently used (d2) goes
    assert cache.contains(d1)
    assert not cache.contains(d2)
    assert cache.contains(d3)


def test_prune(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path, max_bytes=0, tmp_max_age=60)
    for n in range(5):
        digest, data = blob(n)
        cache.put_bytes(digest, data)
        os.utime(cache.path_for(digest), (1000 + n, 1000 + n))
    (tmp_path / ".tmp").mkdir(exist_ok=True)
    stale, fresh = tmp_path / ".tmp" / "stale", tmp_path / ".tmp" / "fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (100, 100))
    os.utime(fresh, (10_000, 10_000))
    result = cache.prune(max_bytes=2000, now=10_010)
    assert (result.removed, result.freed_bytes, result.remaining_entries) == (3, 3000, 2)
    assert {e.digest for e in cache.entries()} == {blob(3)[0], blob(4)[0]}
    assert not stale.exists()
    assert fresh.exists()  # a writer still at work
    result = cache.prune(everything=True)
    assert result.remaining_entries == 0
    assert cache.stats().entries == 0


def test_settings_locate_the_cache(tmp_path: Path) -> None:
    assert Settings.from_env({"WHARFINGER_CACHE_DIR": str(tmp_path)}).blob_cache_dir == tmp_path / "blobs"
    xdg = Settings.from_env({"XDG_CACHE_HOME": str(tmp_path), "HOME": "/nowhere"})
    assert xdg.blob_cache_dir == tmp_path / "wharfinger" / "blobs"
    relative = Settings.from_env({"XDG_CACHE_HOME": "rel", "HOME": str(tmp_path)})
    assert relative.blob_cache_dir == tmp_path / ".cache" / "wharfinger" / "blobs"
    sized = Settings.from_env({"HOME": str(tmp_path), "WHARFINGER_CACHE_MAX_SIZE": "1.5GiB"})
    assert sized.cache_max_bytes == int(1.5 * 1024**3)


def _worker(root: str, worker: int) -> tuple[int, int]:
    """One process: writes shared and own blobs, reads everything back verified, under eviction."""
    cache = BlobCache(Path(root), max_bytes=40 * 65536)
    reads = 0
    for round_ in range(30):
        for n in (round_ % 8, 100 + worker * 50 + round_):  # 8 blobs all workers share, and own ones
            digest, data = blob(n, 65536)
            stream = cache.open(digest)
            if stream is None:
                cache.put_bytes(digest, data)
                continue
            with stream:
                assert stream.read() == data  # verified at EOF; a torn or foreign write would raise
            reads += 1
    return worker, reads


def test_many_processes_at_once(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_worker, [str(tmp_path)] * 6, range(6)))
    assert sorted(w for w, _ in results) == list(range(6))
    assert sum(reads for _, reads in results) > 0  # the shared blobs were hit
    cache = BlobCache(tmp_path, max_bytes=0)
    assert cache.stats().temp_files == 0
    for entry in cache.entries():  # whatever survived eviction is whole
        assert cache.read_bytes(entry.digest) is not None
