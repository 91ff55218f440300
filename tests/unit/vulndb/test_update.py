"""``db update`` against a real local HTTP server serving OSV-style export zips built from the shared records."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wharfinger.errors import FeedError, InputError
from wharfinger.vulndb.database import VulnDatabase
from wharfinger.vulndb.fetch import OsvExportClient
from wharfinger.vulndb.update import update_database

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class ExportServer:
    """Serves /<ECO>/all.zip from a dict, with ETags and 304s like the OSV bucket."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.fail_with: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, self.headers.get("If-None-Match")))
                if outer.fail_with:
                    self.send_response(outer.fail_with)
                    self.end_headers()
                    return
                data = outer.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def zip_of(records: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[ExportServer]:
    srv = ExportServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def go_records(vulndata: Path) -> dict[str, bytes]:
    files = sorted((vulndata / "golang" / "data" / "osv").glob("GO-2024-*.json"))[:40]
    return {p.name: p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def npm_records(vulndata: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (vulndata / "ghsa").rglob("*.json")}


def test_first_update_then_not_modified_then_incremental(
    server: ExportServer, go_records: dict[str, bytes], npm_records: dict[str, bytes], tmp_path: Path
) -> None:
    server.files["/Go/all.zip"] = zip_of(go_records)
    server.files["/npm/all.zip"] = zip_of(npm_records)
    db_path = tmp_path / "db.sqlite"
    with OsvExportClient(server.url) as client:
        first = update_database(db_path, client, ["Go", "npm"], now=NOW)
    assert first.rewritten
    assert [(u.ecosystem, u.new, u.updated) for u in first.ecosystems] == [("Go", 40, 0), ("npm", 5, 0)]
    with VulnDatabase.open(db_path) as db:
        assert db.advisories_for("npm", "lodash")
        built_at = db.info().built_at

    with OsvExportClient(server.url) as client:
        second = update_database(db_path, client, ["Go", "npm"], now=NOW.replace(hour=13))
    assert not second.rewritten
    assert all(not u.downloaded for u in second.ecosystems)
    assert server.requests[-1][1] is not None  # the stored ETag was sent
    with VulnDatabase.open(db_path) as db:
        info = db.info()
        assert info.built_at == built_at
        assert info.checked_at == NOW.replace(hour=13)

    changed = dict(go_records)
    first_name = min(changed)
    record = json.loads(changed[first_name])
    record["modified"] = "2099-01-01T00:00:00Z"
    record["summary"] = "changed upstream"
    changed[first_name] = json.dumps(record).encode()
    changed["GO-2099-0001.json"] = json.dumps(
        {
            "id": "GO-2099-0001",
            "modified": "2099-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Go", "name": "example.com/new"}}],
        }
    ).encode()
    server.files["/Go/all.zip"] = zip_of(changed)
    with OsvExportClient(server.url) as client:
        third = update_database(db_path, client, ["Go", "npm"], now=NOW.replace(hour=14))
    go, npm = third.ecosystems
    assert (go.new, go.updated, go.unchanged) == (1, 1, 39)
    assert not npm.downloaded
    with VulnDatabase.open(db_path) as db:
        assert db.advisory(record["id"]).summary == "changed upstream"
        assert db.advisories_for("Go", "example.com/new")
        assert db.advisories_for("npm", "lodash")  # the untouched ecosystem survives


def test_server_errors_become_feed_errors(server: ExportServer, tmp_path: Path) -> None:
    server.fail_with = 503
    with OsvExportClient(server.url) as client, pytest.raises(FeedError, match="503"):
        update_database(tmp_path / "db.sqlite", client, ["Go"], now=NOW)
    assert not (tmp_path / "db.sqlite").exists()


def test_missing_export_is_a_feed_error_with_hint(server: ExportServer, tmp_path: Path) -> None:
    with OsvExportClient(server.url) as client, pytest.raises(FeedError) as info:
        update_database(tmp_path / "db.sqlite", client, ["NoSuchEcosystem"], now=NOW)
    assert "ecosystem name" in (info.value.hint or "")


def test_corrupt_zip_is_an_input_error(server: ExportServer, tmp_path: Path) -> None:
    server.files["/Go/all.zip"] = b"PK\x03\x04 truncated"
    with OsvExportClient(server.url) as client, pytest.raises(InputError, match="corrupt or truncated"):
        update_database(tmp_path / "db.sqlite", client, ["Go"], now=NOW)


def test_oversized_download_is_refused(server: ExportServer, go_records: dict[str, bytes], tmp_path: Path) -> None:
    server.files["/Go/all.zip"] = zip_of(go_records)
    with OsvExportClient(server.url, max_bytes=1000) as client, pytest.raises(FeedError, match="limit"):
        update_database(tmp_path / "db.sqlite", client, ["Go"], now=NOW)


def test_unreachable_server(tmp_path: Path) -> None:
    with OsvExportClient("http://127.0.0.1:9", timeout_s=2) as client, pytest.raises(FeedError) as info:
        update_database(tmp_path / "db.sqlite", client, ["Go"], now=NOW)
    assert "air-gapped" in (info.value.hint or "")


def test_cli_update_from_local_server(run_cli, server: ExportServer, npm_records: dict[str, bytes], tmp_path) -> None:
    server.files["/npm/all.zip"] = zip_of(npm_records)
    db_path = tmp_path / "db.sqlite"
    done = run_cli("db", "update", "--db", str(db_path), "--url", server.url, "--ecosystem", "npm")
    assert done.returncode == 0, done.stderr
    assert "npm: 5 new" in done.stdout
    again = run_cli("db", "update", "--db", str(db_path), "--url", server.url, "--ecosystem", "npm")
    assert "npm: not modified" in again.stdout
    server.fail_with = 500
    failed = run_cli("db", "update", "--db", str(db_path), "--url", server.url, "--ecosystem", "npm")
    assert failed.returncode == 4
    assert "hint:" in failed.stderr
