"""``db push`` / ``db pull`` through the real ``docker-registry`` (plain HTTP, --insecure)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testkit.registry import RunningRegistry
from wharfinger.errors import DatabaseError, DigestMismatchError, InputError
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.reference import parse_ref
from wharfinger.vulndb.demo import demo_database
from wharfinger.vulndb.publish import ARTIFACT_TYPE, pack_database, pull_database, unpack_database

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_database(tmp_path_factory.mktemp("demo"), now=NOW)


def test_push_then_pull_round_trips_the_file(
    run_cli, registry_plain: RunningRegistry, database: Path, tmp_path
) -> None:
    ref = registry_plain.ref("security/vulndb", "v1")
    pushed = run_cli("db", "push", ref, "--db", str(database), "--insecure", registry_plain.host)
    assert pushed.returncode == 0, pushed.stderr
    assert "@sha256:" in pushed.stdout
    target = tmp_path / "pulled.sqlite"
    pulled = run_cli("db", "pull", ref, "--db", str(target), "--insecure", registry_plain.host)
    assert pulled.returncode == 0, pulled.stderr
    assert target.read_bytes() == database.read_bytes()
    info = json.loads(run_cli("db", "info", "--db", str(target), "-o", "json").stdout)
    assert info["advisories"] > 0
    digest = pushed.stdout.strip().rsplit("@", 1)[1]
    by_digest = run_cli(
        "db", "pull", f"{registry_plain.host}/security/vulndb@{digest}", "--db", str(tmp_path / "d.sqlite"),
        "--insecure", registry_plain.host,
    )  # fmt: skip
    assert by_digest.returncode == 0, by_digest.stderr


def test_pull_refuses_an_artifact_that_is_not_a_database(registry_plain: RunningRegistry, tmp_path: Path) -> None:
    client = RegistryClient(
        registry_plain.host, settings=RegistrySettings(insecure_hosts=frozenset({registry_plain.host}))
    )
    with client:
        packed = pack_database(b"not a database at all", annotations={})
        manifest = json.loads(packed.manifest)
        manifest["artifactType"] = "application/vnd.example.other"
        data = json.dumps(manifest).encode()
        client.push_blob("other/thing", "sha256:" + hashlib.sha256(packed.config).hexdigest(), 2, packed.config)
        layer = manifest["layers"][0]
        client.push_blob("other/thing", layer["digest"], layer["size"], packed.layer)
        client.push_manifest("other/thing", data, "application/vnd.oci.image.manifest.v1+json", tag="v1")
        with pytest.raises(InputError, match=r"not application/vnd\.wharfinger"):
            pull_database(parse_ref(registry_plain.ref("other/thing", "v1")), tmp_path / "x.sqlite", client)
        manifest["artifactType"] = ARTIFACT_TYPE
        client.push_manifest(
            "other/thing", json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json", tag="v2"
        )
        with pytest.raises(DatabaseError, match="not a vulnerability database"):
            pull_database(parse_ref(registry_plain.ref("other/thing", "v2")), tmp_path / "y.sqlite", client)
    assert not (tmp_path / "x.sqlite").exists()
    assert not (tmp_path / "y.sqlite").exists()


def test_layer_must_match_the_manifest() -> None:
    packed = pack_database(b"SQLite format 3\x00" + b"\x00" * 200, annotations={})
    assert unpack_database(packed.manifest, packed.layer).startswith(b"SQLite format 3")
    with pytest.raises(DigestMismatchError):
        unpack_database(packed.manifest, packed.layer[:-1] + bytes([packed.layer[-1] ^ 1]))


def test_pull_from_an_unreachable_registry_is_a_backend_error(run_cli, tmp_path: Path) -> None:
    done = run_cli("db", "pull", "127.0.0.1:9/security/vulndb:v1", "--db", str(tmp_path / "x.sqlite"),
                   "--insecure", "127.0.0.1:9")  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "hint:" in done.stderr
