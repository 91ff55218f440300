"""Arbitrary input never escapes as anything but our own errors (no KeyError, TypeError, …)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.errors import InputError, InvalidReferenceError, ManifestError, WharfingerError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.manifest import parse_config, parse_manifest
from wharfinger.oci.reference import parse_ref
from wharfinger.oci.sources import parse_source


def error_of(call: Callable[[], object]) -> WharfingerError | None:
    """The WharfingerError ``call`` raised, if any; any other exception fails the test by escaping."""
    try:
        call()
    except WharfingerError as exc:
        return exc
    return None


_reference_alphabet = st.sampled_from([*"abcXYZ019:/@._-[]", "sha256:", "localhost", "docker.io/"])


@given(st.lists(_reference_alphabet, max_size=25).map("".join) | st.text(max_size=40))
def test_parse_ref_total(text: str) -> None:
    error = error_of(lambda: parse_ref(text))
    if error is None:
        assert parse_ref(str(parse_ref(text))) == parse_ref(text)
    else:
        assert isinstance(error, InvalidReferenceError)
        assert error.hint


@given(st.text(max_size=60))
def test_parse_source_total(text: str) -> None:
    error = error_of(lambda: parse_source(text))
    assert error is None or isinstance(error, InputError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
_keys = st.sampled_from(
    ["schemaVersion", "mediaType", "config", "layers", "manifests", "subject", "artifactType", "annotations",
     "digest", "size", "platform", "os", "architecture", "blobs", "urls"]
)  # fmt: skip
manifest_like = st.recursive(
    st.none() | st.integers(-1, 3) | st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, "sha256:" + "a" * 64, "x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300)
@given(
    doc=manifest_like | json_values, media_type=st.none() | st.sampled_from(sorted(mt.MANIFEST_TYPES | mt.INDEX_TYPES))
)
def test_parse_manifest_total(doc: Any, media_type: str | None) -> None:
    error = error_of(lambda: parse_manifest(json.dumps(doc).encode(), media_type))
    assert error is None or (isinstance(error, ManifestError) and error.hint)


@given(st.dictionaries(st.sampled_from(["os", "architecture", "config", "rootfs", "history", "created"]), json_values))
def test_parse_config_total(doc: dict[str, Any]) -> None:
    error = error_of(lambda: parse_config(json.dumps(doc).encode()))
    assert error is None or (isinstance(error, ManifestError) and error.hint)


@settings(max_examples=60)
@given(kind=st.sampled_from(["oci:", "oci-archive:", "docker-archive:"]), path=st.text(max_size=300))
def test_open_source_total(kind: str, path: str) -> None:
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import open_source

    def attempt() -> None:
        source = open_source(parse_source(kind + "/nonexistent/" + path), settings=Settings())
        source.resolve()

    error = error_of(attempt)
    assert isinstance(error, InputError)
    assert error.hint
