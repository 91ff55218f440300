"""Policy documents: ``ClusterImagePolicy`` and ``ImagePolicy`` in YAML (or served as CRDs), parsed into values.

``load_policies(text, source=…)`` reads one or more YAML documents, keeps the line of every
node, validates against the published schema (``wharfinger.policy.schema``) and then checks
what a schema cannot say (one check per rule, thresholds within reach, regexes that compile,
exceptions that are scoped and dated). It collects *every* problem and raises them together
in one ``PolicyValidationError``, each with ``file:line:column``.

Nothing passes vacuously: a policy without rules, a signature rule without authorities, an
attestation rule without predicate types or an exception without a scope is rejected here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import jsonschema
import yaml

from wharfinger.errors import PolicyError
from wharfinger.policy.facts import Authority, SignatureKind
from wharfinger.policy.request import WorkloadKind
from wharfinger.policy.schema import document_schema
from wharfinger.policy.selectors import LabelExpression, LabelSelector, Operator
from wharfinger.vulndb.model import Severity

__all__ = [
    "AttestationRequirement",
    "Authority",
    "BreakGlass",
    "Condition",
    "FailurePolicy",
    "Match",
    "MissingScanAction",
    "Mode",
    "Policy",
    "PolicyException",
    "PolicyProblem",
    "PolicySet",
    "PolicyValidationError",
    "Quantifier",
    "Rule",
    "SignatureRule",
    "VulnerabilityRule",
    "load_policies",
]

MAX_POLICY_BYTES = 2 * 1024 * 1024  # bytes: a policy bundle larger than this is a mistake, not a policy


class Mode(StrEnum):
    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


class FailurePolicy(StrEnum):
    CLOSED = "closed"  # could not decide -> deny (enforce's default)
    OPEN = "open"  # could not decide -> admit, and say so (audit's and warn's default)


class Quantifier(StrEnum):
    ANY = "any"
    ALL = "all"
    THRESHOLD = "threshold"


class MissingScanAction(StrEnum):
    DENY = "deny"
    WARN = "warn"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureRule:
    require: Quantifier
    threshold: int
    authorities: tuple[Authority, ...]


_UNSET: Any = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    path: str
    equals: object = _UNSET
    one_of: tuple[object, ...] | None = None
    matches: str | None = None
    exists: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationRequirement:
    predicate_type: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnerabilityRule:
    max_severity: Severity | None = None  # highest severity still admitted; None: only KEV and scan age gate
    ignore_unfixed: bool = False
    max_scan_age_hours: int | None = None
    on_missing_scan: MissingScanAction = MissingScanAction.DENY


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A named rule with exactly one check (the validator makes sure of it)."""

    name: str
    static: str | None = None  # "allow" | "deny": connaisseur's static validators
    require_digest: bool = False
    deny_latest: bool = False
    registries: tuple[str, ...] | None = None
    signatures: SignatureRule | None = None
    attestations: tuple[AttestationRequirement, ...] | None = None
    vulnerabilities: VulnerabilityRule | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    namespaces: tuple[str, ...] = ()  # globs; empty: every namespace
    exclude_namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    kinds: tuple[WorkloadKind, ...] = ()  # empty: every workload kind
    images: tuple[str, ...] = ("*",)
    exclude_images: tuple[str, ...] = ()
    registries: tuple[str, ...] = ()  # globs on the registry host; empty: any


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyException:
    name: str
    reason: str
    approver: str
    expires: datetime
    images: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    vulnerabilities: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # empty: every rule of the policy


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakGlass:
    allowed_users: tuple[str, ...] = ()
    allowed_groups: tuple[str, ...] = ()
    allowed_namespaces: tuple[str, ...] = ()
    max_duration_hours: int = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    kind: str  # ClusterImagePolicy | ImagePolicy
    namespace: str | None  # ImagePolicy only: it applies in its own namespace
    mode: Mode
    failure_policy: FailurePolicy
    match: Match
    rules: tuple[Rule, ...]
    exceptions: tuple[PolicyException, ...] = ()
    break_glass: BreakGlass | None = None
    source: str = ""  # "policies.yaml:12", for messages

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySet:
    policies: tuple[Policy, ...]
    fingerprint: str = ""  # sha256 of the canonical documents: part of every cache key

    def __post_init__(self) -> None:
        if not self.policies:
            raise PolicyError(
                "the policy set is empty, so it would decide nothing",
                hint="load at least one ClusterImagePolicy or ImagePolicy",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyProblem:
    source: str
    line: int  # 1-based
    column: int  # 1-based
    path: str  # "spec.rules[0].signatures"
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.path or '(document)'}: {self.message}"


