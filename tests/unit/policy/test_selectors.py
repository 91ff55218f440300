from __future__ import annotations

import pytest

from wharfinger.policy.selectors import LabelExpression, LabelSelector, Operator, image_matches, parse_image_name


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("nginx", "docker.io/library/nginx", None, None),
        ("index.docker.io/nginx:1", "docker.io/library/nginx", "1", None),
        ("localhost:5000/a/b:t", "localhost:5000/a/b", "t", None),
        ("ghcr.io/acme/api@sha256:" + "a" * 64, "ghcr.io/acme/api", None, "sha256:" + "a" * 64),
        ("redis:latest@sha256:" + "1" * 64, "docker.io/library/redis", "latest", "sha256:" + "1" * 64),
    ],
)
def test_parse(text: str, name: str, tag: str | None, digest: str | None) -> None:
    parsed = parse_image_name(text)
    assert parsed is not None
    assert (parsed.name, parsed.tag, parsed.digest) == (name, tag, digest)


@pytest.mark.parametrize("text", ["", "UPPER/x", "a b", "x@sha256:short", "x:" + "t" * 200, " nginx"])
def test_parse_rejects(text: str) -> None:
    assert parse_image_name(text) is None


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    [
        ("*", "quay.io/x/y:1", True),
        ("*:*", "busybox", True),
        ("*:*", "alice@sha256:" + "1" * 64, True),
        ("nginx", "docker.io/library/nginx:1", True),
        ("test-image", "index.docker.io/library/test-image", True),
        ("ghcr.io/acme/*", "ghcr.io/acme/api:1", True),
        ("ghcr.io/acme/*", "ghcr.io/evil/api:1", False),
        ("my.reg/allow-me", "my.reg/allow-me-not", False),
        ("nginx:1.*", "nginx:1.27", True),
        ("nginx:1.*", "nginx:2", False),
    ],
)
def test_image_patterns(pattern: str, image: str, expected: bool) -> None:
    parsed = parse_image_name(image)
    assert parsed is not None
    assert image_matches(pattern, parsed) is expected


def test_label_selector_semantics_follow_kubernetes() -> None:
    sel = LabelSelector(
        match_labels={"env": "prod"},
        match_expressions=(
            LabelExpression(key="team", operator=Operator.IN, values=("a", "b")),
            LabelExpression(key="legacy", operator=Operator.DOES_NOT_EXIST),
            LabelExpression(key="tier", operator=Operator.NOT_IN, values=("db",)),
        ),
    )
    assert sel.matches({"env": "prod", "team": "a"})
    assert not sel.matches({"env": "prod", "team": "c"})
    assert not sel.matches({"env": "prod", "team": "a", "legacy": "1"})
    assert not sel.matches({"env": "prod", "team": "a", "tier": "db"})
    assert not sel.matches({"team": "a"})
