"""Referrers on the real docker-registry 2.8, which has no referrers API: the tag schema, both ways."""

from __future__ import annotations

import json
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.images import BuiltImage
from testkit.pushing import push_layout_with_client
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import compute_digest
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.referrers import EMPTY_CONFIG, attach_artifact, fallback_tag, list_referrers

pytestmark = pytest.mark.slow

SBOM = "application/vnd.cyclonedx+json"
SIGNATURE = "application/vnd.cncf.notary.signature"
WRITERS = 8  # concurrent writers attaching to one subject
EMPTY = Descriptor(media_type=mt.OCI_EMPTY, digest=str(compute_digest(EMPTY_CONFIG)), size=len(EMPTY_CONFIG))


def test_attach_then_list_through_the_tag_schema(registry_plain, small_image: BuiltImage, client_for) -> None:
    client = client_for(registry_plain)
    push_layout_with_client(client, small_image, "ref/app", "v1")
    subject = client.get_manifest("ref/app", "v1").descriptor()
    assert list_referrers(client, "ref/app", subject.digest).source == "none"

    sbom = attach_artifact(client, "ref/app", subject, SBOM, [(SBOM, b'{"bomFormat":"CycloneDX"}')])
    signature = attach_artifact(
        client, "ref/app", subject, SIGNATURE, [("application/jose+json", b"{}")], annotations={"k": "v"}
    )
    # attaching again does not duplicate the entry
    attach_artifact(client, "ref/app", subject, SBOM, [(SBOM, b'{"bomFormat":"CycloneDX"}')])

    everything = list_referrers(client, "ref/app", subject.digest)
    assert everything.source == "tag-schema"
    assert {d.digest for d in everything.descriptors} == {sbom.digest, signature.digest}
    only_sboms = list_referrers(client, "ref/app", subject.digest, artifact_type=SBOM)
    assert [d.digest for d in only_sboms.descriptors] == [sbom.digest]
    assert fallback_tag(subject.digest) in client.list_tags("ref/app")

    # what other tools see: the tag is an OCI index naming the artifact, and the artifact names its subject
    flags = [f.replace("--src-", "--") for f in registry_plain.skopeo_flags("src")]
    tag_ref = registry_plain.ref("ref/app", fallback_tag(subject.digest))
    raw = subprocess.run(["skopeo", "inspect", "--raw", *flags, f"docker://{tag_ref}"], capture_output=True, check=True)
    raw = raw.stdout
    index = json.loads(raw)
    assert index["mediaType"] == mt.OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert by_digest[signature.digest]["artifactType"] == SIGNATURE
    artifact = json.loads(client.get_manifest("ref/app", signature.digest).data)
    assert artifact["subject"]["digest"] == subject.digest


def test_reading_is_bounded_for_thousands_of_referrers(registry_plain, small_image, client_for) -> None:
    client = client_for(registry_plain, max_referrers=1000)
    push_layout_with_client(client, small_image, "ref/many", "v1")
    subject = client.get_manifest("ref/many", "v1").descriptor()
    client.push_blob("ref/many", EMPTY.digest, EMPTY.size, EMPTY_CONFIG)
    # 1200 real referrer manifests (the registry checks that index entries exist), indexed in one
    # tag-schema index as a tool that writes in bulk would leave it. Pushed from 8 threads.

    def push(n: int) -> dict[str, object]:
        artifact_type = SBOM if n % 2 else SIGNATURE
        document = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": EMPTY.to_json(),
            "layers": [EMPTY.to_json()],
            "subject": subject.to_json(),
            "annotations": {"n": str(n)},
        }
        pushed = client.put_manifest("ref/many", json.dumps(document).encode(), mt.OCI_MANIFEST)
        return {**pushed.descriptor().to_json(), "artifactType": artifact_type}

    with ThreadPoolExecutor(8) as pool:
        entries = list(pool.map(push, range(1200)))
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()
    client.push_manifest("ref/many", index, mt.OCI_INDEX, tag=fallback_tag(subject.digest))
    found = list_referrers(client, "ref/many", subject.digest)
    assert found.truncated
    assert len(found.descriptors) == 1000
    sboms = list_referrers(client, "ref/many", subject.digest, artifact_type=SBOM)
    assert not sboms.truncated
    assert len(sboms.descriptors) == 600
    assert all(d.artifact_type == SBOM for d in sboms.descriptors)


def test_concurrent_writers_lose_no_entry(registry_plain, small_image, client_for) -> None:
    # docker-registry 2.8 has no referrers API: every writer read-modify-writes the one sha256-<hex> tag
    setup = client_for(registry_plain)
    push_layout_with_client(setup, small_image, "ref/race", "v1")
    for round_number in range(3):  # three subjects, so one lucky interleaving cannot pass the test
        subject = _tiny_subject(setup, "ref/race", round_number)
        start = threading.Barrier(WRITERS)

        def write(n: int, subject: Descriptor = subject, start: threading.Barrier = start) -> str:
            client = client_for(registry_plain)  # one client (connection pool) per writer, as separate processes
            start.wait()
            body = json.dumps({"bomFormat": "CycloneDX", "writer": n}).encode()
            return attach_artifact(client, "ref/race", subject, SBOM, [(SBOM, body)]).digest

        with ThreadPoolExecutor(WRITERS) as pool:
            attached = set(pool.map(write, range(WRITERS)))
        assert len(attached) == WRITERS
        found = list_referrers(setup, "ref/race", subject.digest)
        assert found.source == "tag-schema"
        assert {d.digest for d in found.descriptors} == attached


def _tiny_subject(client, repository: str, n: int) -> Descriptor:
    """A distinct subject image per round (its config differs), pushed for real."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Labels": {"round": str(n)}}}).encode()  # fmt: skip
    config_digest = str(compute_digest(config))
    client.push_blob(repository, config_digest, len(config), config)
    client.push_blob(repository, EMPTY.digest, EMPTY.size, EMPTY_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [],
    }
    data = json.dumps(manifest).encode()
    digest = client.push_manifest(repository, data, mt.OCI_MANIFEST, tag=f"round-{n}")
    return Descriptor(media_type=mt.OCI_MANIFEST, digest=digest, size=len(data))
