"""The pure engine: modes, overrides, rules, exceptions, break-glass, failure modes, dry-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admission_reviews import review, workload
from wharfinger.policy import Facts, Outcome, evaluate, load_policies, parse_review
from wharfinger.policy.engine import EvaluationSettings
from wharfinger.policy.facts import (
    AttestationFact,
    ImageFacts,
    SignatureFact,
    SignatureKind,
    Unscannable,
    Unverifiable,
    VulnerabilitySummary,
)
from wharfinger.vulndb.model import Severity

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
IMAGE = "ghcr.io/acme/api:1.0"

HEADER = """apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: %s}
spec:
"""


def policy(body: str, name: str = "p") -> str:
    return HEADER % name + "\n".join("  " + line for line in body.strip("\n").splitlines())


def facts(
    *,
    verified: tuple[str, ...] = ("ci",),
    vulns: VulnerabilitySummary | Unscannable | None = None,
    attestations: tuple[AttestationFact, ...] = (),
    digest: str | Unverifiable = DIGEST,
    signatures: tuple[SignatureFact, ...] | Unverifiable | None = None,
    labels: dict[str, str] | None = None,
    image: str = IMAGE,
) -> Facts:
    sigs = (
        signatures
        if signatures is not None
        else tuple(SignatureFact(authority=a, kind=SignatureKind.COSIGN, verified=True, identity=a) for a in verified)
    )
    return Facts(
        images={
            image: ImageFacts(
                reference=image,
                digest=digest,
                signatures=sigs,
                attestations=attestations,
                vulnerabilities=vulns if vulns is not None else Unscannable(reason="none attached"),
            )
        },
        namespace_labels=labels or {},
    )


SIGNED = """
mode: enforce
rules:
  - name: signed
    signatures:
      require: any
      authorities:
        - {name: ci, cosign: {publicKey: ci.pub}}
"""


def decide(policy_text: str, body: bytes, f: Facts, **kw):  # type: ignore[no-untyped-def]
    return evaluate(load_policies(policy_text), parse_review(body), f, NOW, **kw)


def test_signed_image_is_admitted_and_pinned() -> None:
    d = decide(policy(SIGNED), review(workload("Deployment", IMAGE)), facts())
    assert d.allowed
    assert d.outcome is Outcome.ALLOWED
    assert d.pins == {IMAGE: DIGEST}


def test_unsigned_image_is_denied_with_rule_image_reason_fix() -> None:
    d = decide(policy(SIGNED), review(workload("Deployment", IMAGE)), facts(verified=()))
    assert not d.allowed
    assert d.rule == "p/signed"
    v = d.denying[0]
    assert v.image == IMAGE
    assert "no signature found" in v.reason or "has 0" in v.reason
    assert "wharfinger sign" in v.fix
    assert not d.pins


@pytest.mark.parametrize(
    ("mode", "allowed", "outcome"), [("enforce", False, "denied"), ("warn", True, "warned"), ("audit", True, "audited")]
)
def test_modes(mode: str, allowed: bool, outcome: str) -> None:
    d = decide(policy(SIGNED.replace("enforce", mode)), review(workload("Pod", IMAGE)), facts(verified=()))
    assert d.allowed is allowed
    assert d.outcome.value == outcome
    assert bool(d.warnings) is (mode == "warn")


@pytest.mark.parametrize(("label", "allowed"), [("audit", True), ("warn", True), ("enforce", False), ("bogus", False)])
def test_namespace_label_overrides_mode(label: str, allowed: bool) -> None:
    d = decide(
        policy(SIGNED), review(workload("Pod", IMAGE)), facts(verified=(), labels={"wharfinger.io/enforce": label})
    )
    assert d.allowed is allowed


def test_threshold_and_all() -> None:
    text = policy("""
rules:
  - name: two-of-three
    signatures:
      require: threshold
      threshold: 2
      authorities:
        - {name: a, cosign: {publicKey: a.pub}}
        - {name: b, cosign: {publicKey: b.pub}}
        - {name: c, keyless: {issuer: "https://token.actions.githubusercontent.com", subject: x}}