class PolicyValidationError(PolicyError):
    """Every problem found in a policy file, each with its line."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        problems = sorted(problems, key=lambda p: (p.source, p.line, p.column))
        self.problems = tuple(problems)
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the policy:\n" + "\n".join(f"  {p}" for p in problems),
            hint="fix each line above; `wharfinger policy validate FILE` re-checks, and docs/policy.md shows examples",
        )


# --- YAML with line numbers -------------------------------------------------------------------------

_Path = tuple[str | int, ...]


class _Located:
    """Converts a composed YAML node tree into plain values while remembering where each node sits."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.marks: dict[_Path, tuple[int, int]] = {}
        self.key_marks: dict[_Path, tuple[int, int]] = {}
        self.problems: list[PolicyProblem] = []
        self._constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def problem(self, path: _Path, message: str, *, at_key: bool = False) -> None:
        line, column = (self.key_marks.get(path) if at_key else None) or self._nearest(path)
        self.problems.append(
            PolicyProblem(source=self.source, line=line, column=column, path=_render(path), message=message)
        )

    def _nearest(self, path: _Path) -> tuple[int, int]:
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def value(self, node: yaml.Node, path: _Path) -> Any:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                child = (*path, key)
                self.key_marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    self.problem(child, f"key {key!r} appears twice; the second would silently win", at_key=True)
                out[key] = self.value(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            scalar = self._constructor.construct_object(node, deep=True)
            # YAML 1.1 turns unquoted timestamps into datetimes; the schema (like the API server) wants strings
            return scalar.isoformat() if isinstance(scalar, date) else scalar
        except yaml.YAMLError as exc:
            self.problem(path, f"cannot read this value: {exc}")
            return None


def _render(path: _Path) -> str:
    out = ""
    for part in path[1:]:  # path[0] is the document index
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- building values -----------------------------------------------------------------------------


def _selector(raw: Mapping[str, Any] | None) -> LabelSelector | None:
    if raw is None:
        return None
    return LabelSelector(
        match_labels={str(k): str(v) for k, v in (raw.get("matchLabels") or {}).items()},
        match_expressions=tuple(
            LabelExpression(key=e["key"], operator=Operator(e["operator"]), values=tuple(e.get("values") or ()))
            for e in raw.get("matchExpressions") or ()
        ),
    )


def _check_regex(loc: _Located, path: _Path, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        loc.problem(path, f"not a valid regular expression: {exc}")


def _authority(loc: _Located, path: _Path, raw: Mapping[str, Any]) -> Authority | None:
    present = [k for k in ("notary", "cosign", "keyless") if k in raw]
    if len(present) != 1:
        loc.problem(path, f"an authority needs exactly one of notary, cosign, keyless (found {present or 'none'})")
        return None
    kind = present[0]
    body = raw[kind]
    if kind == "notary":
        return Authority(
            name=raw["name"],
            kind=SignatureKind.NOTARY,
            trust_policy=body["trustPolicy"],
            trust_stores=tuple(body.get("trustStores") or ()),
        )
    if kind == "cosign":
        return Authority(name=raw["name"], kind=SignatureKind.COSIGN, public_key=body["publicKey"])
    if not body.get("subject") and not body.get("subjectRegExp"):
        loc.problem((*path, "keyless"), "keyless needs subject or subjectRegExp: any identity would otherwise pass")
    if body.get("subjectRegExp"):
        _check_regex(loc, (*path, "keyless", "subjectRegExp"), body["subjectRegExp"])
    return Authority(
        name=raw["name"],
        kind=SignatureKind.KEYLESS,
        issuer=body["issuer"],
        subject=body.get("subject", ""),
        subject_regexp=body.get("subjectRegExp", ""),
    )


_CHECKS = ("static", "requireDigest", "denyLatest", "registries", "signatures", "attestations", "vulnerabilities")


def _rule(loc: _Located, path: _Path, raw: Mapping[str, Any]) -> Rule | None:
    present = [k for k in _CHECKS if k in raw]
    if len(present) != 1:
        loc.problem(
            path,
            f"rule {raw.get('name')!r} needs exactly one check of {', '.join(_CHECKS)} (found {present or 'none'})",
        )
        return None
    check = present[0]
    name = raw["name"]
    match check:
        case "static":
            return Rule(name=name, static=raw["static"])
        case "requireDigest" | "denyLatest":
            if raw[check] is not True:
                loc.problem((*path, check), f"{check}: false checks nothing; remove the rule instead")
                return None
            return Rule(name=name, require_digest=check == "requireDigest", deny_latest=check == "denyLatest")
        case "registries":
            allowed = tuple(raw["registries"]["allow"])
            if not allowed:
                loc.problem((*path, "registries", "allow"), "an empty allow-list would deny every image")
            return Rule(name=name, registries=allowed)
        case "signatures":
            body = raw["signatures"]
            authorities = [
                _authority(loc, (*path, "signatures", "authorities", i), a) for i, a in enumerate(body["authorities"])
            ]
            if not authorities:
                loc.problem((*path, "signatures", "authorities"), "no authorities: the rule would pass vacuously")
            require = Quantifier(body.get("require", "any"))
            threshold = body.get("threshold", 1)
            if require is Quantifier.THRESHOLD and "threshold" not in body:
                loc.problem((*path, "signatures"), "require: threshold needs a threshold number")
            if require is not Quantifier.THRESHOLD and "threshold" in body:
                loc.problem((*path, "signatures", "threshold"), "threshold is only read with require: threshold")
            if require is Quantifier.THRESHOLD and threshold > len(authorities):
                loc.problem(
                    (*path, "signatures", "threshold"),
                    f"threshold {threshold} is more than the {len(authorities)} authorities listed: nothing could pass",
                )
            names = [a.name for a in authorities if a]
            if len(set(names)) != len(names):
                loc.problem((*path, "signatures", "authorities"), "authority names must be unique within a rule")
            if require is Quantifier.ALL:
                threshold = len(authorities)
            elif require is Quantifier.ANY:
                threshold = 1
            return Rule(
                name=name,
                signatures=SignatureRule(
                    require=require, threshold=threshold, authorities=tuple(a for a in authorities if a)
                ),
            )
        case "attestations":
            items = raw["attestations"]
            if not items:
                loc.problem((*path, "attestations"), "no predicate types: the rule would pass vacuously")
            requirements = []
            for i, item in enumerate(items):
                conditions = []
                for j, cond in enumerate(item.get("conditions") or ()):
                    tests = [k for k in ("equals", "in", "matches", "exists") if k in cond]
                    cpath = (*path, "attestations", i, "conditions", j)
                    if len(tests) != 1:
                        loc.problem(cpath, "a condition needs exactly one of equals, in, matches, exists")
                        continue
                    if "matches" in cond:
                        _check_regex(loc, (*cpath, "matches"), cond["matches"])
                    conditions.append(
                        Condition(
                            path=cond["path"],
                            equals=cond.get("equals", _UNSET),
                            one_of=tuple(cond["in"]) if "in" in cond else None,
                            matches=cond.get("matches"),
                            exists=cond.get("exists"),
                        )
                    )
                requirements.append(
                    AttestationRequirement(predicate_type=item["predicateType"], conditions=tuple(conditions))
                )
            return Rule(name=name, attestations=tuple(requirements))
        case _:
            body = raw["vulnerabilities"]
            return Rule(
                name=name,
                vulnerabilities=VulnerabilityRule(
                    max_severity=Severity.parse(body["maxSeverity"]) if "maxSeverity" in body else None,
                    ignore_unfixed=bool(body.get("ignoreUnfixed", False)),
                    max_scan_age_hours=body.get("maxScanAgeHours"),
                    on_missing_scan=MissingScanAction(body.get("onMissingScan", "deny")),
                ),
            )


def _parse_time(loc: _Located, path: _Path, value: object) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            loc.problem(path, f"{value!r} is not an RFC 3339 date-time such as 2026-12-31T00:00:00Z")
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _policy(loc: _Located, index: int, doc: Mapping[str, Any]) -> Policy | None:
    root: _Path = (index,)
    spec = doc["spec"]
    kind = doc["kind"]
    namespace = doc["metadata"].get("namespace")
    if kind == "ImagePolicy" and not namespace:
        loc.problem((*root, "metadata"), "an ImagePolicy is namespaced: set metadata.namespace")
    if kind == "ClusterImagePolicy" and namespace:
        loc.problem((*root, "metadata", "namespace"), "a ClusterImagePolicy is cluster-wide: remove the namespace")
    raw_rules = spec["rules"]
    if not raw_rules:
        loc.problem((*root, "spec", "rules"), "a policy without rules would admit everything it matches")
    rules = [_rule(loc, (*root, "spec", "rules", i), r) for i, r in enumerate(raw_rules)]
    rule_names = [r["name"] for r in raw_rules]
    for i, rule_name in enumerate(rule_names):
        if rule_names.index(rule_name) != i:
            loc.problem((*root, "spec", "rules", i, "name"), f"rule name {rule_name!r} is used twice")
    exceptions = []
    for i, raw in enumerate(spec.get("exceptions") or ()):
        epath = (*root, "spec", "exceptions", i)
        if not (raw.get("images") or raw.get("namespaces") or raw.get("vulnerabilities")):
            loc.problem(epath, "an exception needs images, namespaces or vulnerabilities: unscoped it exempts all")
        for rule_name in raw.get("rules") or ():
            if rule_name not in rule_names:
                loc.problem((*epath, "rules"), f"exception names rule {rule_name!r}, which this policy does not have")
        expires = _parse_time(loc, (*epath, "expires"), raw["expires"])
        if expires is None:
            continue
        exceptions.append(
            PolicyException(
                name=raw["name"],
                reason=raw["reason"],
                approver=raw["approver"],
                expires=expires,
                images=tuple(raw.get("images") or ()),
                namespaces=tuple(raw.get("namespaces") or ()),
                vulnerabilities=tuple(raw.get("vulnerabilities") or ()),
                rules=tuple(raw.get("rules") or ()),
            )
        )
    raw_bg = spec.get("breakGlass")
    break_glass = None
    if raw_bg is not None:
        break_glass = BreakGlass(
            allowed_users=tuple(raw_bg.get("allowedUsers") or ()),
            allowed_groups=tuple(raw_bg.get("allowedGroups") or ()),
            allowed_namespaces=tuple(raw_bg.get("allowedNamespaces") or ()),
            max_duration_hours=raw_bg.get("maxDurationHours", 4),
        )
        if not (break_glass.allowed_users or break_glass.allowed_groups or break_glass.allowed_namespaces):
            loc.problem(
                (*root, "spec", "breakGlass"),
                "breakGlass names nobody: list allowedUsers, allowedGroups or allowedNamespaces",
            )
    raw_match = spec.get("match") or {}
    images = tuple(raw_match.get("images") or ("*",))
    match = Match(
        namespaces=tuple(raw_match.get("namespaces") or ()),
        exclude_namespaces=tuple(raw_match.get("excludeNamespaces") or ()),
        namespace_selector=_selector(raw_match.get("namespaceSelector")),
        object_selector=_selector(raw_match.get("objectSelector")),
        kinds=tuple(WorkloadKind(k) for k in raw_match.get("kinds") or ()),
        images=images,
        exclude_images=tuple(raw_match.get("excludeImages") or ()),
        registries=tuple(raw_match.get("registries") or ()),
    )
    mode = Mode(spec.get("mode", "enforce"))
    default_failure = FailurePolicy.CLOSED if mode is Mode.ENFORCE else FailurePolicy.OPEN
    if None in rules:
        return None
    line, _ = loc.marks.get(root, (1, 1))
    return Policy(
        name=doc["metadata"]["name"],
        kind=kind,
        namespace=namespace,
        mode=mode,
        failure_policy=FailurePolicy(spec.get("failurePolicy", default_failure.value)),
        match=match,
        rules=tuple(r for r in rules if r is not None),
        exceptions=tuple(exceptions),
        break_glass=break_glass,
        source=f"{loc.source}:{line}",
    )


_VALIDATOR = jsonschema.Draft202012Validator(
    document_schema(strict=True), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def _schema_problems(loc: _Located, index: int, doc: Any) -> None:
    for error in sorted(_VALIDATOR.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        path: _Path = (index, *error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - known):
                hint = f"; known fields: {', '.join(sorted(known))}"
                loc.problem((*path, extra), f"unknown field {extra!r}{hint}", at_key=True)
            continue
        loc.problem(path, error.message)


def load_policies(text: str, *, source: str = "<policy>") -> PolicySet:
    """Parse and validate policy YAML (one or more documents); raise ``PolicyValidationError`` listing every problem."""
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"{source} is {len(text)} bytes, over the {MAX_POLICY_BYTES}-byte limit for policies",
            hint="split it into several files",
        )
    loc = _Located(source)
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PolicyValidationError(
            [PolicyProblem(source=source, line=line, column=column, path="", message=f"not valid YAML: {exc.problem}")]
        ) from exc
    except yaml.YAMLError as exc:
        raise PolicyValidationError(
            [PolicyProblem(source=source, line=1, column=1, path="", message=f"not valid YAML: {exc}")]
        ) from exc
    if not nodes:
        raise PolicyValidationError(
            [PolicyProblem(source=source, line=1, column=1, path="", message="no policy documents in the file")]
        )
    policies: list[Policy] = []
    canonical: list[Any] = []
    for index, node in enumerate(nodes):
        doc = loc.value(node, (index,))
        before = len(loc.problems)
        _schema_problems(loc, index, doc)
        if len(loc.problems) > before:
            continue
        canonical.append(doc)
        policy = _policy(loc, index, doc)
        if policy is not None:
            policies.append(policy)
    names = [(p.kind, p.qualified_name) for p in policies]
    for i, key in enumerate(names):
        if names.index(key) != i:
            loc.problem((i, "metadata", "name"), f"{key[0]} {key[1]!r} is defined twice")
    if loc.problems:
        raise PolicyValidationError(loc.problems)
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()
    return PolicySet(policies=tuple(policies), fingerprint=f"sha256:{digest}")


def merge_policy_sets(sets: list[PolicySet]) -> PolicySet:
    """Several files into one set; the fingerprint covers them all."""
    policies = tuple(p for s in sets for p in s.policies)
    digest = hashlib.sha256("".join(s.fingerprint for s in sets).encode()).hexdigest()
    return PolicySet(policies=policies, fingerprint=f"sha256:{digest}")


# a JSON-able view of every field, for `policy validate -o json` and the fingerprint's readers
def describe(policy: Policy) -> dict[str, object]:
    return {
        "name": policy.qualified_name,
        "kind": policy.kind,
        "mode": policy.mode.value,
        "failurePolicy": policy.failure_policy.value,
        "rules": [r.name for r in policy.rules],
        "exceptions": [e.name for e in policy.exceptions],
        "breakGlass": policy.break_glass is not None,
        "source": policy.source,
    }
