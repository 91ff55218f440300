from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def small_db(run_cli, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "db.sqlite"
    done = run_cli(
        "db", "build", "--from", str(shared_dir / "vulndata" / "ghsa"), "--from", str(shared_dir / "vulndata" / "kev"),
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "vulnerabilities" in done.stdout
    return out


def _built_and_checked_at(database: Path, copy: Path, when: str) -> Path:
    """A copy of ``database`` that says it was built and last checked at ``when`` (an ISO 8601 time)."""
    copy.write_bytes(database.read_bytes())
    with closing(sqlite3.connect(copy)) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key IN ('built_at', 'checked_at')", (when,))
        connection.commit()
    return copy


def test_info_json_lists_sources(run_cli, small_db: Path) -> None:
    done = run_cli("db", "info", "--db", str(small_db), "-o", "json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    sources = {s["name"]: s for s in info["sources"]}
    assert sources["ghsa"]["records"] == 5
    assert sources["kev"]["records"] == info["kev_entries"] > 1000
    assert info["schema_version"] == 1
    assert info["skipped"] == 0


def test_info_text(run_cli, small_db: Path) -> None:
    done = run_cli("db", "info", "--db", str(small_db))
    assert done.returncode == 0, done.stderr
    assert "ghsa" in done.stdout
    assert "schema v1" in done.stdout


def test_stale_database_warns(run_cli, small_db: Path, tmp_path: Path) -> None:
    old = _built_and_checked_at(small_db, tmp_path / "old.sqlite", "2020-01-01T00:00:00+00:00")
    done = run_cli("db", "info", "--db", str(old), "--max-age", "2d")
    assert done.returncode == 0
    assert "db update" in done.stderr
    fresh = run_cli("db", "info", "--db", str(small_db), "--max-age", "2d")
    assert "db update" not in fresh.stderr


def test_build_counts_malformed_records(run_cli, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "GOOD.json").write_text(json.dumps({"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": []}))
    (feed / "BAD.json").write_text('{"id": "OSV-2"}')
    done = run_cli("db", "build", "--from", str(feed), "-o", str(tmp_path / "x.sqlite"))
    assert done.returncode == 0, done.stderr
    assert "1 malformed records skipped" in done.stdout
    assert "BAD.json" in done.stderr
    info = json.loads(run_cli("db", "info", "--db", str(tmp_path / "x.sqlite"), "-o", "json").stdout)
    assert info["skipped"] == 1
    assert info["skipped_examples"][0]["path"] == "BAD.json"


@pytest.mark.parametrize("content", [b"", b"hello, not a database" * 20])
def test_corrupt_database_is_a_clear_error(run_cli, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.sqlite"
    path.write_bytes(content)
    done = run_cli("db", "info", "--db", str(path))
    assert done.returncode == 3
    assert "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_truncated_database_is_a_clear_error(run_cli, small_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite"
    path.write_bytes(small_db.read_bytes()[:20000])
    done = run_cli("db", "info", "--db", str(path))
    assert done.returncode == 3
    assert "truncated" in done.stderr


def test_missing_input_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    done = run_cli("db", "build", "--from", str(tmp_path / "nope"), "-o", str(tmp_path / "x.sqlite"))
    assert done.returncode == 3
    assert "does not exist" in done.stderr


def test_offline_update_never_touches_the_network(run_cli, tmp_path: Path) -> None:
    done = run_cli("db", "update", "--db", str(tmp_path / "x.sqlite"), "--offline", "--url", "http://192.0.2.1:9")
    assert done.returncode == 3
    assert "--offline" in done.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_scan_warns_on_a_stale_database_with_the_configured_age(run_cli, small_db: Path, tmp_path: Path) -> None:
    old = _built_and_checked_at(small_db, tmp_path / "old.sqlite", "2026-01-01T00:00:00+00:00")
    layout = Path(__file__).resolve().parents[3] / "src" / "wharfinger" / "demo" / "image"
    args = ("scan", f"oci:{layout}:1.0", "--db", str(old), "--offline", "-o", "json")
    stale = run_cli(*args, env={"WHARFINGER_DB_MAX_AGE": "2d"})
    assert stale.returncode == 0, stale.stderr
    assert "db update" in stale.stderr
    relaxed = run_cli(*args, env={"WHARFINGER_DB_MAX_AGE": "5000d"})
    assert "db update" not in relaxed.stderr
