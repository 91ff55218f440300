"""Manifest parsing: every kind the specs define, and every way a document is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wharfinger.errors import DigestMismatchError, ManifestError, PlatformNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import (
    ArtifactManifest,
    ImageIndex,
    ImageManifest,
    parse_config,
    parse_manifest,
    select_platform,
)
from wharfinger.oci.platform import Platform, parse_platform

H = "a" * 64
H2 = "b" * 64


def desc(media_type: str, hex_: str = H, size: int = 10, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": f"sha256:{hex_}", "size": size, **extra}


def oci_manifest(**extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG),
        "layers": [desc(mt.OCI_LAYER_GZIP, H2, 100), desc(mt.OCI_LAYER_ZSTD, H2, 200)],
        **extra,
    }


def index(*platforms: dict[str, Any] | None, media_type: str = mt.OCI_INDEX, **extra: Any) -> dict[str, Any]:
    entries = []
    for i, plat in enumerate(platforms):
        entry = desc(mt.OCI_MANIFEST, f"{i:064x}", 500)
        if plat is not None:
            entry["platform"] = plat
        entries.append(entry)
    return {"schemaVersion": 2, "mediaType": media_type, "manifests": entries, **extra}


def raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_oci_manifest() -> None:
    data = raw(oci_manifest(annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}))
    m = parse_manifest(data, mt.OCI_MANIFEST)
    assert isinstance(m, ImageManifest)
    assert m.is_image
    assert m.digest == sha256_digest(data)
    assert m.size == len(data)
    assert [layer.size for layer in m.layers] == [100, 200]
    assert m.annotations["org.opencontainers.image.created"] == "2024-01-01T00:00:00Z"
    assert m.effective_artifact_type == mt.OCI_CONFIG


def test_docker_schema2_manifest_and_list() -> None:
    doc = oci_manifest(mediaType=mt.DOCKER_MANIFEST_V2)
    doc["config"]["mediaType"] = mt.DOCKER_CONFIG
    m = parse_manifest(raw(doc), mt.DOCKER_MANIFEST_V2)
    assert isinstance(m, ImageManifest)
    assert m.media_type == mt.DOCKER_MANIFEST_V2
    assert m.is_image
    lst = parse_manifest(raw(index({"os": "linux", "architecture": "amd64"}, media_type=mt.DOCKER_MANIFEST_LIST)))
    assert isinstance(lst, ImageIndex)
    assert lst.media_type == mt.DOCKER_MANIFEST_LIST


def test_artifact_manifest_with_subject() -> None:
    doc = oci_manifest(
        artifactType="application/vnd.cncf.notary.signature",
        subject=desc(mt.OCI_MANIFEST, H2, 321),
    )
    doc["config"] = desc(mt.OCI_EMPTY, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2)
    m = parse_manifest(raw(doc), mt.OCI_MANIFEST)
    assert isinstance(m, ImageManifest)
    assert not m.is_image
    assert m.effective_artifact_type == "application/vnd.cncf.notary.signature"
    assert m.subject is not None
    assert m.subject.digest == f"sha256:{H2}"


def test_artifact_type_falls_back_to_config_media_type() -> None:
    doc = oci_manifest()
    doc["config"]["mediaType"] = "application/vnd.dev.cosign.simplesigning.v1+json"
    m = parse_manifest(raw(doc))
    assert isinstance(m, ImageManifest)
    assert m.effective_artifact_type == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert not m.is_image


def test_legacy_oci_artifact_manifest() -> None:
    doc = {
        "mediaType": mt.OCI_ARTIFACT_MANIFEST,
        "artifactType": "application/spdx+json",
        "blobs": [desc("application/spdx+json")],
        "subject": desc(mt.OCI_MANIFEST, H2),
    }
    m = parse_manifest(raw(doc), mt.OCI_ARTIFACT_MANIFEST)
    assert isinstance(m, ArtifactManifest)
    assert m.effective_artifact_type == "application/spdx+json"
    assert len(m.blobs) == 1


def test_index_platforms_and_attestations() -> None:
    doc = index(
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
        {"os": "unknown", "architecture": "unknown"},
    )
    idx = parse_manifest(raw(doc), mt.OCI_INDEX)
    assert isinstance(idx, ImageIndex)
    assert [str(p) for p in idx.platforms()] == ["linux/amd64", "linux/arm64/v8"]


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain; charset=utf-8", ""])
def test_generic_or_missing_content_type_uses_the_field(content_type: str | None) -> None:
    assert isinstance(parse_manifest(raw(oci_manifest()), content_type), ImageManifest)


def test_content_type_parameters_are_ignored() -> None:
    assert isinstance(parse_manifest(raw(oci_manifest()), mt.OCI_MANIFEST + "; charset=utf-8"), ImageManifest)


def test_sniffing_without_any_media_type() -> None:
    doc = oci_manifest()
    del doc["mediaType"]
    assert isinstance(parse_manifest(raw(doc)), ImageManifest)
    doc = index({"os": "linux", "architecture": "amd64"})
    del doc["mediaType"]
    assert isinstance(parse_manifest(raw(doc)), ImageIndex)


BAD: list[tuple[str, bytes, str | None, str]] = [
    ("not json", b"{nope", None, "not valid JSON"),
    ("not utf-8", b"\xff\xfe", None, "UTF-8"),
    ("json list", b"[]", None, "not an object"),
    ("schema1 by content type", raw({"schemaVersion": 1}), mt.DOCKER_SCHEMA1_SIGNED, "schema 1"),
    ("schema1 by version", raw({"schemaVersion": 1, "name": "x", "fsLayers": []}), None, "schema 1"),
    ("schema1 by field", raw({"mediaType": mt.DOCKER_SCHEMA1, "schemaVersion": 2}), None, "schema 1"),
    ("content type vs field", raw(oci_manifest()), mt.DOCKER_MANIFEST_V2, "mediaType field says"),
    ("index served as manifest", raw(index(None, mediaType=None)), mt.OCI_MANIFEST, "has a manifests field"),
    (
        "manifest fields in an index",
        raw({**index(None), "config": desc(mt.OCI_CONFIG)}),
        mt.OCI_INDEX,
        "config/layers",
    ),
    ("unknown type", raw(oci_manifest(mediaType="application/vnd.example+json")), None, "unsupported"),
    ("schemaVersion 3", raw(oci_manifest(schemaVersion=3)), None, "schemaVersion"),
    ("no schemaVersion", raw({k: v for k, v in oci_manifest().items() if k != "schemaVersion"}), None, "schemaVersion"),
    ("no config", raw({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "layers": []}), None, "no config"),
    ("layers not list", raw(oci_manifest(layers={})), None, "not a list"),
    ("bad digest", raw(oci_manifest(config=desc(mt.OCI_CONFIG, "xyz"))), None, "config"),
    ("uppercase digest", raw(oci_manifest(config=desc(mt.OCI_CONFIG, H.upper()))), None, "lowercase"),
    ("negative size", raw(oci_manifest(config=desc(mt.OCI_CONFIG, size=-1))), None, "size"),
    ("bool size", raw(oci_manifest(config={**desc(mt.OCI_CONFIG), "size": True})), None, "size"),
    ("no media type", raw(oci_manifest(config={"digest": f"sha256:{H}", "size": 1})), None, "mediaType"),
    ("bad media type", raw(oci_manifest(config=desc("not a type"))), None, "not a media type"),
    ("bad annotations", raw(oci_manifest(annotations={"a": 1})), None, "annotations"),
    ("descriptor not object", raw(oci_manifest(layers=["sha256:x"])), None, "not an object"),
    ("platform no arch", raw(index({"os": "linux"})), None, "os and architecture"),
    ("index without list", raw({"schemaVersion": 2, "mediaType": mt.OCI_INDEX}), None, "no manifests"),
    ("no way to tell", raw({"schemaVersion": 2}), None, "cannot tell"),
    (
        "artifact without type",
        raw({"mediaType": mt.OCI_ARTIFACT_MANIFEST, "blobs": []}),
        None,
        "no artifactType",
    ),
]


@pytest.mark.parametrize(("data", "content_type", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_manifests_are_refused(data: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(data, content_type)
    assert message.lower() in info.value.message.lower()
    assert info.value.hint


def test_size_limit() -> None:
    doc = oci_manifest(annotations={"pad": "x" * 5000})
    data = raw(doc)
    assert isinstance(parse_manifest(data, max_bytes=len(data)), ImageManifest)
    with pytest.raises(ManifestError, match="larger than the"):
        parse_manifest(data, max_bytes=len(data) - 1)
    big = raw(oci_manifest(annotations={"pad": "x" * (4 * 1024 * 1024)}))
    with pytest.raises(ManifestError, match="4194304-byte limit"):
        parse_manifest(big)


def test_expected_digest() -> None:
    data = raw(oci_manifest())
    parse_manifest(data, expected_digest=sha256_digest(data))
    with pytest.raises(DigestMismatchError):
        parse_manifest(data, expected_digest=sha256_digest(data + b" "))


# ------------------------------------------------------------------ platforms


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/aarch64", "linux/arm64/v8"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/8", "linux/arm64/v8"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/i386", "linux/386"),
        ("Linux/AMD64", "linux/amd64"),
        ("macos/arm64", "darwin/arm64/v8"),
        ("windows/amd64", "windows/amd64"),
        ("linux/s390x", "linux/s390x"),
    ],
)
def test_platform_normalisation(given: str, expected: str) -> None:
    assert str(parse_platform(given).normalized()) == expected


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "linux/arm/v7/x", "", "linux/am d64", "linux/$"])
def test_bad_platforms(text: str) -> None:
    from wharfinger.errors import InputError

    with pytest.raises(InputError, match="platform"):
        parse_platform(text)


def multi_arch() -> ImageIndex:
    doc = index(
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
        {"os": "linux", "architecture": "arm", "variant": "v6"},
        {"os": "linux", "architecture": "arm", "variant": "v7"},
        {"os": "unknown", "architecture": "unknown"},
        {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"},
    )
    idx = parse_manifest(raw(doc))
    assert isinstance(idx, ImageIndex)
    return idx


@pytest.mark.parametrize(
    ("wanted", "entry"),
    [
        ("linux/amd64", 0),
        ("linux/x86_64", 0),
        ("linux/arm64", 1),
        ("linux/aarch64", 1),
        ("linux/arm64/v8", 1),
        ("linux/arm/v7", 3),
        ("linux/arm", 3),
        ("linux/arm/v6", 2),
        ("linux/arm/v8", 3),  # no v8 32-bit image: the highest lower variant
        ("windows/amd64", 5),
    ],
)
def test_select_platform(wanted: str, entry: int) -> None:
    idx = multi_arch()
    assert select_platform(idx, parse_platform(wanted)) == idx.manifests[entry]


@pytest.mark.parametrize("wanted", ["linux/s390x", "linux/arm/v5", "unknown/unknown", "linux/amd64/v3"])
def test_select_platform_missing(wanted: str) -> None:
    with pytest.raises(PlatformNotFoundError) as info:
        select_platform(multi_arch(), parse_platform(wanted))
    assert "linux/arm64/v8" in (info.value.hint or "")


def test_descriptor_round_trips_to_json() -> None:
    idx = multi_arch()
    assert [d.to_json() for d in idx.manifests] == json.loads(idx.raw)["manifests"]
    assert idx.manifests[1].platform == Platform(os="linux", architecture="arm64", variant="v8")


# ------------------------------------------------------------------ configs


def test_config_summary() -> None:
    config = {
        "created": "2024-02-03T04:05:06.123456789Z",
        "architecture": "arm64",
        "variant": "v8",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/bin", "LANG=C.UTF-8"],
            "Entrypoint": ["/docker-entrypoint.sh"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Labels": {"maintainer": "someone"},
            "ExposedPorts": {"80/tcp": {}},
            "User": "101",
            "WorkingDir": "/srv",
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{H}", f"sha256:{H2}"]},
        "history": [{"created_by": "a"}, {"created_by": "b", "empty_layer": True}, {"created_by": "c"}],
    }
    c = parse_config(raw(config))
    assert c.created == datetime(2024, 2, 3, 4, 5, 6, 123456, tzinfo=UTC)
    assert str(c.platform) == "linux/arm64/v8"
    assert c.entrypoint == ("/docker-entrypoint.sh",)
    assert c.cmd == ("nginx", "-g", "daemon off;")
    assert len(c.env) == 2
    assert dict(c.labels) == {"maintainer": "someone"}
    assert c.exposed_ports == ("80/tcp",)
    assert c.user == "101"
    assert c.diff_ids == (f"sha256:{H}", f"sha256:{H2}")
    assert c.history_count == 3


def test_config_with_offset_time_and_minimal_fields() -> None:
    c = parse_config(raw({"os": "linux", "architecture": "amd64", "created": "2024-01-01T02:00:00+02:00"}))
    assert c.created == datetime(2024, 1, 1, tzinfo=UTC)
    assert c.entrypoint == ()
    assert parse_config(raw({"os": "linux", "architecture": "amd64", "created": "yesterday"})).created is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"architecture": "amd64"}, "os/architecture"),
        ({"os": "linux", "architecture": "amd64", "config": []}, "not an object"),
        ({"os": "linux", "architecture": "amd64", "config": {"Env": [1]}}, "Env"),
    ],
)
def test_bad_configs(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_config(raw(doc))


_arch = st.sampled_from(
    ["amd64", "x86_64", "x86-64", "aarch64", "arm64", "arm", "armhf", "armel", "i386", "386", "s390x"]
)
_variant = st.none() | st.sampled_from(["v5", "v6", "v7", "v8", "8", "7", "v1", "v3"])


@given(arch=_arch, variant=_variant, os_name=st.sampled_from(["linux", "Linux", "macos", "windows"]))
def test_normalisation_is_idempotent_and_matching_is_symmetric(arch: str, variant: str | None, os_name: str) -> None:
    plat = Platform(os=os_name, architecture=arch, variant=variant)
    once = plat.normalized()
    assert once.normalized() == once
    assert plat.matches(once)
    assert once.matches(plat)
