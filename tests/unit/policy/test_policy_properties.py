"""Properties of the engine: more trust never denies more; facts survive their file format; parsing is total."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.policy import Facts, evaluate, load_policies
from wharfinger.policy.facts import ImageFacts, SignatureFact, SignatureKind, Unscannable, VulnerabilitySummary
from wharfinger.policy.factsfile import facts_to_document, parse_image_facts
from wharfinger.policy.request import AdmissionRequest, MalformedReviewError, parse_review, request_from_object
from wharfinger.vulndb.model import Severity

NOW = datetime(2026, 11, 24, tzinfo=UTC)
AUTHORITIES = ("a", "b", "c")
POLICY = load_policies("""apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: p}
spec:
  rules:
    - name: two-of-three
      signatures:
        require: threshold
        threshold: 2
        authorities:
          - {name: a, cosign: {publicKey: a.pub}}
          - {name: b, cosign: {publicKey: b.pub}}
          - {name: c, cosign: {publicKey: c.pub}}
""")
REQUEST = request_from_object(
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "image": "ghcr.io/acme/api:1"}]},
    }
)


def _facts(verified: set[str]) -> Facts:
    return Facts(
        images={
            "ghcr.io/acme/api:1": ImageFacts(
                reference="ghcr.io/acme/api:1",
                digest="sha256:" + "a" * 64,
                signatures=tuple(
                    SignatureFact(authority=a, kind=SignatureKind.COSIGN, verified=a in verified) for a in AUTHORITIES
                ),
            )
        }
    )


@given(st.sets(st.sampled_from(AUTHORITIES)), st.sampled_from(AUTHORITIES))
def test_one_more_verified_signature_never_turns_allow_into_deny(verified: set[str], extra: str) -> None:
    before = evaluate(POLICY, REQUEST, _facts(verified), NOW)
    after = evaluate(POLICY, REQUEST, _facts(verified | {extra}), NOW)
    assert not (before.allowed and not after.allowed)
    assert before.allowed is (len(verified) >= 2)


severities = st.sampled_from(list(Severity))
summaries = st.builds(
    VulnerabilitySummary,
    scanned_at=st.datetimes(timezones=st.just(UTC)),
    counts=st.dictionaries(severities, st.integers(0, 50), max_size=4),
    unfixed_counts=st.dictionaries(severities, st.integers(0, 50), max_size=4),
    kev_ids=st.lists(st.from_regex(r"CVE-20[0-9]{2}-[0-9]{4,6}", fullmatch=True), max_size=3).map(tuple),
)


@settings(max_examples=50)
@given(
    st.one_of(summaries, st.builds(Unscannable, reason=st.text(min_size=1, max_size=20).filter(str.strip))),
    st.lists(st.tuples(st.sampled_from(AUTHORITIES), st.booleans()), max_size=3),
)
def test_facts_round_trip_through_the_file_format(
    vulns: VulnerabilitySummary | Unscannable, sigs: list[tuple[str, bool]]
) -> None:
    facts = ImageFacts(
        reference="ghcr.io/acme/api:1",
        digest="sha256:" + "b" * 64,
        signatures=tuple(SignatureFact(authority=a, kind=SignatureKind.NOTARY, verified=v) for a, v in sigs),
        vulnerabilities=vulns,
    )
    again = parse_image_facts(facts_to_document(facts))
    assert again.signatures == facts.signatures
    assert again.digest == facts.digest
    if isinstance(vulns, VulnerabilitySummary):
        assert isinstance(again.vulnerabilities, VulnerabilitySummary)
        assert again.vulnerabilities.kev_ids == vulns.kev_ids
        assert again.vulnerabilities.max_severity(ignore_unfixed=False) == vulns.max_severity(ignore_unfixed=False)
    else:
        assert again.vulnerabilities == vulns


@settings(max_examples=200)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_parse_review_never_raises_anything_but_malformed(body: bytes) -> None:
    outcome: object
    try:
        outcome = parse_review(body)
    except MalformedReviewError as exc:
        outcome = exc
    if isinstance(outcome, MalformedReviewError):
        assert outcome.http_status in {400, 413}
        assert outcome.hint
    else:
        assert isinstance(outcome, AdmissionRequest)
        assert outcome.uid
