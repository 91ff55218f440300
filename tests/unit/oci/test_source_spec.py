"""Source strings, spelled as skopeo and syft spell them."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharfinger.errors import InputError, InvalidReferenceError
from wharfinger.oci.reference import parse_ref
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import SourceKind, SourceSpec, open_source, parse_source

D = "sha256:" + "ab" * 32

K = SourceKind
CASES: list[tuple[str, SourceKind, dict[str, object]]] = [
    ("alpine:3.20", K.REGISTRY, {"ref": parse_ref("alpine:3.20")}),
    ("registry:alpine", K.REGISTRY, {"ref": parse_ref("alpine")}),
    ("docker://r.io/a:1", K.REGISTRY, {"ref": parse_ref("r.io/a:1")}),
    ("oci:/l", K.OCI, {"path": Path("/l")}),
    ("oci:/l:v1", K.OCI, {"path": Path("/l"), "tag": "v1"}),
    (f"oci:/l@{D}", K.OCI, {"path": Path("/l"), "digest": D}),
    ("oci-archive:x.tar:1.0", K.OCI_ARCHIVE, {"path": Path("x.tar"), "tag": "1.0"}),
    ("docker-archive:x.tar", K.DOCKER_ARCHIVE, {"path": Path("x.tar")}),
    ("docker-archive:x.tar:r.io/a:1", K.DOCKER_ARCHIVE, {"path": Path("x.tar"), "selector": "r.io/a:1"}),
    ("docker-archive:x.tar@2", K.DOCKER_ARCHIVE, {"path": Path("x.tar"), "selector": "@2"}),
    ("dir:./rootfs", K.DIR, {"path": Path("rootfs")}),
    ("sbom:bom.json", K.SBOM, {"path": Path("bom.json")}),
]


@pytest.mark.parametrize(("text", "kind", "fields"), CASES, ids=[c[0] for c in CASES])
def test_parse_source(text: str, kind: SourceKind, fields: dict[str, object]) -> None:
    assert parse_source(text) == SourceSpec(kind=kind, text=text, **fields)  # type: ignore[arg-type]


def test_an_existing_path_with_a_colon_is_taken_whole(tmp_path: Path) -> None:
    odd = tmp_path / "a:b"
    odd.mkdir()
    spec = parse_source(f"oci:{odd}")
    assert (spec.path, spec.tag) == (odd, None)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", InputError, "empty"),
        ("oci:", InputError, "names no oci location"),
        ("oci:/l:", InputError, "empty tag"),
        ("oci:/l@sha256:abc", InvalidReferenceError, "digest"),
        ("Alpine", InvalidReferenceError, "lowercase"),
        ("docker://", InputError, "names no registry"),
    ],
)
def test_bad_sources(text: str, error: type[InputError], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        parse_source(text)
    assert info.value.hint


@pytest.mark.parametrize("text", ["dir:/tmp", "sbom:/tmp/x.json"])
def test_non_image_sources_cannot_be_opened_as_images(text: str) -> None:
    with pytest.raises(InputError, match="not an image"):
        open_source(parse_source(text), settings=Settings())
