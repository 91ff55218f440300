"""Assembling and running the webhook: files → state, reloaders, uvicorn with TLS hot reload.

Everything read from disk is watched: the TLS certificate (new handshakes use the new one,
open connections are not dropped), the policy files (an invalid new version is logged and the
old one stays in force), the trust material (a new generation: cached facts verified with the
old material are never read again) and the namespace labels.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from wharfinger.admission.app import Reloader, create_app
from wharfinger.admission.audit import AuditLog
from wharfinger.admission.cache import CacheSettings, FactsCache
from wharfinger.admission.cluster import ClusterSource
from wharfinger.admission.metrics import WebhookMetrics
from wharfinger.admission.providers import RegistryFactsProvider, StaticFactsProvider
from wharfinger.admission.webhook import ReadyProvider, Webhook, WebhookState
from wharfinger.clock import Clock, SystemClock
from wharfinger.errors import InputError, PolicyError, WharfingerError
from wharfinger.policy.document import Mode, PolicySet, load_policies, merge_policy_sets
from wharfinger.policy.engine import EvaluationSettings
from wharfinger.policy.factsfile import parse_facts_document
from wharfinger.policy.request import AdmissionRequest

__all__ = ["ServeOptions", "build", "load_namespace_labels", "load_policy_paths", "serve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    policy_paths: tuple[Path, ...]
    facts_path: Path | None = None  # static facts (tests, demos); otherwise facts come from the registry
    trust_dir: Path | None = None  # keys, Notary trust store and trust policy: watched for changes
    plain_http_registries: frozenset[str] = frozenset()  # explicit hosts only, like --insecure
    registry_ca: Path | None = None  # extra PEM CAs for registries with a private CA
    registry_http2: bool = False  # offer HTTP/2 to TLS registries (--http2), as every registry command
    namespaces_path: Path | None = None  # namespace labels: {ns: {label: value}} or a `kubectl get ns -o json`
    host: str = "0.0.0.0"  # noqa: S104 -- a webhook in a pod listens on its pod IP
    port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    audit_log: Path | None = None
    redis_url: str | None = None
    timeout_seconds: float = 10.0  # the API server's timeoutSeconds for this webhook
    budget_s: float | None = None  # default: 80 % of timeout_seconds, minus 0.5 s for the network
    success_ttl_s: float = 300.0
    failure_ttl_s: float = 15.0
    dry_run: bool = False
    mutate: bool = False
    no_match: Mode = Mode.ENFORCE
    reload_interval_s: float = 1.0
    from_cluster: bool = False  # policies and namespace labels from the API (in-cluster service account)
    kubeconfig: Path | None = None  # … or through this kubeconfig
    cluster_poll_s: float = 5.0
    registry_timeout_s: float = 5.0  # seconds per registry read; the budget bounds the whole decision

    @property
    def effective_budget_s(self) -> float:
        return self.budget_s if self.budget_s is not None else max(0.5, self.timeout_seconds * 0.8 - 0.5)


def _files(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()))
        else:
            out.append(path)
    return out


def load_policy_paths(paths: tuple[Path, ...]) -> PolicySet:
    sets = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc}", hint="check the path and encoding") from exc
        sets.append(load_policies(text, source=str(path)))
    if not sets:
        raise PolicyError(f"no policy files found in {', '.join(map(str, paths))}", hint="pass --policy FILE")
    return merge_policy_sets(sets) if len(sets) > 1 else sets[0]


def load_namespace_labels(path: Path) -> dict[str, dict[str, str]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read namespace labels from {path}: {exc}", hint="YAML {ns: {label: value}}") from exc
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        return {
            str(item["metadata"]["name"]): {str(k): str(v) for k, v in (item["metadata"].get("labels") or {}).items()}
            for item in document["items"]
            if isinstance(item, dict) and item.get("kind") == "Namespace"
        }
    if not isinstance(document, dict):
        raise InputError(f"{path} is not a mapping of namespace to labels", hint="YAML {ns: {label: value}}")
    return {str(ns): {str(k): str(v) for k, v in (labels or {}).items()} for ns, labels in document.items()}


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


class _FileWatch:
    """Cheap change detection: (mtime, size) of each file, then a content hash only when those moved."""

    def __init__(self, paths: Callable[[], list[Path]]) -> None:
        self._paths = paths
        self._stat = self._stat_now()
        self.fingerprint = _fingerprint(paths())

    def _stat_now(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for p in self._paths():
            try:
                st = p.stat()
                out.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(p), -1, -1))
        return tuple(out)

    def changed(self) -> bool:
        stat = self._stat_now()
        if stat == self._stat:
            return False
        self._stat = stat
        fingerprint = _fingerprint(self._paths())
        if fingerprint == self.fingerprint:
            return False
        self.fingerprint = fingerprint
        return True


def _trust_files(options: ServeOptions) -> list[Path]:
    files = []
    if options.trust_dir is not None:
        files.extend(sorted(p for p in options.trust_dir.rglob("*") if p.is_file()))
    if options.facts_path is not None:
        files.append(options.facts_path)
    return files


def _provider(options: ServeOptions, metrics: WebhookMetrics) -> ReadyProvider:
    if options.facts_path is not None:
        try:
            document = yaml.safe_load(options.facts_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read facts file {options.facts_path}: {exc}", hint="see docs/policy.md") from exc
        return StaticFactsProvider(parse_facts_document(document, source=str(options.facts_path)))
    from wharfinger.admission.verifiers import (  # noqa: PLC0415 -- pulls in the signing package
        attestation_keys,
        load_verifiers,
    )
    from wharfinger.oci.auth import default_credentials  # noqa: PLC0415 -- registry stack only when used
    from wharfinger.oci.client import RegistrySettings  # noqa: PLC0415

    return RegistryFactsProvider(
        verifiers=load_verifiers(options.trust_dir),
        settings=RegistrySettings(
            insecure_hosts=options.plain_http_registries,
            ca_bundle=options.registry_ca,
            http2=options.registry_http2,
            max_retries=1,
            backoff_initial=0.05,
            backoff_max=0.2,
            connect_timeout=min(2.0, options.registry_timeout_s),
            read_timeout=options.registry_timeout_s,
        ),
        credentials=default_credentials(os.environ, Path.home()),
        on_registry_error=lambda registry: metrics.registry_errors.labels(registry).inc(),
        attestation_keys=attestation_keys(options.trust_dir),
    )


class _ClusterEvents:
    """Break-glass admissions as Kubernetes Events on the workload."""

    def __init__(self, cluster: ClusterSource, clock: Clock) -> None:
        self.cluster, self.clock = cluster, clock

    def break_glass(self, request: AdmissionRequest, justification: str, rule: str) -> None:
        from wharfinger.admission.cluster import break_glass_event  # noqa: PLC0415

        self.cluster.emit_event(
            break_glass_event(
                namespace=request.namespace,
                kind=request.kind,
                name=request.name,
                uid=request.uid,
                user=request.username,
                justification=justification,
                rule=rule,
                now=self.clock.now().isoformat(),
            )
        )


class _PolicySources:
    """Policies from files and from the cluster; the webhook judges with both."""

    def __init__(self, files: PolicySet | None, cluster: PolicySet | None) -> None:
        self.files, self.cluster = files, cluster

    def combined(self) -> PolicySet | None:
        present = [s for s in (self.files, self.cluster) if s is not None]
        if not present:
            return None
        return present[0] if len(present) == 1 else merge_policy_sets(present)


def build(options: ServeOptions, *, clock: Clock | None = None) -> tuple[Webhook, list[Reloader]]:
    """The webhook and its reloaders, from files; raises ``WharfingerError`` for bad input at start-up."""
    metrics = WebhookMetrics.create()
    cluster = None
    if options.from_cluster or options.kubeconfig is not None:
        from wharfinger.admission.cluster import open_cluster  # noqa: PLC0415 -- kubernetes only when asked

        cluster = open_cluster(options.kubeconfig)
    sources = _PolicySources(
        load_policy_paths(options.policy_paths) if options.policy_paths or cluster is None else None,
        cluster.policies() if cluster is not None else None,
    )
    trust_watch = _FileWatch(lambda: _trust_files(options))
    namespace_labels = load_namespace_labels(options.namespaces_path) if options.namespaces_path else {}
    if cluster is not None:
        namespace_labels = cluster.namespace_labels()
    state = WebhookState(
        policies=sources.combined(),
        provider=_provider(options, metrics),
        trust_generation=trust_watch.fingerprint,
        namespace_labels=namespace_labels,
    )
    cache = FactsCache(
        CacheSettings(
            success_ttl_s=options.success_ttl_s, failure_ttl_s=options.failure_ttl_s, redis_url=options.redis_url
        )
    )
    webhook = Webhook(
        state=state,
        cache=cache,
        metrics=metrics,
        clock=clock or SystemClock(),
        audit=AuditLog(options.audit_log) if options.audit_log else None,
        budget_s=options.effective_budget_s,
        settings=EvaluationSettings(dry_run=options.dry_run, no_match=options.no_match),
        events=_ClusterEvents(cluster, clock or SystemClock()) if cluster is not None else None,
    )
    metrics.ready.set(1 if state.is_ready else 0)
    reloaders = [_trust_reloader(options, webhook, trust_watch)]
    if options.policy_paths:
        reloaders.append(_policy_reloader(options, webhook, sources))
    if cluster is not None:
        reloaders.append(_cluster_reloader(options, webhook, sources, cluster))
    if options.namespaces_path is not None:
        reloaders.append(_namespace_reloader(options, webhook))
    return webhook, reloaders


def _cluster_reloader(
    options: ServeOptions, webhook: Webhook, sources: _PolicySources, cluster: ClusterSource
) -> Reloader:
    def check() -> None:
        try:
            labels = cluster.namespace_labels()
            policies = cluster.policies()
        except WharfingerError as exc:
            log.error(  # noqa: TRY400 -- the diagnostics are the message
                "cluster poll failed, the previous state stays in force",
                extra={"event": "admission.cluster.failed", "error": exc.diagnostics()},
            )
            return
        webhook.state.namespace_labels = labels
        before = webhook.state.policies.fingerprint if webhook.state.policies else ""
        sources.cluster = policies
        webhook.state.policies = sources.combined()
        if webhook.state.policies is not None and webhook.state.policies.fingerprint != before:
            webhook.cache.clear()
            log.info("cluster policies reloaded", extra={"event": "admission.cluster.reloaded"})

    return Reloader(name="cluster", check=check, interval_s=options.cluster_poll_s, in_thread=True)


def _policy_reloader(options: ServeOptions, webhook: Webhook, sources: _PolicySources) -> Reloader:
    watch = _FileWatch(lambda: _files(options.policy_paths))

    def check() -> None:
        if not watch.changed():
            return
        try:
            policies = load_policy_paths(options.policy_paths)
        except WharfingerError as exc:
            log.error(  # noqa: TRY400 -- the diagnostics are the message; no traceback for bad input
                "new policy rejected, the previous one stays in force",
                extra={"event": "admission.policy.rejected", "error": exc.diagnostics()},
            )
            return
        sources.files = policies
        webhook.state.policies = sources.combined()
        webhook.cache.clear()
        log.info("policy reloaded", extra={"event": "admission.policy.reloaded", "fingerprint": policies.fingerprint})

    return Reloader(name="policy", check=check, interval_s=options.reload_interval_s)


def _trust_reloader(options: ServeOptions, webhook: Webhook, watch: _FileWatch) -> Reloader:
    def check() -> None:
        if not watch.changed():
            return
        try:
            provider = _provider(options, webhook.metrics)
        except WharfingerError as exc:
            log.error(  # noqa: TRY400 -- the diagnostics are the message
                "new trust material rejected, the previous one stays in force",
                extra={"event": "admission.trust.rejected", "error": exc.diagnostics()},
            )
            return
        previous = webhook.state.provider
        webhook.state.provider = provider
        webhook.state.trust_generation = watch.fingerprint
        close = getattr(previous, "close", None)
        if close is not None:
            close()  # its registry connections and thread pool; in-flight gatherings finish first (no cancel)
        webhook.cache.clear()
        log.info("trust material reloaded", extra={"event": "admission.trust.reloaded"})

    return Reloader(name="trust", check=check, interval_s=options.reload_interval_s)


def _namespace_reloader(options: ServeOptions, webhook: Webhook) -> Reloader:
    path = options.namespaces_path
    assert path is not None  # noqa: S101 -- only built when a namespaces file is configured
    watch = _FileWatch(lambda: [path])

    def check() -> None:
        if watch.changed():
            webhook.state.namespace_labels = load_namespace_labels(path)

    return Reloader(name="namespaces", check=check, interval_s=options.reload_interval_s)


def _tls_reloader(options: ServeOptions, context: ssl.SSLContext) -> Reloader:
    cert, key = options.tls_cert, options.tls_key
    assert cert is not None  # noqa: S101 -- only built with TLS
    assert key is not None  # noqa: S101
    watch = _FileWatch(lambda: [cert, key])

    def check() -> None:
        if not watch.changed():
            return
        try:
            context.load_cert_chain(str(cert), str(key))
        except (ssl.SSLError, OSError) as exc:
            # a half-written pair (cert renewed before key) fails here; the next tick retries
            log.warning("certificate reload failed", extra={"event": "admission.tls.reload_failed", "error": str(exc)})
            watch.fingerprint = ""
            return
        log.info("certificate reloaded", extra={"event": "admission.tls.reloaded"})

    return Reloader(name="tls", check=check, interval_s=options.reload_interval_s)


def serve(options: ServeOptions) -> None:
    """Run until interrupted. TLS unless no certificate is given (then plain HTTP, for local use only)."""
    import uvicorn  # noqa: PLC0415 -- the server stack loads only when serving

    webhook, reloaders = build(options)
    app = create_app(webhook, reloaders=reloaders, mutate_enabled=options.mutate)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
        ssl_keyfile=str(options.tls_key) if options.tls_key else None,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=30,
    )
    config.load()
    if options.tls_cert is not None and config.ssl is not None:
        reloaders.append(_tls_reloader(options, config.ssl))
    log.info(
        "admission webhook listening",
        extra={
            "event": "admission.listening",
            "port": options.port,
            "tls": options.tls_cert is not None,
            "budget_s": options.effective_budget_s,
            "policies": json.dumps([p.qualified_name for p in webhook.state.policies.policies])
            if webhook.state.policies
            else "[]",
        },
    )
    uvicorn.Server(config).run()
