from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wharfinger.errors import DatabaseError
from wharfinger.vulndb.database import SCHEMA_VERSION, VulnDatabase, write_database
from wharfinger.vulndb.ingest import ingest_files
from wharfinger.vulndb.inputs import iter_feed_files

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(vulndata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = itertools.chain(
        iter_feed_files(vulndata / "ghsa"),
        iter_feed_files(vulndata / "rubysec"),
        iter_feed_files(vulndata / "alpine-secdb" / "v3.10"),
        iter_feed_files(vulndata / "kev"),
        [("broken/OSV-BAD.json", b'{"id": "OSV-BAD"}')],
    )
    path = tmp_path_factory.mktemp("db") / "vulndb.sqlite"
    write_database(path, ingest_files(files), now=NOW)
    return path


def test_advisories_for_finds_by_normalised_name(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        lodash = db.advisories_for("npm", "lodash")
        assert {a.id for a in lodash} >= {"CVE-2019-10744", "CVE-2021-23337"}
        assert all(any(x.name == "lodash" for x in a.affected) for a in lodash)
        assert db.advisories_for("RubyGems", "resque") == db.advisories_for("rubygems", "resque")
        assert db.advisories_for("npm", "no-such-package") == ()


def test_distro_release_is_part_of_the_key(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        v310 = db.advisories_for("Alpine:v3.10", "ansible")
        assert "CVE-2019-10206" in {a.id for a in v310}
        assert db.advisories_for("Alpine:v3.9", "ansible") == ()
        assert {a.id for a in db.advisories_for("Alpine", "ansible")} >= {a.id for a in v310}


def test_lookup_by_any_alias(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        by_cve = db.advisory("CVE-2023-50725")
        by_ghsa = db.advisory("GHSA-gc3j-vvwf-4rp8")
        assert by_cve is not None
        assert by_cve == by_ghsa
        assert db.advisory("CVE-0000-0000") is None


def test_kev_flag_survives_the_database(built: Path, vulndata: Path) -> None:
    kev = {
        v["cveID"]
        for v in json.loads((vulndata / "kev" / "known_exploited_vulnerabilities.json").read_bytes())["vulnerabilities"]
    }
    with VulnDatabase.open(built) as db:
        advisories = list(db.iter_advisories())
        flagged = {a.id for a in advisories if a.kev}
        assert flagged
        assert flagged == {a.id for a in advisories if a.id in kev}


def test_info_reports_sources_and_skipped(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        info = db.info()
    names = {s.name: s for s in info.sources}
    assert names["ghsa"].records == 5
    assert names["kev"].records > 1000
    assert info.skipped == 1
    assert info.skipped_examples[0].path == "broken/OSV-BAD.json"
    assert info.schema_version == SCHEMA_VERSION
    assert info.built_at == NOW
    assert not info.is_stale(NOW + timedelta(days=1), timedelta(days=7))
    assert info.is_stale(NOW + timedelta(days=8), timedelta(days=7))


def test_bulk_index_agrees_with_queries(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        index = db.load_index()
        for eco, name in [("npm", "lodash"), ("RubyGems", "rails"), ("Alpine:v3.10", "openssl"), ("Alpine", "curl")]:
            assert {a.id for a in index.advisories_for(eco, name)} == {a.id for a in db.advisories_for(eco, name)}


def test_update_keeps_older_records_and_takes_newer_ones(built: Path, tmp_path: Path) -> None:
    newer = json.dumps(
        {
            "id": "GHSA-jf85-cpcp-j695",
            "modified": "2099-01-01T00:00:00Z",
            "aliases": ["CVE-2019-10744"],
            "summary": "changed",
            "affected": [{"package": {"ecosystem": "npm", "name": "lodash-new"}}],
        }
    ).encode()
    out = tmp_path / "updated.sqlite"
    with VulnDatabase.open(built) as previous:
        write_database(out, ingest_files([("GHSA.json", newer)]), now=NOW, previous=previous)
    with VulnDatabase.open(out) as db:
        assert db.advisory("CVE-2019-10744").summary == "changed"
        assert db.advisories_for("npm", "lodash-new")
        assert db.advisories_for("RubyGems", "resque")  # untouched sources survive


# --- bad database files ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no vulnerability database") as info:
        VulnDatabase.open(tmp_path / "nope.sqlite")
    assert "db build" in (info.value.hint or "")


def test_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"PK\x03\x04 a zip, not a database" * 10)
    with pytest.raises(DatabaseError, match="not an SQLite file"):
        VulnDatabase.open(path)


def test_truncated(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    data = built.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatabaseError, match="truncated") as info:
        VulnDatabase.open(path)
    assert info.value.hint


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    path.write_bytes(b"")
    with pytest.raises(DatabaseError):
        VulnDatabase.open(path)


def _execute(path: Path, statement: str) -> None:
    """Change the SQLite file at ``path`` behind VulnDatabase's back (created if missing)."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(statement)
        connection.commit()


def test_wrong_schema_version(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    shutil.copy(built, path)
    _execute(path, "UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(DatabaseError, match="schema version 999") as info:
        VulnDatabase.open(path)
    assert "rebuild" in (info.value.hint or "")


def test_sqlite_without_our_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    _execute(path, "CREATE TABLE t (x)")
    with pytest.raises(DatabaseError, match="corrupt"):
        VulnDatabase.open(path)


def test_damaged_advisory_row(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    shutil.copy(built, path)
    _execute(path, "UPDATE advisories SET body = x'00112233'")
    with VulnDatabase.open(path) as db, pytest.raises(DatabaseError, match="damaged"):
        db.advisories_for("npm", "lodash")


def test_overwritten_pages(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    data = bytearray(built.read_bytes())
    page = 4096
    for offset in range(page * 2, len(data) - page, page * 3):
        data[offset : offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseError), VulnDatabase.open(path) as db:  # noqa: PT012 -- open or a query may notice
        for name in ("lodash", "minimist", "node-fetch"):
            db.advisories_for("npm", name)
        list(db.iter_advisories())


def test_lookups_carry_only_the_package_asked_for(built: Path) -> None:
    with VulnDatabase.open(built) as db:
        for advisory in db.advisories_for("Alpine:v3.10", "openssl"):
            assert {(a.ecosystem, a.name) for a in advisory.affected} == {("Alpine:v3.10", "openssl")}
            whole = db.advisory(advisory.id)
            assert whole is not None
            assert set(advisory.affected) <= set(whole.affected)
        index = db.load_index()
        for eco, name in [("Alpine:v3.10", "openssl"), ("Alpine", "curl"), ("npm", "lodash")]:
            assert sorted(db.advisories_for(eco, name), key=lambda a: a.id) == sorted(
                index.advisories_for(eco, name), key=lambda a: a.id
            )


def test_epss_scores_from_a_published_csv(tmp_path: Path, vulndata: Path) -> None:
    """FIRST's daily CSV layout: a comment line, a header, one row per CVE (generated here)."""
    epss = (
        b"#model_version:v2023.03.01,score_date:2026-11-23T00:00:00+0000\n"
        b"cve,epss,percentile\n"
        b"CVE-2019-10744,0.01234,0.84000\n"
        b"CVE-2021-23337,0.00567,0.77000\n"
        b"CVE-1999-0001,0.5,0.99\n"
    )
    files = [*iter_feed_files(vulndata / "ghsa"), ("epss_scores-2026-11-23.csv", epss)]
    path = tmp_path / "e.sqlite"
    write_database(path, ingest_files(files), now=NOW)
    with VulnDatabase.open(path) as db:
        assert db.advisory("CVE-2019-10744").epss == 0.01234
        assert db.advisory("GHSA-35jh-r3h4-6jhm").epss == 0.00567
        assert db.info().epss_scores == 3
        assert next(s for s in db.info().sources if s.name == "epss").records == 3
