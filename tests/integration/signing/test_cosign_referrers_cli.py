"""cosign signatures as OCI 1.1 referrers (cosign's ``--registry-referrers-mode=oci-1-1``) through the CLI
against the real Debian docker-registry, which has no referrers API: the ``sha256-<hex>`` tag-schema
index carries them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notary_fixtures import plain_client, push_tiny_image, write_key_pair

from wharfinger.errors import RegistryNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.referrers import fallback_tag, push_referrer
from wharfinger.signing.cosign.registry import SIGNATURE_ARTIFACT_TYPE, fetch_signatures
from wharfinger.signing.cosign.simplesigning import SIMPLE_SIGNING_MEDIA_TYPE, build_signature_layer, signature_tag
from wharfinger.signing.keys.providers import open_signer
from wharfinger.signing.keys.signer import SignatureAlgorithm

pytestmark = pytest.mark.slow


def _sign(run_cli, registry, image: str, key: Path, *extra: str):
    return run_cli("sign", image, "--key", str(key), "--format", "cosign", "--insecure", registry.host, "-o", "json",
                   *extra)  # fmt: skip


def _verify(run_cli, registry, image: str, *keys: Path, threshold: int = 1):
    flags = [arg for key in keys for arg in ("--key", str(key))]
    return run_cli("verify", image, *flags, "--threshold", str(threshold), "--insecure", registry.host, "-o", "json")


def test_referrer_signature_is_read_alone_and_beside_the_sig_tag(registry_plain, run_cli, tmp_path: Path) -> None:
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/referred", "v1", content=b"referred")
    image = f"{registry_plain.host}/team/referred:v1"
    alice, alice_pub = write_key_pair(tmp_path, "alice")
    bob, bob_pub = write_key_pair(tmp_path, "bob")

    signed = _sign(run_cli, registry_plain, image, alice, "--referrers")
    assert signed.returncode == 0, signed.stderr
    referrer_digest = json.loads(signed.stdout)["signature"]
    with pytest.raises(RegistryNotFoundError):  # no .sig tag was written
        client.get_manifest("team/referred", signature_tag(digest))
    # the registry has no referrers API, so the tag-schema index lists the signature with cosign's artifact type
    index = json.loads(client.get_manifest("team/referred", fallback_tag(digest)).data)
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [
        (referrer_digest, SIGNATURE_ARTIFACT_TYPE)
    ]
    manifest = json.loads(client.get_manifest("team/referred", referrer_digest).data)
    assert manifest["artifactType"] == SIGNATURE_ARTIFACT_TYPE
    assert manifest["subject"]["digest"] == digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [SIMPLE_SIGNING_MEDIA_TYPE]
    assert manifest["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"]

    alone = _verify(run_cli, registry_plain, image, alice_pub)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert json.loads(alone.stdout)["message"] == "signed by alice"
    assert _verify(run_cli, registry_plain, image, bob_pub).returncode == 1  # bob has not signed yet

    assert _sign(run_cli, registry_plain, image, bob).returncode == 0  # the classic .sig tag
    found = fetch_signatures(client, "team/referred", digest)
    assert found.digest is not None
    assert found.referrer_digests == (referrer_digest,)
    assert len(found.layers) == 2
    both = _verify(run_cli, registry_plain, image, alice_pub, bob_pub, threshold=2)
    assert both.returncode == 0, both.stdout + both.stderr
    assert json.loads(both.stdout)["verified"] is True


def test_a_referrer_of_another_image_does_not_count(registry_plain, run_cli, tmp_path: Path) -> None:
    """The tag-schema index is writable by anyone with push rights: an entry copied from another image's
    list must not lend that image's signature (the manifest's own subject decides)."""
    client = plain_client(registry_plain)
    signed_digest = push_tiny_image(client, "team/pair", "signed", content=b"signed")
    other_digest = push_tiny_image(client, "team/pair", "other", content=b"other")
    key, public = write_key_pair(tmp_path, "ci")
    assert _sign(run_cli, registry_plain, f"{registry_plain.host}/team/pair:signed", key, "--referrers").returncode == 0
    index = client.get_manifest("team/pair", fallback_tag(signed_digest))
    client.push_manifest("team/pair", index.data, index.media_type, tag=fallback_tag(other_digest))

    assert fetch_signatures(client, "team/pair", other_digest).layers == ()
    done = _verify(run_cli, registry_plain, f"{registry_plain.host}/team/pair:other", public)
    assert done.returncode == 1
    assert "no cosign signatures found" in json.loads(done.stdout)["message"]
    assert _verify(run_cli, registry_plain, f"{registry_plain.host}/team/pair:signed", public).returncode == 0


def test_cosign_shaped_referrer_without_artifact_type_field(registry_plain, run_cli, tmp_path: Path) -> None:
    """cosign's ``WriteSignaturesExperimentalOCI`` sets no top-level ``artifactType``: the artifact type is the
    config's media type (and the config blob is a descriptor). The referrers list reports it all the same."""
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/cosignshape", "v1", content=b"cosign-shaped")
    image_manifest = client.get_manifest("team/cosignshape", digest)
    key, public = write_key_pair(tmp_path, "ci")
    signer = open_signer(str(key), {}, algorithm=SignatureAlgorithm.ECDSA_SHA256)
    payload, layer = build_signature_layer(f"{registry_plain.host}/team/cosignshape", digest, signer)
    client.push_blob("team/cosignshape", layer.digest, len(payload), payload)
    config = json.dumps({"mediaType": SIGNATURE_ARTIFACT_TYPE, "size": 0, "digest": layer.digest}).encode()
    config_digest = sha256_digest(config)
    client.push_blob("team/cosignshape", config_digest, len(config), config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": SIGNATURE_ARTIFACT_TYPE, "size": len(config), "digest": config_digest},
        "layers": [layer.to_json()],
        "subject": {"mediaType": image_manifest.media_type, "digest": digest, "size": len(image_manifest.data)},
    }
    pushed = push_referrer(client, "team/cosignshape", json.dumps(manifest).encode(), mt.OCI_MANIFEST)

    assert fetch_signatures(client, "team/cosignshape", digest).referrer_digests == (pushed.digest,)
    done = _verify(run_cli, registry_plain, f"{registry_plain.host}/team/cosignshape:v1", public)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["message"] == "signed by ci"
