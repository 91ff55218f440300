"""Prometheus metrics of the webhook, on a registry of its own (one per app, so tests do not collide)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["WebhookMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class WebhookMetrics:
    registry: CollectorRegistry
    decisions: Counter
    latency: Histogram
    cache_lookups: Counter
    cache_hit_ratio: Gauge
    registry_errors: Counter
    failures: Counter
    break_glass: Counter
    malformed: Counter
    ready: Gauge

    @classmethod
    def create(cls) -> WebhookMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            decisions=Counter(
                "wharfinger_admission_decisions",
                "Admission decisions by result, effective mode, first failing rule and namespace.",
                ["result", "mode", "rule", "namespace", "endpoint"],
                registry=registry,
            ),
            latency=Histogram(
                "wharfinger_admission_decision_seconds",
                "Server-side time to answer an AdmissionReview, by endpoint and cache outcome.",
                ["endpoint", "cache"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            cache_lookups=Counter(
                "wharfinger_admission_cache_lookups", "Facts cache lookups by outcome.", ["outcome"], registry=registry
            ),
            cache_hit_ratio=Gauge(
                "wharfinger_admission_cache_hit_ratio", "Hits / lookups of the facts cache so far.", registry=registry
            ),
            registry_errors=Counter(
                "wharfinger_admission_registry_errors",
                "Registry failures while gathering facts (unreachable, 5xx, timeout).",
                ["registry"],
                registry=registry,
            ),
            failures=Counter(
                "wharfinger_admission_failure_mode",
                "Decisions where facts were missing and the failure mode decided (fail-open / fail-closed), "
                "or the time budget ran out.",
                ["failure", "cause"],
                registry=registry,
            ),
            break_glass=Counter(
                "wharfinger_admission_break_glass",
                "Workloads admitted by break-glass (each one is also in the audit log).",
                ["namespace"],
                registry=registry,
            ),
            malformed=Counter(
                "wharfinger_admission_malformed_requests",
                "Requests answered with HTTP 4xx because they were not an AdmissionReview.",
                ["status"],
                registry=registry,
            ),
            ready=Gauge(
                "wharfinger_admission_ready", "1 when policy and trust material are loaded.", registry=registry
            ),
        )
