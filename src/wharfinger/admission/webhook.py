"""The webhook's request path: AdmissionReview bytes in, AdmissionReview (or an HTTP 4xx) out.

For one request, in order:

1. Parse (``policy.parse_review``). No uid to answer → HTTP 400/413 with the explanation.
2. Plan which facts each image needs (``policy.plan``), then gather them for all images at
   once through the facts cache (single-flight, TTLs) and the provider, within the time budget.
   Whatever is not back when the budget ends becomes ``Unverifiable(is_outage=True)``.
3. ``policy.evaluate`` → ``Decision``; the response carries the message, ``warnings``,
   ``auditAnnotations`` and, on ``/mutate``, the digest pins of verified images.
4. Append to the hash-chained audit log; count in the metrics; one JSON log line, no secrets.

``except Exception`` is allowed here (STYLE 2.4): anything unexpected becomes an AdmissionReview
that fails closed (``allowed: false``, code 500), and the log says so.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wharfinger.admission.audit import AuditLog, entry_for
from wharfinger.admission.cache import FactsCache, cache_key
from wharfinger.admission.metrics import WebhookMetrics
from wharfinger.clock import Clock
from wharfinger.policy.document import PolicySet
from wharfinger.policy.engine import Decision, EvaluationSettings, Facts, Outcome, evaluate, plan
from wharfinger.policy.facts import FactNeeds, FactsProvider, ImageFacts, Unscannable, Unverifiable
from wharfinger.policy.request import AdmissionRequest, MalformedReviewError, parse_review

__all__ = ["ORIGINAL_IMAGES_ANNOTATION", "Answer", "Webhook", "WebhookState"]

log = logging.getLogger(__name__)

ORIGINAL_IMAGES_ANNOTATION = "wharfinger.io/original-images"
_MAX_WARNINGS = 10
_MAX_WARNING_CHARS = 256  # the API server may truncate longer warnings


class ReadyProvider(FactsProvider, Protocol):
    def is_ready(self) -> bool: ...


@dataclass(slots=True)
class WebhookState:
    """What can change while serving (hot reload swaps these whole, never edits them)."""

    policies: PolicySet | None
    provider: ReadyProvider | None
    trust_generation: str = "none"
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def is_ready(self) -> bool:
        return self.policies is not None and self.provider is not None and self.provider.is_ready()


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int
    body: dict[str, Any]
    decision: Decision | None = None


class Webhook:
    def __init__(
        self,
        *,
        state: WebhookState,
        cache: FactsCache,
        metrics: WebhookMetrics,
        clock: Clock,
        audit: AuditLog | None,
        budget_s: float,
        settings: EvaluationSettings = EvaluationSettings(),  # noqa: B008 -- frozen, so a shared default is safe
    ) -> None:
        self.state = state
        self.cache = cache
        self.metrics = metrics
        self.clock = clock
        self.audit = audit
        self.budget_s = budget_s
        self.settings = settings

    # --- facts ------------------------------------------------------------------------------------

    async def _gather(
        self, needs: Mapping[str, FactNeeds], deadline: float, policies: PolicySet, provider: FactsProvider
    ) -> tuple[dict[str, ImageFacts], str]:
        trust = self.state.trust_generation
        origins: list[str] = []

        async def one(reference: str, need: FactNeeds) -> ImageFacts:
            key = cache_key(reference, need, policy_fingerprint=policies.fingerprint, trust_generation=trust)
            facts, origin = await self.cache.get_or_gather(key, lambda: provider.gather(reference, need))
            origins.append(origin)
            self.metrics.cache_lookups.labels(origin).inc()
            return facts

        tasks = {ref: asyncio.ensure_future(one(ref, need)) for ref, need in needs.items()}
        if not tasks:
            return {}, "none"
        timeout = max(0.0, deadline - time.monotonic())
        done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
        out: dict[str, ImageFacts] = {}
        for ref, task in tasks.items():
            if task in done and task.exception() is None:
                out[ref] = task.result()
                continue
            task.cancel()
            if task in pending:
                reason = f"the webhook's time budget of {self.budget_s:g} s ran out while checking it"
                self.metrics.failures.labels("budget", "budget").inc()
            else:
                reason = f"gathering facts failed ({type(task.exception()).__name__})"
                log.error("facts provider raised", extra={"event": "admission.provider.error", "image": ref})
            missing = Unverifiable(reason=reason, is_outage=True)
            out[ref] = ImageFacts(
                reference=ref,
                digest=missing,
                signatures=missing,
                attestations=missing,
                vulnerabilities=Unscannable(reason=reason),
            )
        stats = self.cache.stats
        lookups = stats.hits + stats.misses
        if lookups:
            self.metrics.cache_hit_ratio.set(stats.hits / lookups)
        cache = "hit" if origins and all(o in {"local", "shared", "coalesced"} for o in origins) else "miss"
        if pending:
            cache = "budget"
        return out, cache

    # --- request path -----------------------------------------------------------------------------

    async def handle(self, body: bytes, *, mutate: bool) -> Answer:
        started = time.monotonic()
        endpoint = "mutate" if mutate else "validate"
        try:
            request = parse_review(body)
        except MalformedReviewError as exc:
            self.metrics.malformed.labels(str(exc.http_status)).inc()
            log.info(
                "malformed admission request",
                extra={"event": "admission.malformed", "status": exc.http_status, "reason": exc.message},
            )
            return Answer(
                status=exc.http_status,
                body={"error": exc.message, "hint": exc.hint or "", "status": exc.http_status},
            )
        try:
            answer, cache = await self._decide(request, started=started, mutate=mutate)
        except Exception as exc:  # the webhook boundary: fail closed with an explanation, never a bare 500
            log.exception("admission failed", extra={"event": "admission.internal_error", "uid": request.uid})
            self.metrics.failures.labels("fail-closed", "internal").inc()
            return Answer(
                status=200,
                body=_review(
                    request,
                    {
                        "uid": request.uid,
                        "allowed": False,
                        "status": {
                            "code": 500,
                            "reason": "InternalError",
                            "message": f"Wharfinger could not decide ({type(exc).__name__}); failing closed. "
                            "Retry; if it persists, the platform team should check the webhook's logs.",
                        },
                    },
                ),
            )
        self.metrics.latency.labels(endpoint, cache).observe(time.monotonic() - started)
        return answer

    async def _decide(self, request: AdmissionRequest, *, started: float, mutate: bool) -> tuple[Answer, str]:
        policies, provider = self.state.policies, self.state.provider
        if policies is None or provider is None:
            raise RuntimeError("webhook is not ready: no policy or trust material")  # readyz keeps traffic away
        namespace_labels = self.state.namespace_labels.get(request.namespace, {})
        needs = plan(policies, request, namespace_labels)
        deadline = started + self.budget_s
        facts, cache = await self._gather(needs, deadline, policies, provider)
        now = self.clock.now()
        decision = evaluate(
            policies, request, Facts(images=facts, namespace_labels=namespace_labels), now, self.settings
        )
        head = ""
        if self.audit is not None and not mutate:
            record = entry_for(request, decision, at=now, policy_fingerprint=policies.fingerprint)
            head = (await asyncio.to_thread(self.audit.append, record))["hash"]
        self._count(request, decision, mutate=mutate)
        response: dict[str, Any] = {"uid": request.uid, "allowed": decision.allowed}
        if mutate:
            response["allowed"] = True  # the validating webhook decides; mutation only pins verified images
            patch = _pin_patch(request, decision)
            if patch:
                response["patchType"] = "JSONPatch"
                response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
        else:
            if not decision.allowed:
                response["status"] = {"code": 403, "reason": "Forbidden", "message": decision.message}
            warnings = [w[:_MAX_WARNING_CHARS] for w in decision.warnings[:_MAX_WARNINGS]]
            if warnings:
                response["warnings"] = warnings
            response["auditAnnotations"] = _audit_annotations(decision, head)
        log.info(
            "admission decided",
            extra={
                "event": "admission.decision",
                "uid": request.uid,
                "namespace": request.namespace,
                "kind": request.kind,
                "object": request.name,
                "operation": request.operation.value,
                "outcome": decision.outcome.value,
                "allowed": decision.allowed,
                "rule": decision.rule,
                "failure": decision.failure,
                "cache": cache,
                "endpoint": "mutate" if mutate else "validate",
                "latency_ms": round((time.monotonic() - started) * 1000, 3),
            },
        )
        if decision.outcome is Outcome.BREAK_GLASS and not mutate:
            # the event the alerting will consume; the audit log entry above is the durable record
            log.warning(
                "break-glass admission",
                extra={
                    "event": "admission.break_glass",
                    "uid": request.uid,
                    "namespace": request.namespace,
                    "object": request.name,
                    "user": request.username,
                    "justification": decision.break_glass_justification,
                },
            )
        return Answer(status=200, body=_review(request, response), decision=decision), cache

    def _count(self, request: AdmissionRequest, decision: Decision, *, mutate: bool) -> None:
        blocking = [v for v in decision.violations if not v.waived_by]
        mode = blocking[0].mode.value if blocking else "none"
        if decision.outcome is Outcome.BREAK_GLASS:
            mode = "break-glass"
            self.metrics.break_glass.labels(request.namespace).inc()
        self.metrics.decisions.labels(
            "allowed" if decision.allowed else "denied",
            mode,
            decision.rule or "none",
            request.namespace,
            "mutate" if mutate else "validate",
        ).inc()
        if decision.failure and not mutate:
            cause = "budget" if any("time budget" in v.reason for v in decision.violations) else "outage"
            self.metrics.failures.labels(decision.failure, cause).inc()


def _review(request: AdmissionRequest, response: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": request.review_version, "kind": "AdmissionReview", "response": response}


def _audit_annotations(decision: Decision, head: str) -> dict[str, str]:
    out = {"decision": decision.outcome.value, "policies": ",".join(decision.policies)}
    if decision.rule:
        out["rule"] = decision.rule
    if decision.failure:
        out["failure-mode"] = decision.failure
    if decision.break_glass_justification:
        out["break-glass"] = decision.break_glass_justification[:256]
    if decision.is_dry_run:
        out["dry-run"] = "true"
    if head:
        out["audit-log-hash"] = head
    return out


def _pin_patch(request: AdmissionRequest, decision: Decision) -> list[dict[str, Any]]:
    if not decision.pins or request.is_being_deleted:
        return []
    patch: list[dict[str, Any]] = []
    originals: dict[str, str] = {}
    for container in request.containers:
        digest = decision.pins.get(container.image)
        if digest is None:
            continue
        pinned = f"{container.image}@{digest}"
        patch.append({"op": "replace", "path": container.pointer, "value": pinned})
        originals[container.pointer] = container.image
    if originals:
        annotations = {**request.annotations, ORIGINAL_IMAGES_ANNOTATION: json.dumps(originals, sort_keys=True)}
        patch.append({"op": "add", "path": "/metadata/annotations", "value": annotations})
    return patch
