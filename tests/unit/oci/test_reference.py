"""The reference grammar, one row per corner case (expected values follow `docker pull`'s normalisation)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wharfinger.errors import InvalidReferenceError
from wharfinger.oci.reference import ImageRef, parse_ref

H64 = "0123456789abcdef" * 4
H128 = H64 * 2
D256 = f"sha256:{H64}"
D512 = f"sha512:{H128}"


@dataclass(frozen=True)
class Ok:
    text: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None = None


@dataclass(frozen=True)
class Bad:
    text: str
    why: str  # a word the message must contain


VALID = [
    Ok("alpine", "docker.io", "library/alpine", "latest"),
    Ok("alpine:3.20", "docker.io", "library/alpine", "3.20"),
    Ok("library/alpine", "docker.io", "library/alpine", "latest"),
    Ok("docker.io/alpine", "docker.io", "library/alpine", "latest"),
    Ok("docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge"),
    Ok("index.docker.io/alpine", "docker.io", "library/alpine", "latest"),
    Ok("index.docker.io/user/app:1", "docker.io", "user/app", "1"),
    Ok("registry-1.docker.io/library/busybox", "docker.io", "library/busybox", "latest"),
    Ok("user/app", "docker.io", "user/app", "latest"),
    Ok("user/team/app", "docker.io", "user/team/app", "latest"),
    Ok("localhost/app", "localhost", "app", "latest"),
    Ok("localhost:5000/app", "localhost:5000", "app", "latest"),
    Ok("localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1"),
    Ok("localhost:5000", "docker.io", "library/localhost", "5000"),  # no slash: a tag, not a port
    Ok("registry.example.com/app", "registry.example.com", "app", "latest"),
    Ok("Registry.Example.COM/app", "registry.example.com", "app", "latest"),
    Ok("registry.example.com:8443/team/app:v2.1.0", "registry.example.com:8443", "team/app", "v2.1.0"),
    Ok("myacr.azurecr.io/nginx:1.27", "myacr.azurecr.io", "nginx", "1.27"),
    Ok("192.168.1.10:5000/app", "192.168.1.10:5000", "app", "latest"),
    Ok("[::1]:5000/app", "[::1]:5000", "app", "latest"),
    Ok("[::1]/app:tag", "[::1]", "app", "tag"),
    Ok("[2001:db8::1]:443/ns/app@" + D256, "[2001:db8::1]:443", "ns/app", None, D256),
    Ok("foo.bar/baz", "foo.bar", "baz", "latest"),  # a dot makes the first component a host
    Ok("foo_bar/baz", "docker.io", "foo_bar/baz", "latest"),
    Ok("a/foo__bar", "docker.io", "a/foo__bar", "latest"),
    Ok("a/foo---bar", "docker.io", "a/foo---bar", "latest"),
    Ok("a/foo.bar", "docker.io", "a/foo.bar", "latest"),
    Ok("a/0", "docker.io", "a/0", "latest"),
    Ok("app@" + D256, "docker.io", "library/app", None, D256),
    Ok("app:v1@" + D256, "docker.io", "library/app", "v1", D256),
    Ok("app@" + D512, "docker.io", "library/app", None, D512),
    Ok("localhost:5000/app:v1@" + D256, "localhost:5000", "app", "v1", D256),
    Ok("app:_under", "docker.io", "library/app", "_under"),
    Ok("app:UPPER.case-ok_1", "docker.io", "library/app", "UPPER.case-ok_1"),
    Ok("app:" + "t" * 128, "docker.io", "library/app", "t" * 128),
    Ok("user/" + H64, "docker.io", "user/" + H64, "latest"),  # 64 hex is only refused alone
    Ok("r.io/" + "a" * 250, "r.io", "a" * 250, "latest"),  # name of exactly 255 characters
    Ok("a.b-c.d/e", "a.b-c.d", "e", "latest"),
]

INVALID = [
    Bad("", "empty"),
    Bad(" alpine", "whitespace"),
    Bad("alp ine", "whitespace"),
    Bad("Alpine", "lowercase"),
    Bad("user/App", "lowercase"),
    Bad("UPPER/app", "lowercase"),
    Bad("app:", "tag"),
    Bad("app:-x", "tag"),
    Bad("app:.x", "tag"),
    Bad("app:a/b", "registry host"),  # "app:a" reads as host:port, and "a" is no port
    Bad("app:" + "t" * 129, "128"),
    Bad("app:v1:v2", "repository"),
    Bad("app@", "digest"),
    Bad("app@sha256:abc", "64"),
    Bad("app@sha256:" + H64.upper(), "lowercase"),
    Bad("app@sha256:" + H128, "64"),
    Bad("app@sha512:" + H64, "128"),
    Bad("app@md5:" + H64[:32], "unsupported"),
    Bad("app@" + H64, "digest"),
    Bad("app@sha256:" + H64 + "@" + D256, "digest"),
    Bad("/app", "empty"),
    Bad("app/", "empty"),
    Bad("a//b", "empty"),
    Bad("_app", "invalid path component"),
    Bad("app_", "invalid path component"),
    Bad("-app", "invalid path component"),
    Bad("a/app-", "invalid path component"),
    Bad("a/foo..bar", "invalid path component"),
    Bad("a/foo___bar", "invalid path component"),
    Bad("a/foo._bar", "invalid path component"),
    Bad("-bad.com/app", "registry host"),
    Bad("bad-.com/app", "registry host"),
    Bad("example.com:port/app", "registry host"),
    Bad("example.com:99999/app", "out of range"),
    Bad("example.com:0/app", "out of range"),
    Bad("[::1]:5000", "repository"),
    Bad("[zz::1]/app", "registry host"),
    Bad("::1/app", "registry host"),
    Bad(H64, "image ID"),
    Bad("r.io/" + "a" * 251, "255"),
    Bad(":tag", "no repository"),
    Bad("@" + D256, "no repository"),
]


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.text[:60])
def test_valid_references_normalise(case: Ok) -> None:
    ref = parse_ref(case.text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        case.registry,
        case.repository,
        case.tag,
        case.digest,
    )
    assert parse_ref(str(ref)) == ref  # the canonical form is a fixed point


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.text[:60] or "<empty>")
def test_invalid_references_are_refused_with_a_hint(case: Bad) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_ref(case.text)
    assert case.why.lower() in info.value.message.lower()
    assert info.value.hint
    assert isinstance(info.value, ValueError)


def test_canonical_and_familiar_forms() -> None:
    ref = parse_ref("alpine:3.20")
    assert str(ref) == "docker.io/library/alpine:3.20"
    assert ref.familiar() == "alpine:3.20"
    assert parse_ref("user/app").familiar() == "user/app:latest"
    assert parse_ref("localhost:5000/app@" + D256).familiar() == f"localhost:5000/app@{D256}"
    assert ref.api_host == "registry-1.docker.io"
    assert parse_ref("[::1]:5000/app").api_host == "[::1]:5000"


def test_pinning() -> None:
    ref = parse_ref("localhost:5000/app:v1")
    assert not ref.is_pinned
    assert ref.identifier == "v1"
    pinned = ref.with_digest(D256)
    assert pinned.is_pinned
    assert pinned.identifier == D256
    assert str(pinned) == f"localhost:5000/app:v1@{D256}"
    with pytest.raises(InvalidReferenceError):
        ref.with_digest("sha256:nothex")
    assert pinned.with_tag("v2") == ImageRef(registry="localhost:5000", repository="app", tag="v2")
    with pytest.raises(InvalidReferenceError):
        ref.with_tag("-bad")


def test_refs_are_frozen_and_hashable() -> None:
    ref = parse_ref("alpine")
    assert {ref, parse_ref("docker.io/library/alpine:latest")} == {ref}
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]


_component = st.from_regex(r"[a-z0-9]{1,8}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,8}){0,2}", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_host = st.sampled_from(["", "localhost:5000/", "r.example.com/", "[::1]:5000/", "docker.io/", "10.0.0.1/"])


@given(host=_host, path=st.lists(_component, min_size=1, max_size=3), tag=st.none() | _tag)
def test_round_trip_property(host: str, path: list[str], tag: str | None) -> None:
    # Without a host, a first component with a dot (or "localhost") IS a registry host by the grammar.
    assume(host or len(path) == 1 or not ("." in path[0] or path[0] == "localhost"))
    text = host + "/".join(path) + (f":{tag}" if tag else "")
    ref = parse_ref(text)
    assert parse_ref(str(ref)) == ref
    assert ref.repository.endswith("/".join(path))
    assert ref.tag == (tag or "latest")


def test_default_tag_can_be_left_unset() -> None:
    # the policy tells "alpine" from "alpine:latest"; the grammar and the rest of the normalisation are the same
    assert parse_ref("alpine", default_tag=None) == ImageRef(registry="docker.io", repository="library/alpine")
    assert parse_ref("alpine:latest", default_tag=None).tag == "latest"
    assert parse_ref("alpine@" + D256, default_tag=None) == parse_ref("alpine@" + D256)
    with pytest.raises(InvalidReferenceError):
        parse_ref("Alpine", default_tag=None)
