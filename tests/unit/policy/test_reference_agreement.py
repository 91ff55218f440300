"""The policy's ``parse_image_name`` and ``oci.reference.parse_ref`` are one grammar, one normalisation.

The policy adapter differs from ``parse_ref`` only in its error channel (``None`` instead of
``InvalidReferenceError``) and in keeping an omitted tag unset (``effective_tag`` supplies ``latest``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testkit.shared import SHARED
from wharfinger.errors import InvalidReferenceError
from wharfinger.oci.reference import ImageRef, parse_ref
from wharfinger.policy.request import MalformedReviewError, parse_review
from wharfinger.policy.selectors import ImageName, parse_image_name

H64 = "0123456789abcdef" * 4
D256 = f"sha256:{H64}"
D512 = f"sha512:{H64 * 2}"


@dataclass(frozen=True)
class Row:
    text: str
    registry: str
    repository: str
    tag: str | None  # as ImageName has it: None when the text names no tag
    digest: str | None = None


TABLE = [
    Row("nginx", "docker.io", "library/nginx", None),
    Row("nginx:latest", "docker.io", "library/nginx", "latest"),
    Row("user/app:1", "docker.io", "user/app", "1"),
    Row("docker.io/nginx", "docker.io", "library/nginx", None),
    Row("docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27"),
    Row("index.docker.io/nginx:1", "docker.io", "library/nginx", "1"),
    Row("registry-1.docker.io/busybox", "docker.io", "library/busybox", None),
    Row("Docker.IO/acme/app", "docker.io", "acme/app", None),
    Row("Registry.Example.COM/team/app:v2", "registry.example.com", "team/app", "v2"),
    Row("localhost/app", "localhost", "app", None),
    Row("localhost:5000/a/b:t", "localhost:5000", "a/b", "t"),
    Row("localhost:5000", "docker.io", "library/localhost", "5000"),  # no slash: a tag, not a port
    Row("192.168.1.10:5000/app", "192.168.1.10:5000", "app", None),
    Row("[::1]:5000/app", "[::1]:5000", "app", None),
    Row("[2001:db8::1]:443/ns/app:v1@" + D256, "[2001:db8::1]:443", "ns/app", "v1", D256),
    Row("ghcr.io/acme/api@" + D256, "ghcr.io", "acme/api", None, D256),
    Row("ghcr.io/acme/api@" + D512, "ghcr.io", "acme/api", None, D512),
    Row("redis:latest@" + D256, "docker.io", "library/redis", "latest", D256),
    Row("quay.io/fluentd_elasticsearch/fluentd:v2.5.2", "quay.io", "fluentd_elasticsearch/fluentd", "v2.5.2"),
    Row("a/foo__bar---baz.q", "docker.io", "a/foo__bar---baz.q", None),
]

# Accepted by the policy's former hand-written parser, refused by the reference grammar (and so now by both).
REFUSED = [
    "app@",  # empty digest
    "app@md5:" + H64[:32],  # only sha256/sha512 digests
    "app@sha384:" + H64 + H64[:32],
    "app@sha256:" + H64.upper(),  # digest hex is lowercase
    "app@sha256:" + H64 * 2,  # wrong length for the algorithm
    "app:t\u00e4g",  # tags are ASCII
    "-bad.com/app",  # not a host name
    "example.com:port/app",
    "example.com:99999/app",  # port out of range
    "[zz::1]/app",
    "::1/app",  # IPv6 needs brackets
    "app:a/b",  # "app:a" would be host:port
    H64,  # an image ID, not a name
    "r.io/" + "a" * 251,  # name longer than 255
    "",
    " nginx",
    "UPPER/x",
]


def _fields(image: ImageName | ImageRef) -> tuple[str, str, str | None, str | None]:
    tag = image.effective_tag if isinstance(image, ImageName) else image.tag
    return image.registry, image.repository, tag, image.digest


def _agree(text: str) -> ImageName | None:
    """Both parsers accept with the same fields, or both refuse; return the policy's view."""
    name = parse_image_name(text)
    try:
        ref = parse_ref(text)
    except InvalidReferenceError:
        assert name is None, f"{text!r}: the policy accepts what the grammar refuses"
        return None
    assert name is not None, f"{text!r}: the policy refuses what the grammar accepts"
    assert _fields(name) == _fields(ref)
    return name


@pytest.mark.parametrize("row", TABLE, ids=lambda r: r.text[:60])
def test_both_apis_agree(row: Row) -> None:
    name = _agree(row.text)
    assert name is not None
    assert (name.registry, name.repository, name.tag, name.digest) == (
        row.registry,
        row.repository,
        row.tag,
        row.digest,
    )


@pytest.mark.parametrize("text", REFUSED, ids=lambda t: t[:40] or "<empty>")
def test_both_apis_refuse(text: str) -> None:
    assert _agree(text) is None


def test_agree_on_every_image_in_the_shared_admission_vectors() -> None:
    images: set[str] = set()
    for path in sorted((SHARED / "vectors" / "admission").rglob("*.json")):
        try:
            images.update(parse_review(path.read_bytes()).images)
        except MalformedReviewError:
            continue  # the vectors that must be refused as requests carry no images to compare
    assert len(images) >= 10  # the connaisseur set has 17 distinct images
    for text in sorted(images):
        assert _agree(text) is not None, text


_TOKENS = st.sampled_from(
    [
        "a", "x1", "Ab", "docker.io", "index.docker.io", "localhost", "localhost:5000", "r.io", "R.IO",
        "[::1]", "[::1]:5000", ":", "/", "@", "_", "__", "-", ".", "latest", "v1.2", "99999", "\u00fc",
        D256, D512, "sha256:", H64,
    ]
)  # fmt: skip


@given(st.lists(_TOKENS, min_size=1, max_size=7).map("".join))
def test_agree_on_arbitrary_token_strings(text: str) -> None:
    _agree(text)