""")
    body = review(workload("Pod", IMAGE))
    assert not decide(text, body, facts(verified=("a",))).allowed
    assert decide(text, body, facts(verified=("a", "c"))).allowed
    all_text = "\n".join(ln for ln in text.replace("threshold\n", "all\n").splitlines() if "threshold: 2" not in ln)
    assert not decide(all_text, body, facts(verified=("a", "c"))).allowed
    assert decide(all_text, body, facts(verified=("a", "b", "c"))).allowed


def test_signature_from_an_authority_not_in_the_rule_does_not_count() -> None:
    d = decide(policy(SIGNED), review(workload("Pod", IMAGE)), facts(verified=("someone-else",)))
    assert not d.allowed


def _summary(**kw: object) -> VulnerabilitySummary:
    base: dict[str, object] = {"scanned_at": NOW - timedelta(hours=1), "counts": {}, "unfixed_counts": {}}
    base.update(kw)
    return VulnerabilitySummary(**base)  # type: ignore[arg-type]


VULNS = """
rules:
  - name: vulns
    vulnerabilities: {maxSeverity: medium, ignoreUnfixed: true, maxScanAgeHours: 24, onMissingScan: deny}
"""


def test_vulnerability_gate() -> None:
    body = review(workload("Pod", IMAGE))
    text = policy(VULNS)
    assert decide(text, body, facts(vulns=_summary(counts={Severity.MEDIUM: 3}))).allowed
    d = decide(text, body, facts(vulns=_summary(counts={Severity.HIGH: 2})))
    assert not d.allowed
    assert "2 high" in d.message
    # unfixed findings are ignored when the rule says so
    assert decide(
        text, body, facts(vulns=_summary(counts={Severity.HIGH: 2}, unfixed_counts={Severity.HIGH: 2}))
    ).allowed
    # stale scan
    d = decide(text, body, facts(vulns=_summary(scanned_at=NOW - timedelta(hours=30))))
    assert not d.allowed
    assert "30 h old" in d.message
    # KEV always blocks, even below maxSeverity and when unfixed is ignored
    d = decide(text, body, facts(vulns=_summary(kev_ids=("CVE-2024-3094",))))
    assert not d.allowed
    assert "CVE-2024-3094" in d.message


@pytest.mark.parametrize(
    ("action", "allowed", "outcome"), [("deny", False, "denied"), ("warn", True, "warned"), ("allow", True, "allowed")]
)
def test_missing_scan(action: str, allowed: bool, outcome: str) -> None:
    d = decide(
        policy(VULNS.replace("onMissingScan: deny", f"onMissingScan: {action}")),
        review(workload("Pod", IMAGE)),
        facts(),
    )
    assert d.allowed is allowed
    assert d.outcome.value == outcome


def test_vulnerability_exception_waives_one_id_until_it_expires() -> None:
    text = policy(
        VULNS
        + """
