"""Every AdmissionReview in ../shared/vectors/admission/, judged by the pure engine under the
Wharfinger translation of connaisseur's 10_mutate_test.yaml (facts = connaisseur's mock validator)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from admission_checks import SHARED
from wharfinger.policy import Facts, evaluate, load_policies, parse_review, plan
from wharfinger.policy.factsfile import parse_facts_document
from wharfinger.policy.request import MalformedReviewError

DATA = Path(__file__).resolve().parent.parent / "data" / "admission"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALICE_DIGEST = "sha256:1234567890123456123456789012345612345678901234561234567890123456"


@dataclass(frozen=True)
class Case:
    path: Path
    expected: str | None  # "valid" | "invalid" | None (no expectation: must parse)
    reason: str


def _cases() -> list[Case]:
    vectors = SHARED / "vectors"
    if not (vectors / "expected.json").is_file():
        pytest.fail(f"shared vectors missing at {vectors}; see tests/conftest.py")
    expected = {e["path"]: e for e in json.loads((vectors / "expected.json").read_text())}
    folder = vectors / "admission" / "connaisseur" / "test" / "testdata" / "admission_requests"
    out = []
    for path in sorted(folder.glob("*.json")):
        entry = expected.get(str(path.relative_to(vectors)))
        out.append(Case(path, entry["expected"] if entry else None, entry["reason"] if entry else ""))
    assert len(out) == 29
    return out


CASES = _cases()
POLICIES = load_policies((DATA / "connaisseur-mutate-test.policy.yaml").read_text(), source="mutate-test")
FACTS = parse_facts_document(yaml.safe_load((DATA / "connaisseur-mock.facts.yaml").read_text()))


def _decide(body: bytes):  # type: ignore[no-untyped-def]
    request = parse_review(body)
    needs = plan(POLICIES, request, {})
    facts = Facts(images={ref: FACTS.lookup(ref, n) for ref, n in needs.items()})
    return request, evaluate(POLICIES, request, facts, NOW)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.path.name)
def test_vector_decision(case: Case) -> None:
    body = case.path.read_bytes()
    if "HTTP 400" in case.reason:
        with pytest.raises(MalformedReviewError) as info:
            parse_review(body)
        assert info.value.http_status == 400
        assert info.value.hint
        return
    request, decision = _decide(body)
    if case.expected is None:
        assert request.uid
        assert decision.message
        return
    assert decision.allowed is (case.expected == "valid"), decision.message
    if not decision.allowed:
        assert decision.violations
        v = decision.violations[0]
        assert v.reason
        assert v.fix
        assert v.rule


def test_deployment_is_pinned_to_the_signed_digest() -> None:
    case = next(c for c in CASES if c.path.name.startswith("01_"))
    _, decision = _decide(case.path.read_bytes())
    assert dict(decision.pins) == {"securesystemsengineering/alice-image:test": ALICE_DIGEST}


@pytest.mark.parametrize("prefix", ["23_", "24_", "18_", "22_"])
def test_pinned_or_static_images_get_no_patch(prefix: str) -> None:
    case = next(c for c in CASES if c.path.name.startswith(prefix))
    _, decision = _decide(case.path.read_bytes())
    assert decision.allowed
    assert not decision.pins


def test_static_deny_names_the_rule_and_image() -> None:
    case = next(c for c in CASES if c.path.name.startswith("14_"))
    _, decision = _decide(case.path.read_bytes())
    assert decision.rule == "deny/static-deny"
    assert "my.reg/deny-me" in decision.message


def test_unsigned_busybox_is_denied_for_missing_signature() -> None:
    case = next(c for c in CASES if c.path.name.startswith("04_"))
    _, decision = _decide(case.path.read_bytes())
    assert decision.rule == "mock/signed-by-mock"
    assert "busybox" in decision.message
    assert "digest could not be resolved" in decision.message  # connaisseur: "unable to find signed digest"


def test_update_with_unchanged_images_is_not_rechecked() -> None:
    case = next(c for c in CASES if c.path.name.startswith("10_"))
    _, decision = _decide(case.path.read_bytes())
    assert decision.outcome.value == "skipped"


@pytest.mark.parametrize(
    ("prefix", "kinds"),
    [("19_", {"containers", "initContainers"}), ("20_", {"containers", "ephemeralContainers"})],
)
def test_init_and_ephemeral_containers_are_checked(prefix: str, kinds: set[str]) -> None:
    case = next(c for c in CASES if c.path.name.startswith(prefix))
    request = parse_review(case.path.read_bytes())
    assert {c.kind.value for c in request.containers} == kinds
    _, decision = _decide(case.path.read_bytes())
    assert not decision.allowed  # nginx is unsigned under the mock
    assert any("nginx" in v.image for v in decision.denying)
