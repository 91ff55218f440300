"""``evaluate(policies, request, facts, now) -> Decision``: the pure heart of admission.

The steps, in order:

1. A request that cannot be checked (``request.problem``) is denied with that explanation.
2. DELETE and CONNECT are admitted: they bring no image. An UPDATE of an object already being
   deleted is admitted (blocking it would wedge the deletion); an UPDATE whose images did not
   change is admitted without re-checking, unless it also flips ``deletionTimestamp``, which the
   API server never does through UPDATE, so that request is checked like a new object.
3. For every distinct image, the policies that match it (namespace names and labels, object
   labels, kind, image globs, registry) each run their rules against the image's facts.
4. Each failed rule is a ``Violation`` in the policy's *effective* mode: the policy's own mode,
   unless the namespace label ``wharfinger.io/enforce`` overrides it (as Pod Security Admission).
   An unexpired exception that covers the image/namespace/rule (or vulnerability id) waives it.
   A rule that could not be decided because a backend failed follows the policy's failure mode.
5. Enforce-mode violations deny; warn-mode ones become warnings; audit-mode ones are recorded.
   A global dry-run turns every denial into an audit record. A valid break-glass annotation
   admits a denied workload within its time box, for allowed identities or namespaces only.

Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from wharfinger.policy.document import (
    AttestationRequirement,
    Condition,
    FailurePolicy,
    MissingScanAction,
    Mode,
    Policy,
    PolicySet,
    Rule,
    SignatureRule,
    VulnerabilityRule,
)
from wharfinger.policy.facts import (
    AttestationFact,
    FactNeeds,
    ImageFacts,
    SignatureFact,
    Unscannable,
    Unverifiable,
)
from wharfinger.policy.request import AdmissionRequest, Operation
from wharfinger.policy.selectors import ImageName, image_matches, parse_image_name
from wharfinger.vulndb.model import Severity

__all__ = [
    "BREAK_GLASS_ANNOTATION",
    "BREAK_GLASS_UNTIL_ANNOTATION",
    "ENFORCE_LABEL",
    "Decision",
    "EvaluationSettings",
    "Facts",
    "Outcome",
    "Violation",
    "evaluate",
    "plan",
]

ENFORCE_LABEL = "wharfinger.io/enforce"
BREAK_GLASS_ANNOTATION = "wharfinger.io/break-glass"  # value: the justification
BREAK_GLASS_UNTIL_ANNOTATION = "wharfinger.io/break-glass-until"  # value: RFC 3339 end of the time box


class Outcome(StrEnum):
    ALLOWED = "allowed"  # every rule passed (or was waived by an exception)
    DENIED = "denied"
    WARNED = "warned"  # admitted with warnings: only warn-mode rules failed
    AUDITED = "audited"  # admitted: only audit-mode rules failed (or global dry-run)
    BREAK_GLASS = "break-glass"  # denied by policy, admitted by a valid break-glass annotation
    SKIPPED = "skipped"  # nothing to check (DELETE, unchanged UPDATE, object being deleted)


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    policy: str
    rule: str
    image: str
    reason: str
    fix: str
    mode: Mode
    is_undecided: bool = False  # the facts could not be established (outage, budget); the failure mode decided
    failure: str = ""  # "fail-closed" | "fail-open" when is_undecided
    waived_by: str = ""  # exception name when an exception covers it

    def sentence(self) -> str:
        return f"[{self.policy}/{self.rule}] {self.image}: {self.reason}. Fix: {self.fix}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    allowed: bool
    outcome: Outcome
    message: str
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # every policy that applied to at least one image
    pins: Mapping[str, str] = field(default_factory=dict)  # image -> digest, only for signature-verified images
    break_glass_justification: str = ""
    failure: str = ""  # "fail-open" | "fail-closed" when an undecided fact changed the outcome
    is_dry_run: bool = False  # the API server's dryRun, or the global dry-run

    @property
    def rule(self) -> str:
        """The first rule that denied (or, when admitted, the first that complained): for metrics."""
        blocking = [v for v in self.violations if not v.waived_by]
        return f"{blocking[0].policy}/{blocking[0].rule}" if blocking else ""

    @property
    def denying(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.mode is Mode.ENFORCE and not v.waived_by)


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    images: Mapping[str, ImageFacts]  # keyed by the reference as written in the spec
    namespace_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationSettings:
    dry_run: bool = False  # global: never deny, record what would have been denied
    no_match: Mode = Mode.ENFORCE  # an image no policy matches is a violation in this mode
    force_mode: Mode | None = None  # `policy audit`: judge every policy as if it were in this mode


# --- matching --------------------------------------------------------------------------------------


def _any_glob(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _policy_matches(
    policy: Policy, request: AdmissionRequest, image: ImageName, namespace_labels: Mapping[str, str]
) -> bool:
    match = policy.match
    namespace = request.namespace
    if policy.namespace is not None and policy.namespace != namespace:
        return False
    if match.namespaces and not _any_glob(namespace, match.namespaces):
        return False
    if match.exclude_namespaces and _any_glob(namespace, match.exclude_namespaces):
        return False
    if match.namespace_selector and not match.namespace_selector.matches(namespace_labels):
        return False
    if match.object_selector and not match.object_selector.matches(request.labels):
        return False
    if match.kinds and request.workload not in match.kinds:
        return False
    if match.registries and not _any_glob(image.registry, match.registries):
        return False
    if not any(image_matches(p, image) for p in match.images):
        return False
    return not any(image_matches(p, image) for p in match.exclude_images)


def _matching(
    policies: PolicySet, request: AdmissionRequest, image: ImageName, namespace_labels: Mapping[str, str]
) -> list[Policy]:
    return [p for p in policies.policies if _policy_matches(p, request, image, namespace_labels)]


def plan(policies: PolicySet, request: AdmissionRequest, namespace_labels: Mapping[str, str]) -> dict[str, FactNeeds]:
    """Which facts each image needs, so the edge fetches nothing the matching rules will not read."""
    out: dict[str, FactNeeds] = {}
    if _skip_reason(request) or request.problem:
        return out
    for reference in request.images:
        image = parse_image_name(reference)
        if image is None:
            continue
        authorities: dict[str, object] = {}
        types: list[str] = []
        vulns = False
        for policy in _matching(policies, request, image, namespace_labels):
            for rule in policy.rules:
                if rule.signatures:
                    for authority in rule.signatures.authorities:
                        authorities.setdefault(authority.name, authority)
                if rule.attestations:
                    types.extend(r.predicate_type for r in rule.attestations)
                vulns = vulns or rule.vulnerabilities is not None
        out[reference] = FactNeeds(
            authorities=tuple(authorities.values()),  # type: ignore[arg-type]  # values are Authority
            attestation_types=tuple(dict.fromkeys(types)),
            vulnerabilities=vulns,
        )
    return out


# --- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Failed:
    reason: str
    fix: str
    is_undecided: bool = False
    downgrade_to_warn: bool = False  # onMissingScan: warn


def _check_signatures(rule: SignatureRule, facts: ImageFacts) -> _Failed | None:
    if isinstance(facts.digest, Unverifiable):
        return _Failed(
            reason=f"its digest could not be resolved ({facts.digest.reason})",
            fix="check the image exists in the registry and the webhook can reach it",
            is_undecided=facts.digest.is_outage,
        )
    if isinstance(facts.signatures, Unverifiable):
        return _Failed(
            reason=f"its signatures could not be checked ({facts.signatures.reason})",
            fix="retry the deployment; if it persists, check the registry and the webhook's logs",
            is_undecided=facts.signatures.is_outage,
        )
    by_name: dict[str, SignatureFact] = {f.authority: f for f in facts.signatures}
    verified = [a.name for a in rule.authorities if (f := by_name.get(a.name)) and f.verified]
    if len(verified) >= rule.threshold:
        return None
    missing = [a for a in rule.authorities if a.name not in verified]
    details = "; ".join(
        f"{a.name} ({a.kind.value}): {by_name[a.name].reason if a.name in by_name else 'no signature found'}"
        for a in missing
    )
    needed = {
        "any": "a verified signature from one of",
        "all": "verified signatures from all of",
        "threshold": f"verified signatures from {rule.threshold} of",
    }[rule.require.value]
    names = ", ".join(a.name for a in rule.authorities)
    return _Failed(
        reason=f"it needs {needed} [{names}] but has {len(verified)}: {details}",
        fix=(
            f"sign {facts.digest} in CI with a key one of [{names}] trusts "
            "(`wharfinger sign IMAGE --key …`), push the signature to the same registry, and deploy by that digest"
        ),
    )


def _lookup(predicate: Mapping[str, object], path: str) -> tuple[bool, object]:
    node: object = predicate
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _condition_holds(condition: Condition, predicate: Mapping[str, object]) -> bool:
    found, value = _lookup(predicate, condition.path)
    if condition.exists is not None:
        return found is condition.exists
    if not found:
        return False
    if condition.one_of is not None:
        return value in condition.one_of
    if condition.matches is not None:
        return isinstance(value, str) and re.search(condition.matches, value) is not None
    return bool(value == condition.equals)


def _describe_condition(c: Condition) -> str:
    if c.exists is not None:
        return f"{c.path} {'exists' if c.exists else 'is absent'}"
    if c.one_of is not None:
        return f"{c.path} in {list(c.one_of)}"
    if c.matches is not None:
        return f"{c.path} matches /{c.matches}/"
    return f"{c.path} == {c.equals!r}"


def _check_attestations(requirements: tuple[AttestationRequirement, ...], facts: ImageFacts) -> _Failed | None:
    if isinstance(facts.attestations, Unverifiable):
        return _Failed(
            reason=f"its attestations could not be read ({facts.attestations.reason})",
            fix="retry; if it persists, check the registry's referrers API and the webhook's logs",
            is_undecided=facts.attestations.is_outage,
        )
    problems = []
    for requirement in requirements:
        candidates: list[AttestationFact] = [
            a for a in facts.attestations if a.predicate_type == requirement.predicate_type
        ]
        if not candidates:
            problems.append(f"no signed attestation of type {requirement.predicate_type}")
            continue
        if not any(all(_condition_holds(c, a.predicate) for c in requirement.conditions) for a in candidates):
            unmet = [
                _describe_condition(c)
                for c in requirement.conditions
                if not any(_condition_holds(c, a.predicate) for a in candidates)
            ]
            problems.append(f"the {requirement.predicate_type} attestation fails: {', '.join(unmet)}")
    if not problems:
        return None
    return _Failed(
        reason="; ".join(problems),
        fix="attach the required attestation in CI (e.g. SLSA provenance from the build, "
        "`wharfinger scan --attest --key …` for a vulnerability scan) and sign it with a trusted key",
    )


def _check_vulnerabilities(
    rule: VulnerabilityRule, facts: ImageFacts, now: datetime, ignored_ids: frozenset[str]
) -> _Failed | None:
    summary = facts.vulnerabilities
    if isinstance(summary, Unscannable):
        if rule.on_missing_scan is MissingScanAction.ALLOW:
            return None
        return _Failed(
            reason=f"it has no usable vulnerability scan ({summary.reason})",
            fix="scan the image in CI with `wharfinger scan IMAGE --attest --key …` so the signed result travels "
            "with it",
            downgrade_to_warn=rule.on_missing_scan is MissingScanAction.WARN,
        )
    problems = []
    fixes = []
    kev = sorted(set(summary.kev_ids) - ignored_ids)
    if kev:
        problems.append(f"it contains actively exploited vulnerabilities listed in CISA KEV: {', '.join(kev)}")
        fixes.append(f"update the affected packages to fix {', '.join(kev)} and rebuild")
    if rule.max_scan_age_hours is not None:
        age = now - summary.scanned_at
        if age > timedelta(hours=rule.max_scan_age_hours):
            hours = int(age.total_seconds() // 3600)
            problems.append(f"its scan is {hours} h old, older than the {rule.max_scan_age_hours} h allowed")
            fixes.append("re-scan the image (`wharfinger scan IMAGE --attest --key …`)")
    if rule.max_severity is not None:
        worst = summary.max_severity(ignore_unfixed=rule.ignore_unfixed, ignored_ids=ignored_ids)
        if worst is not None and worst > rule.max_severity:
            over = {
                sev.name.lower(): summary.counts.get(sev, 0)
                for sev in Severity
                if sev > rule.max_severity and summary.counts.get(sev, 0)
            }
            counted = ", ".join(f"{n} {s}" for s, n in over.items())
            unfixed = " (unfixed ignored)" if rule.ignore_unfixed else ""
            problems.append(
                f"it has {worst.name.lower()} vulnerabilities ({counted}){unfixed}; "
                f"at most {rule.max_severity.name.lower()} is allowed"
            )
            fixes.append("update the base image and packages to fixed versions (`wharfinger scan IMAGE` lists them)")
    if not problems:
        return None
    return _Failed(reason="; ".join(problems), fix="; ".join(fixes) + ", or ask for an exception with an expiry")


def _check_rule(
    rule: Rule, image: ImageName, facts: ImageFacts | None, now: datetime, ignored: frozenset[str]
) -> _Failed | None:
    if rule.static is not None:
        if rule.static == "allow":
            return None
        return _Failed(
            reason="this image is denied by a static rule",
            fix="use an image this policy allows, or ask the platform team to change the rule",
        )
    if rule.require_digest:
        if image.is_pinned:
            return None
        resolved = facts.digest if facts and isinstance(facts.digest, str) else "sha256:…"
        return _Failed(
            reason="it is referenced by tag, so the running image can change without review",
            fix=f"reference it by digest: {image.name}@{resolved}",
        )
    if rule.deny_latest:
        if image.is_pinned or image.effective_tag != "latest":
            return None
        return _Failed(
            reason="it uses the 'latest' tag (explicitly or by omission)",
            fix="use a versioned tag or a digest, e.g. image:1.2.3 or image@sha256:…",
        )
    if rule.registries is not None:
        if _any_glob(image.registry, rule.registries):
            return None
        return _Failed(
            reason=f"registry {image.registry} is not on the allow-list ({', '.join(rule.registries)})",
            fix=f"push the image to one of {', '.join(rule.registries)} and reference it from there",
        )
    if facts is None:
        return _Failed(
            reason="no facts were gathered for it",
            fix="this is a webhook bug; report it",
            is_undecided=True,
        )
    if rule.signatures is not None:
        return _check_signatures(rule.signatures, facts)
    if rule.attestations is not None:
        return _check_attestations(rule.attestations, facts)
    if rule.vulnerabilities is not None:
        return _check_vulnerabilities(rule.vulnerabilities, facts, now, ignored)
    return _Failed(reason="the rule has no check", fix="this policy is malformed; validate it", is_undecided=False)


# --- modes, exceptions, break-glass --------------------------------------------------------------


def _effective_mode(policy: Policy, namespace_labels: Mapping[str, str]) -> Mode:
    override = namespace_labels.get(ENFORCE_LABEL, "")
    try:
        return Mode(override)
    except ValueError:
        return policy.mode


def _waiver(policy: Policy, rule: Rule, image: ImageName, namespace: str, now: datetime) -> str:
    for exception in policy.exceptions:
        if exception.expires <= now or exception.vulnerabilities:
            continue
        if exception.rules and rule.name not in exception.rules:
            continue
        if exception.images and not any(image_matches(p, image) for p in exception.images):
            continue
        if exception.namespaces and not _any_glob(namespace, exception.namespaces):
            continue
        return exception.name
    return ""


def _ignored_vulnerabilities(policy: Policy, image: ImageName, namespace: str, now: datetime) -> frozenset[str]:
    ids: set[str] = set()
    for exception in policy.exceptions:
        if not exception.vulnerabilities or exception.expires <= now:
            continue
        if exception.images and not any(image_matches(p, image) for p in exception.images):
            continue
        if exception.namespaces and not _any_glob(namespace, exception.namespaces):
            continue
        ids.update(exception.vulnerabilities)
    return frozenset(ids)


def _expired_exception_warnings(policy: Policy, now: datetime) -> list[str]:
    return [
        f"exception {e.name!r} of policy {policy.qualified_name} expired on {e.expires.isoformat()} "
        f"(approved by {e.approver}); renew it or fix the findings"
        for e in policy.exceptions
        if e.expires <= now
    ]


def _break_glass(
    request: AdmissionRequest, denying: list[Violation], policies: Mapping[str, Policy], now: datetime
) -> tuple[bool, str]:
    """Is a break-glass annotation present and valid for every denying policy? (admitted, explanation)"""
    justification = request.annotations.get(BREAK_GLASS_ANNOTATION, "").strip()
    if not justification:
        return False, ""
    until_text = request.annotations.get(BREAK_GLASS_UNTIL_ANNOTATION, "")
    try:
        until = datetime.fromisoformat(until_text)
    except ValueError:
        return False, (
            f"break-glass refused: annotation {BREAK_GLASS_UNTIL_ANNOTATION} must be an RFC 3339 time "
            f"(got {until_text!r})"
        )
    if until.tzinfo is None:
        return False, f"break-glass refused: {BREAK_GLASS_UNTIL_ANNOTATION} needs a timezone (e.g. Z)"
    if until <= now:
        return False, f"break-glass refused: its time box ended at {until.isoformat()}"
    for name in dict.fromkeys(v.policy for v in denying):
        policy = policies[name]
        bg = policy.break_glass
        if bg is None:
            return False, f"break-glass refused: policy {name} does not allow break-glass"
        if until - now > timedelta(hours=bg.max_duration_hours):
            return False, (
                f"break-glass refused: policy {name} allows at most {bg.max_duration_hours} h, "
                f"the annotation asks until {until.isoformat()}"
            )
        allowed = (
            request.username in bg.allowed_users
            or any(g in bg.allowed_groups for g in request.groups)
            or _any_glob(request.namespace, bg.allowed_namespaces)
        )
        if not allowed:
            return False, (
                f"break-glass refused: user {request.username!r} in namespace {request.namespace!r} "
                f"is not allowed to break glass for policy {name}"
            )
    return True, justification


# --- evaluate --------------------------------------------------------------------------------------


def _skip_reason(request: AdmissionRequest) -> str:
    if request.operation in {Operation.DELETE, Operation.CONNECT}:
        return f"{request.operation.value} brings no new image"
    if request.operation is Operation.UPDATE and not request.problem:
        if request.was_being_deleted:
            return "the object is already being deleted"
        if not request.images_changed and request.is_being_deleted == request.was_being_deleted:
            return "the UPDATE does not change any image"
    return ""


def evaluate(
    policies: PolicySet,
    request: AdmissionRequest,
    facts: Facts,
    now: datetime,
    settings: EvaluationSettings = EvaluationSettings(),  # frozen, so a shared default is safe
) -> Decision:
    """Decide one admission request. Pure: the same inputs give the same Decision."""
    is_dry_run = request.is_dry_run or settings.dry_run
    if request.problem:
        return Decision(
            allowed=False,
            outcome=Outcome.DENIED,
            message=f"Wharfinger cannot check this request: {request.problem}. Fix: only send Pods and workload "
            "controllers (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController) "
            "with their full object to the webhook",
            violations=(
                Violation(
                    policy="wharfinger",
                    rule="request",
                    image="",
                    reason=request.problem,
                    fix="check the webhook's rules and what is calling it",
                    mode=Mode.ENFORCE,
                ),
            ),
            is_dry_run=is_dry_run,
        )
    skip = _skip_reason(request)
    if skip:
        return Decision(allowed=True, outcome=Outcome.SKIPPED, message=f"not checked: {skip}", is_dry_run=is_dry_run)

    violations: list[Violation] = []
    warnings: list[str] = []
    applied: dict[str, Policy] = {}
    pins: dict[str, str] = {}
    namespace_labels = facts.namespace_labels
    for reference in request.images:
        image = parse_image_name(reference)
        if image is None:
            violations.append(
                Violation(
                    policy="wharfinger",
                    rule="reference",
                    image=reference,
                    reason="it is not a valid image reference",
                    fix="write it as registry/repository[:tag][@sha256:digest]",
                    mode=settings.force_mode or _override(Mode.ENFORCE, namespace_labels),
                )
            )
            continue
        matching = _matching(policies, request, image, namespace_labels)
        if not matching:
            violations.append(
                Violation(
                    policy="wharfinger",
                    rule="no-policy",
                    image=reference,
                    reason="no image policy covers this image, and unmatched images are not admitted",
                    fix="use an image a policy covers, or ask the platform team to add a policy for it",
                    mode=settings.force_mode or _override(settings.no_match, namespace_labels),
                )
            )
            continue
        image_facts = facts.images.get(reference)
        signature_rules_passed = 0
        signature_rules_total = 0
        for policy in matching:
            applied[policy.qualified_name] = policy
            mode = settings.force_mode or _effective_mode(policy, namespace_labels)
            ignored = _ignored_vulnerabilities(policy, image, request.namespace, now)
            for rule in policy.rules:
                failed = _check_rule(rule, image, image_facts, now, ignored)
                if rule.signatures is not None:
                    signature_rules_total += 1
                    signature_rules_passed += failed is None
                if failed is None:
                    continue
                rule_mode = mode
                if failed.downgrade_to_warn and rule_mode is Mode.ENFORCE:
                    rule_mode = Mode.WARN
                failure = ""
                if failed.is_undecided:
                    if policy.failure_policy is FailurePolicy.OPEN:
                        failure = "fail-open"
                        rule_mode = Mode.WARN if rule_mode is Mode.ENFORCE else rule_mode
                    else:
                        failure = "fail-closed"
                violations.append(
                    Violation(
                        policy=policy.qualified_name,
                        rule=rule.name,
                        image=reference,
                        reason=failed.reason,
                        fix=failed.fix,
                        mode=rule_mode,
                        is_undecided=failed.is_undecided,
                        failure=failure,
                        waived_by=_waiver(policy, rule, image, request.namespace, now),
                    )
                )
        if (
            image_facts is not None
            and signature_rules_total
            and signature_rules_passed == signature_rules_total
            and isinstance(image_facts.digest, str)
            and not image.is_pinned
        ):
            pins[reference] = image_facts.digest
    for policy in applied.values():
        warnings.extend(_expired_exception_warnings(policy, now))
    return _conclude(request, violations, warnings, applied, pins, now, is_dry_run=is_dry_run, settings=settings)


def _override(mode: Mode, namespace_labels: Mapping[str, str]) -> Mode:
    try:
        return Mode(namespace_labels.get(ENFORCE_LABEL, ""))
    except ValueError:
        return mode


def _conclude(  # noqa: PLR0917 -- private, one caller
    request: AdmissionRequest,
    violations: list[Violation],
    warnings: list[str],
    applied: Mapping[str, Policy],
    pins: dict[str, str],
    now: datetime,
    *,
    is_dry_run: bool,
    settings: EvaluationSettings,
) -> Decision:
    active = [v for v in violations if not v.waived_by]
    denying = [v for v in active if v.mode is Mode.ENFORCE]
    warnings.extend(v.sentence() for v in active if v.mode is Mode.WARN)
    warnings.extend(f"waived by exception {v.waived_by!r}: {v.sentence()}" for v in violations if v.waived_by)
    failure = next((v.failure for v in denying if v.failure), "") or next((v.failure for v in active if v.failure), "")
    base = Decision(
        allowed=True,
        outcome=Outcome.ALLOWED,
        message="admitted",
        violations=tuple(violations),
        policies=tuple(applied),
        is_dry_run=is_dry_run,
        failure=failure,
    )
    if not denying:
        outcome = Outcome.ALLOWED
        if any(v.mode is Mode.WARN for v in active):
            outcome = Outcome.WARNED
        elif active:
            outcome = Outcome.AUDITED
        message = "admitted"
        if outcome is not Outcome.ALLOWED:
            message = f"admitted ({outcome.value}): " + "; ".join(v.sentence() for v in active)
        return replace(base, outcome=outcome, message=message, warnings=tuple(warnings), pins=pins)
    denial = "denied: " + "; ".join(v.sentence() for v in denying)
    if settings.dry_run:
        warnings.append(f"global dry-run, would be {denial}")
        return replace(base, outcome=Outcome.AUDITED, message=f"dry-run, would be {denial}", warnings=tuple(warnings))
    admitted, explanation = _break_glass(request, denying, applied, now)
    if admitted:
        warnings.append(f"BREAK-GLASS: admitted despite policy ({explanation}); this is logged and alerted")
        return replace(
            base,
            outcome=Outcome.BREAK_GLASS,
            message=f"admitted by break-glass ({explanation}), would be {denial}",
            warnings=tuple(warnings),
            break_glass_justification=explanation,
        )
    if explanation:
        denial = f"{denial}; {explanation}"
    return replace(base, allowed=False, outcome=Outcome.DENIED, message=denial, warnings=tuple(warnings))
