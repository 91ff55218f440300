"""Hostile bundles: any value anywhere in a real bundle replaced by any JSON value gives a reason,
never an exception (the intoto path, the key path, and the library path behind verify_bundle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle
from wharfinger.signing.cosign.bundle_key import TrustedPublicKey, verify_bundle_with_key

GO = "vectors/cosign/sigstore-go/pkg/testing/data"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["", "AAAA", "-1", "0.0.2"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def _hostile(document: Any, data: st.DataObject, value: Any) -> bytes:
    """``document`` with one drawn place in it (the whole, or any key's or item's value) replaced by ``value``."""
    return json.dumps(_replace(document, data.draw(st.sampled_from(_paths(document))), value)).encode()


# the material fixtures are module-scoped and read-only, so sharing them across examples is safe
HOSTILE_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def material(shared_dir: Path) -> dict[str, Any]:
    base = shared_dir / GO
    return {
        "intoto": json.loads((base / "bundles/sigstore.js@2.0.0-provenance.sigstore.json").read_bytes()),
        "key": json.loads((base / "bundles/public-key-validity.sigstore.json").read_bytes()),
        "public_good": load_trusted_root(base / "trusted-roots/public-good.json"),
        "tsa_root": load_trusted_root(base / "trusted-roots/public-key-validity.json"),
        "public_key": load_pem_public_key((base / "public-keys/public-key-validity.pem").read_bytes()),
    }


@HOSTILE_SETTINGS
@given(data=st.data(), value=JSON_VALUES)
def test_intoto_path_never_raises(material: dict[str, Any], data: st.DataObject, value: Any) -> None:
    hostile = _hostile(material["intoto"], data, value)
    result = verify_bundle(
        hostile, artifact=None, trusted_root=material["public_good"], identity=IdentityPolicy.unsafe_any()
    )
    assert result.reason


@HOSTILE_SETTINGS
@given(data=st.data(), value=JSON_VALUES)
def test_key_path_never_raises(material: dict[str, Any], data: st.DataObject, value: Any) -> None:
    hostile = _hostile(material["key"], data, value)
    result = verify_bundle_with_key(
        hostile,
        artifact=None,
        artifact_sha256="6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72",
        key=TrustedPublicKey(name="k", public_key=material["public_key"]),
        trusted_root=material["tsa_root"],
    )
    assert result.reason


PY = "vectors/cosign/sigstore-python/test/assets"
STAGING = f"{PY}/staging-tuf/targets/ed6a9cf4e7c2e3297a4b5974fce0d17132f03c63512029d7aa3a402b43acab49.trusted_root.json"


@pytest.fixture(scope="module")
def library_material(shared_dir: Path) -> dict[str, Any]:
    return {
        "bundle": json.loads((shared_dir / PY / "bundle_v3.txt.sigstore").read_bytes()),
        "artifact": (shared_dir / PY / "bundle_v3.txt").read_bytes(),
        "root": load_trusted_root(shared_dir / STAGING),
    }


@HOSTILE_SETTINGS
@given(data=st.data(), value=JSON_VALUES)
def test_library_path_never_raises(library_material: dict[str, Any], data: st.DataObject, value: Any) -> None:
    hostile = _hostile(library_material["bundle"], data, value)
    result = verify_bundle(
        hostile,
        artifact=library_material["artifact"],
        trusted_root=library_material["root"],
        identity=IdentityPolicy.unsafe_any(),
    )
    assert result.reason
