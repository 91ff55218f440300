"""Signed databases through the real ``docker-registry``: ``db push --key`` signs, ``db pull --key`` verifies.

Every refusal must leave the installed database exactly as it was (no partial or temporary file).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from testkit.registry import RunningRegistry
from wharfinger.errors import DatabaseError
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.reference import parse_ref
from wharfinger.signing.cosign.registry import fetch_signatures
from wharfinger.signing.cosign.simplesigning import parse_payload, signature_tag
from wharfinger.vulndb.demo import demo_database
from wharfinger.vulndb.publish import pack_database, pull_database

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_database(tmp_path_factory.mktemp("demo"), now=NOW)


@pytest.fixture(scope="module")
def other_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_database(tmp_path_factory.mktemp("demo-later"), now=LATER)  # same records, other build time


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("keys")
    pairs: dict[str, tuple[Path, Path]] = {}
    for name, key in (
        ("publisher", ec.generate_private_key(ec.SECP256R1())),
        ("rsa-publisher", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("stranger", ec.generate_private_key(ec.SECP256R1())),
    ):
        private, public = base / f"{name}.pem", base / f"{name}.pub"
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        public.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        pairs[name] = (private, public)
    return pairs


def _client(registry: RunningRegistry) -> RegistryClient:
    return RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))


def _push(run_cli, registry: RunningRegistry, ref: str, db: Path, *key: str) -> str:
    pushed = run_cli("db", "push", ref, "--db", str(db), "--insecure", registry.host, *key)
    assert pushed.returncode == 0, pushed.stderr
    return pushed.stdout.splitlines()[0].rsplit("@", 1)[1]


def _pull(run_cli, registry: RunningRegistry, ref: str, target: Path, *args: str, env: dict[str, str] | None = None):
    return run_cli("db", "pull", ref, "--db", str(target), "--insecure", registry.host, *args, env=env)


def _install(tmp_path: Path, database: Path) -> tuple[Path, bytes]:
    """A copy of ``database`` installed alone in a site folder: its path, and its bytes for ``_installed``."""
    target = tmp_path / "site" / "vulndb.sqlite"
    target.parent.mkdir()
    target.write_bytes(database.read_bytes())
    return target, target.read_bytes()


def _installed(target: Path, original: bytes) -> None:
    """The refused pull left the installed file alone and no temporary file behind."""
    assert target.read_bytes() == original
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_signed_push_then_verified_pull(
    run_cli, registry_plain: RunningRegistry, database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("signed/vulndb", "v1")
    digest = _push(run_cli, registry_plain, ref, database, "--key", f"file:{keys['publisher'][0]}")
    with _client(registry_plain) as client:
        (layer,) = fetch_signatures(client, "signed/vulndb", digest).layers
    assert parse_payload(layer.payload).manifest_digest == digest  # the signature covers the pushed artifact
    image_verify = run_cli("verify", ref, "--key", str(keys["publisher"][1]), "--insecure", registry_plain.host)
    assert image_verify.returncode == 0, image_verify.stderr  # the same signature `wharfinger verify` checks

    target = tmp_path / "installed" / "vulndb.sqlite"
    pulled = _pull(run_cli, registry_plain, ref, target, "--key", str(keys["publisher"][1]))
    assert pulled.returncode == 0, pulled.stderr
    assert "signature verified: publisher" in pulled.stdout
    assert "not signature-verified" not in pulled.stderr
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(database.read_bytes()).digest()

    # The environment variable configures the key once (CI, webhook); any one of several keys may have signed.
    by_env = _pull(
        run_cli, registry_plain, ref, tmp_path / "env.sqlite",
        env={"WHARFINGER_DB_VERIFY_KEY": f"{keys['stranger'][1]}:{keys['publisher'][1]}"},
    )  # fmt: skip
    assert by_env.returncode == 0, by_env.stderr
    assert "signature verified: publisher" in by_env.stdout


def test_rsa_key_signs_with_cosign_algorithm(
    run_cli, registry_plain: RunningRegistry, database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("signed/rsa", "v1")
    _push(run_cli, registry_plain, ref, database, "--key", str(keys["rsa-publisher"][0]))
    pulled = _pull(run_cli, registry_plain, ref, tmp_path / "r.sqlite", "--key", str(keys["rsa-publisher"][1]))
    assert pulled.returncode == 0, pulled.stderr


def test_wrong_key_is_refused_and_the_installed_database_kept(
    run_cli, registry_plain: RunningRegistry, database: Path, other_database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("signed/wrongkey", "v1")
    _push(run_cli, registry_plain, ref, database, "--key", str(keys["publisher"][0]))
    target, original = _install(tmp_path, other_database)

    refused = _pull(run_cli, registry_plain, ref, target, "--key", str(keys["stranger"][1]))
    assert refused.returncode == 1, refused.stderr
    assert "not signed by a trusted key" in refused.stderr
    assert "Traceback" not in refused.stderr
    _installed(target, original)


def test_unsigned_database_is_refused_when_a_key_is_configured(
    run_cli, registry_plain: RunningRegistry, database: Path, other_database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("unsigned/vulndb", "v1")
    _push(run_cli, registry_plain, ref, database)
    target, original = _install(tmp_path, other_database)
    refused = _pull(run_cli, registry_plain, ref, target, env={"WHARFINGER_DB_VERIFY_KEY": str(keys["publisher"][1])})
    assert refused.returncode == 1, refused.stderr
    assert "no cosign signatures found" in refused.stderr
    _installed(target, original)


def test_tampered_artifact_is_refused(
    run_cli, registry_plain: RunningRegistry, database: Path, other_database: Path, keys, tmp_path: Path
) -> None:
    repository = "tampered/vulndb"
    ref = registry_plain.ref(repository, "v1")
    signed = _push(run_cli, registry_plain, ref, database, "--key", str(keys["publisher"][0]))
    swapped = _push(run_cli, registry_plain, ref, other_database)  # someone moves the tag to another database
    assert swapped != signed
    target, original = _install(tmp_path, database)

    no_signature = _pull(run_cli, registry_plain, ref, target, "--key", str(keys["publisher"][1]))
    assert no_signature.returncode == 1, no_signature.stderr
    assert swapped in no_signature.stderr
    _installed(target, original)

    # ...and copies the genuine signature next to the swapped artifact: it names the other digest.
    with _client(registry_plain) as client:
        genuine = client.get_manifest(repository, signature_tag(signed))
        client.push_manifest(
            repository, genuine.data, json.loads(genuine.data)["mediaType"], tag=signature_tag(swapped)
        )
    copied = _pull(run_cli, registry_plain, ref, target, "--key", str(keys["publisher"][1]))
    assert copied.returncode == 1, copied.stderr
    assert f"the signature is for {signed}, not for {swapped}" in copied.stderr
    _installed(target, original)

    # The genuine artifact, pinned by digest, still pulls.
    pinned = _pull(run_cli, registry_plain, f"{registry_plain.host}/{repository}@{signed}", target,
                   "--key", str(keys["publisher"][1]))  # fmt: skip
    assert pinned.returncode == 0, pinned.stderr


def test_without_a_key_pull_and_info_warn_that_the_database_is_unverified(
    run_cli, registry_plain: RunningRegistry, database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("open/vulndb", "v1")
    _push(run_cli, registry_plain, ref, database)
    target = tmp_path / "vulndb.sqlite"
    pulled = _pull(run_cli, registry_plain, ref, target)
    assert pulled.returncode == 0, pulled.stderr
    assert "(unverified)" in pulled.stdout
    assert "not signature-verified" in pulled.stderr
    assert target.read_bytes() == database.read_bytes()

    info = run_cli("db", "info", "--db", str(target), "-o", "json")
    assert info.returncode == 0, info.stderr
    assert "not signature-verified" in info.stderr
    configured = run_cli(
        "db", "info", "--db", str(target), "-o", "json", env={"WHARFINGER_DB_VERIFY_KEY": str(keys["publisher"][1])}
    )
    assert configured.returncode == 0, configured.stderr
    assert "not signature-verified" not in configured.stderr


def test_bad_keys_are_clear_input_errors(
    run_cli, registry_plain: RunningRegistry, database: Path, keys, tmp_path: Path
) -> None:
    ref = registry_plain.ref("badkeys/vulndb", "v1")
    missing = run_cli("db", "push", ref, "--db", str(database), "--insecure", registry_plain.host,
                      "--key", str(tmp_path / "absent.pem"))  # fmt: skip
    assert missing.returncode == 3, missing.stderr
    with _client(registry_plain) as client:  # a key that cannot sign stops the push before anything is uploaded
        assert "badkeys/vulndb" not in client.catalog()

    _push(run_cli, registry_plain, ref, database, "--key", str(keys["publisher"][0]))
    private_as_public = _pull(run_cli, registry_plain, ref, tmp_path / "p.sqlite", "--key", str(keys["publisher"][0]))
    assert private_as_public.returncode == 3, private_as_public.stderr
    assert "not a PEM public key" in private_as_public.stderr
    absent = _pull(run_cli, registry_plain, ref, tmp_path / "a.sqlite", "--key", str(tmp_path / "absent.pub"))
    assert absent.returncode == 3, absent.stderr
    assert "does not exist" in absent.stderr
    assert not (tmp_path / "p.sqlite").exists()
    assert not (tmp_path / "a.sqlite").exists()


def test_a_layer_that_does_not_decompress_leaves_no_trace(
    registry_plain: RunningRegistry, database: Path, tmp_path: Path
) -> None:
    packed = pack_database(database.read_bytes(), annotations={})
    manifest = json.loads(packed.manifest)
    garbage = b"\x28\xb5\x2f\xfd" + b"not zstd after the magic number" * 8
    manifest["layers"][0] |= {"digest": "sha256:" + hashlib.sha256(garbage).hexdigest(), "size": len(garbage)}
    target, original = _install(tmp_path, database)
    with _client(registry_plain) as client:
        client.push_blob("broken/vulndb", manifest["config"]["digest"], len(packed.config), packed.config)
        client.push_blob("broken/vulndb", manifest["layers"][0]["digest"], len(garbage), garbage)
        client.push_manifest("broken/vulndb", json.dumps(manifest).encode(), manifest["mediaType"], tag="v1")
        with pytest.raises(DatabaseError, match="does not decompress"):
            pull_database(parse_ref(registry_plain.ref("broken/vulndb", "v1")), target, client)
    _installed(target, original)
