"""Policy documents: every problem is collected and reported at its line; nothing passes vacuously."""

from __future__ import annotations

import pytest

from wharfinger.errors import PolicyError
from wharfinger.policy import load_policies
from wharfinger.policy.document import PolicyValidationError

BAD = """\
apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: default
spec:
  mode: enforced
  match:
    imagez: ["*"]
  rules:
    - name: signed
      signatures:
        require: threshold
        threshold: 3
        authorities:
          - name: ci
            cosign: {publicKey: k.pub}
    - name: two-checks
      denyLatest: true
      requireDigest: true
    - name: empty-sigs
      signatures: {authorities: []}
---
apiVersion: wharfinger.io/v1alpha1
kind: ImagePolicy
metadata: {name: team}
spec:
  rules: []
  exceptions:
    - {name: e, reason: r, approver: a, expires: 2027-01-01T00:00:00Z}
"""


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(PolicyValidationError) as info:
        load_policies(text, source="bad.yaml")
    assert info.value.hint
    return [(p.line, p.message) for p in info.value.problems]


def test_schema_errors_are_collected_with_lines() -> None:
    found = problems(BAD)
    lines = [line for line, _ in found]
    assert 6 in lines  # mode: enforced
    assert 8 in lines  # unknown field imagez, at the key
    assert any("enforced" in m for _, m in found)
    assert any("imagez" in m for _, m in found)
    assert lines == sorted(lines)


def test_semantic_errors_are_collected_with_lines() -> None:
    text = BAD.replace("mode: enforced", "mode: enforce").replace("imagez", "images")
    found = problems(text)
    messages = dict(found)
    assert "more than the 1 authorities" in messages[13]
    assert "exactly one check" in messages[17]
    assert "vacuously" in messages[21]
    assert "namespaced" in messages[25]
    assert "admit everything" in messages[27]
    assert "unscoped" in messages[29]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: [unclosed", "not valid YAML"),
        ("", "no policy documents"),
        ("- just a list", "is not of type 'object'"),
    ],
)
def test_not_a_policy(text: str, message: str) -> None:
    assert any(message in m for _, m in problems(text))


def test_duplicate_keys_are_reported() -> None:
    text = """apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: a}
spec:
  rules: [{name: r, static: allow}]
  rules: [{name: r, static: deny}]
"""
    assert (6, "key 'rules' appears twice; the second would silently win") in problems(text)


def test_keyless_without_subject_is_rejected() -> None:
    text = """apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: a}
spec:
  rules:
    - name: s
      signatures:
        authorities:
          - name: gh
            keyless: {issuer: "https://token.actions.githubusercontent.com"}
"""
    assert any("any identity would otherwise pass" in m for _, m in problems(text))


def test_huge_policy_is_refused() -> None:
    with pytest.raises(PolicyError, match="over the"):
        load_policies("#" * (3 * 1024 * 1024))


def test_fingerprint_changes_with_content() -> None:
    base = (
        "apiVersion: wharfinger.io/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: a}\n"
        "spec:\n  rules: [{name: r, static: %s}]\n"
    )
    assert load_policies(base % "allow").fingerprint != load_policies(base % "deny").fingerprint
    assert load_policies(base % "allow").fingerprint == load_policies(base % "allow").fingerprint