exceptions:
  - name: xz-accepted
    vulnerabilities: [CVE-2024-3094]
    images: [ghcr.io/acme/*]
    reason: not reachable
    approver: sec@acme
    expires: 2026-12-01T00:00:00Z
"""
    )
    body = review(workload("Pod", IMAGE))
    f = facts(vulns=_summary(kev_ids=("CVE-2024-3094",)))
    assert decide(text, body, f).allowed
    later = evaluate(load_policies(text), parse_review(body), f, datetime(2026, 12, 2, tzinfo=UTC))
    assert not later.allowed
    assert any("expired" in w for w in later.warnings)


def test_rule_exception_by_namespace() -> None:
    text = policy(
        SIGNED
        + """
exceptions:
  - name: legacy
    namespaces: [team-a]
    rules: [signed]
    reason: migration
    approver: lead@acme
    expires: 2027-01-01T00:00:00Z
"""
    )
    d = decide(text, review(workload("Pod", IMAGE)), facts(verified=()))
    assert d.allowed
    assert d.violations[0].waived_by == "legacy"
    assert not decide(text, review(workload("Pod", IMAGE, namespace="team-b")), facts(verified=())).allowed


ATTEST = """
rules:
  - name: provenance
    attestations:
      - predicateType: https://slsa.dev/provenance/v1
        conditions:
          - {path: buildDefinition.buildType, matches: "^https://github.com/"}
          - {path: runDetails.builder.id, in: ["https://github.com/acme/builder"]}
"""


def test_attestation_conditions() -> None:
    body = review(workload("Pod", IMAGE))
    good = AttestationFact(
        predicate_type="https://slsa.dev/provenance/v1",
        predicate={
            "buildDefinition": {"buildType": "https://github.com/actions"},
            "runDetails": {"builder": {"id": "https://github.com/acme/builder"}},
        },
    )
    bad = AttestationFact(predicate_type=good.predicate_type, predicate={"buildDefinition": {"buildType": "local"}})
    assert decide(policy(ATTEST), body, facts(attestations=(good,))).allowed
    d = decide(policy(ATTEST), body, facts(attestations=(bad,)))
    assert not d.allowed
    assert "runDetails.builder.id" in d.message
    assert "no signed attestation" in decide(policy(ATTEST), body, facts()).message


@pytest.mark.parametrize(
    ("image", "allowed"),
    [("nginx", False), ("nginx:latest", False), ("nginx:1.27", True), ("nginx:latest@" + DIGEST, True)],
)
def test_deny_latest(image: str, allowed: bool) -> None:
    text = policy("rules: [{name: no-latest, denyLatest: true}]")
    assert decide(text, review(workload("Pod", image)), Facts(images={})).allowed is allowed


def test_require_digest_suggests_the_resolved_digest() -> None:
    text = policy("rules: [{name: pinned, requireDigest: true}]")
    d = decide(text, review(workload("Pod", IMAGE)), facts())
    assert not d.allowed
    assert f"ghcr.io/acme/api@{DIGEST}" in d.message


def test_registry_allow_list() -> None:
    text = policy("rules: [{name: registries, registries: {allow: [ghcr.io, '*.azurecr.io']}}]")
    assert decide(text, review(workload("Pod", "acme.azurecr.io/x:1")), Facts(images={})).allowed
    d = decide(text, review(workload("Pod", "docker.io/library/nginx:1")), Facts(images={}))
    assert "docker.io is not on the allow-list" in d.message


def test_scoping_by_namespace_selector_object_labels_kind_and_images() -> None:
    text = policy(
        """
match:
  namespaces: ["team-*"]
  excludeNamespaces: [team-z]
  namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}
  objectSelector: {matchLabels: {tier: web}}
  kinds: [Deployment]
  images: ["ghcr.io/acme/*"]
rules: [{name: deny-all, static: deny}]
settings: {}
""".replace("settings: {}\n", "")
    )
    prod = {"env": "prod"}

    def run(obj, labels=prod):  # type: ignore[no-untyped-def]
        return decide(
            text,
            review(obj),
            Facts(images={}, namespace_labels=labels),
            settings=EvaluationSettings(
                no_match=__import__("wharfinger.policy.document", fromlist=["Mode"]).Mode.AUDIT
            ),
        )

    assert not run(workload("Deployment", IMAGE, labels={"tier": "web"})).allowed
    assert run(workload("Deployment", IMAGE, labels={"tier": "db"})).denying == ()
    assert run(workload("Pod", IMAGE, labels={"tier": "web"})).denying == ()
    assert run(workload("Deployment", "quay.io/x:1", labels={"tier": "web"})).denying == ()
    assert run(workload("Deployment", IMAGE, labels={"tier": "web"}, namespace="team-z")).denying == ()
    assert run(workload("Deployment", IMAGE, labels={"tier": "web"}), labels={"env": "dev"}).denying == ()


def test_unmatched_image_is_denied_not_passed() -> None:
    text = policy("match: {images: ['ghcr.io/*']}\nrules: [{name: s, static: allow}]")
    d = decide(text, review(workload("Pod", "quay.io/x:1")), Facts(images={}))
    assert not d.allowed
    assert d.rule == "wharfinger/no-policy"


def test_outage_fails_closed_in_enforce_and_open_in_audit() -> None:
    outage = facts(signatures=Unverifiable(reason="registry ghcr.io unreachable", is_outage=True))
    body = review(workload("Pod", IMAGE))
    closed = decide(policy(SIGNED), body, outage)
    assert not closed.allowed
    assert closed.failure == "fail-closed"
    opened = decide(policy(SIGNED + "failurePolicy: open\n"), body, outage)
    assert opened.allowed
    assert opened.failure == "fail-open"
    assert any("unreachable" in w for w in opened.warnings)
    audit = decide(policy(SIGNED.replace("enforce", "audit")), body, outage)
    assert audit.allowed
    assert audit.failure == "fail-open"


def test_global_dry_run_never_denies_but_says_what_would_happen() -> None:
    d = decide(
        policy(SIGNED), review(workload("Pod", IMAGE)), facts(verified=()), settings=EvaluationSettings(dry_run=True)
    )
    assert d.allowed
    assert d.is_dry_run
    assert "would be denied" in d.message


def test_api_server_dry_run_is_reported() -> None:
    d = decide(policy(SIGNED), review(workload("Pod", IMAGE), dry_run=True), facts(verified=()))
    assert not d.allowed
    assert d.is_dry_run


BREAK_GLASS = (
    SIGNED
    + """
breakGlass:
  allowedGroups: [sre]
  allowedNamespaces: [incident-*]
  maxDurationHours: 4
"""
)


def _glass(until: datetime, justification: str = "INC-42: payment outage") -> dict[str, str]:
    return {"wharfinger.io/break-glass": justification, "wharfinger.io/break-glass-until": until.isoformat()}


def test_break_glass_admits_within_time_box_for_allowed_group() -> None:
    obj = workload("Deployment", IMAGE, annotations=_glass(NOW + timedelta(hours=2)))
    d = decide(policy(BREAK_GLASS), review(obj, groups=("sre",)), facts(verified=()))
    assert d.allowed
    assert d.outcome is Outcome.BREAK_GLASS
    assert d.break_glass_justification == "INC-42: payment outage"
    assert any("BREAK-GLASS" in w for w in d.warnings)


@pytest.mark.parametrize(
    ("until", "groups", "namespace", "why"),
    [
        (NOW - timedelta(minutes=1), ("sre",), "team-a", "time box ended"),
        (NOW + timedelta(hours=5), ("sre",), "team-a", "at most 4 h"),
        (NOW + timedelta(hours=1), ("dev",), "team-a", "not allowed to break glass"),
    ],
)
def test_break_glass_refused(until: datetime, groups: tuple[str, ...], namespace: str, why: str) -> None:
    obj = workload("Deployment", IMAGE, annotations=_glass(until), namespace=namespace)
    d = decide(policy(BREAK_GLASS), review(obj, groups=groups), facts(verified=()))
    assert not d.allowed
    assert why in d.message


def test_break_glass_by_namespace() -> None:
    obj = workload("Deployment", IMAGE, annotations=_glass(NOW + timedelta(hours=1)), namespace="incident-7")
    assert decide(policy(BREAK_GLASS), review(obj, groups=("dev",)), facts(verified=())).allowed


def test_break_glass_refused_when_policy_has_none() -> None:
    obj = workload("Deployment", IMAGE, annotations=_glass(NOW + timedelta(hours=1)))
    d = decide(policy(SIGNED), review(obj, groups=("sre",)), facts(verified=()))
    assert not d.allowed
    assert "does not allow break-glass" in d.message


def test_all_images_of_a_pod_are_checked_including_init() -> None:
    obj = workload("Deployment", IMAGE, init=("busybox:1.36",))
    f = facts()
    d = decide(policy(SIGNED), review(obj), f)
    assert not d.allowed
    assert d.denying[0].image == "busybox:1.36"


def test_update_rechecked_only_when_images_change() -> None:
    old = workload("Deployment", IMAGE)
    same = review(workload("Deployment", IMAGE, labels={"x": "y"}), operation="UPDATE", old=old)
    assert decide(policy(SIGNED), same, facts(verified=())).outcome is Outcome.SKIPPED
    changed = review(workload("Deployment", "ghcr.io/acme/api:2.0"), operation="UPDATE", old=old)
    d = decide(policy(SIGNED), changed, Facts(images={}))
    assert d.outcome is Outcome.DENIED


def test_delete_is_not_checked() -> None:
    d = decide(policy(SIGNED), review(workload("Pod", IMAGE), operation="DELETE"), Facts(images={}))
    assert d.allowed
    assert d.outcome is Outcome.SKIPPED


def test_invalid_reference_is_denied() -> None:
    d = decide(policy(SIGNED), review(workload("Pod", "UPPER/Case::x")), Facts(images={}))
    assert not d.allowed
    assert d.rule == "wharfinger/reference"


def test_evaluate_is_deterministic() -> None:
    body = review(workload("Pod", IMAGE), uid="fixed")
    a = decide(policy(SIGNED), body, facts(verified=()))
    b = decide(policy(SIGNED), body, facts(verified=()))
    assert a == b
