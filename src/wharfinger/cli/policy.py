"""``wharfinger policy validate|test|audit``: check policy files, try one request, measure before enforcing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from datetime import datetime

    from wharfinger.policy.document import PolicySet
    from wharfinger.policy.engine import Decision, EvaluationSettings
    from wharfinger.policy.factsfile import FactsBook
    from wharfinger.policy.request import AdmissionRequest

__all__ = ["register"]

policy_app = typer.Typer(help="Admission policies: validate, test one request, audit a cluster.", no_args_is_help=True)

FACTS_HELP = "Image facts file (YAML/JSON); without it every image counts as unsigned and unscanned."


def _facts(path: Path | None) -> FactsBook:
    import yaml

    from wharfinger.errors import InputError
    from wharfinger.policy.factsfile import parse_facts_document

    if path is None:
        return parse_facts_document({"images": {}})
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read facts file {path}: {exc}", hint="see docs/policy.md for the format") from exc
    return parse_facts_document(document, source=str(path))


def _decide(
    policies: PolicySet,
    request: AdmissionRequest,
    labels: dict[str, str],
    book: FactsBook,
    now: datetime,
    settings: EvaluationSettings,
) -> Decision:
    """Evaluate one request with the facts its policies need, as the facts file states them."""
    from wharfinger.policy import Facts, evaluate, plan

    needs = plan(policies, request, labels)
    facts = Facts(images={ref: book.lookup(ref, need) for ref, need in needs.items()}, namespace_labels=labels)
    return evaluate(policies, request, facts, now, settings)


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "outcome": decision.outcome.value,
        "rule": decision.rule,
        "message": decision.message,
        "warnings": list(decision.warnings),
        "policies": list(decision.policies),
        "failure": decision.failure,
        "violations": [
            {
                "policy": v.policy,
                "rule": v.rule,
                "image": v.image,
                "mode": v.mode.value,
                "reason": v.reason,
                "fix": v.fix,
                "waivedBy": v.waived_by,
            }
            for v in decision.violations
        ],
    }


@policy_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Policy YAML files or folders.")],
) -> None:
    """Check policy files against the schema and the rules; every problem with file:line:column (exit 3)."""
    from wharfinger.admission.runtime import load_policy_paths

    policies = load_policy_paths(tuple(files))
    for policy in policies.policies:
        rules = ", ".join(r.name for r in policy.rules)
        typer.echo(f"ok  {policy.kind} {policy.qualified_name} ({policy.mode.value}): {rules}  [{policy.source}]")


@policy_app.command("test")
def try_request(
    policy: Annotated[list[Path], typer.Argument(help="Policy YAML files or folders.")],
    request: Annotated[Path, typer.Option("--request", "-r", help="An AdmissionReview JSON file.")],
    facts: Annotated[Path | None, typer.Option(help=FACTS_HELP)] = None,
    namespace_labels: Annotated[
        list[str] | None, typer.Option("--namespace-label", help="key=value label of the request's namespace.")
    ] = None,
    output: Annotated[list[str] | None, typer.Option("-o", "--output", help="text or json[=FILE].")] = None,
) -> None:
    """Evaluate one AdmissionReview and explain the decision (exit 0 admitted, 1 denied)."""
    from wharfinger.admission.runtime import load_policy_paths
    from wharfinger.cli.exitcodes import ExitCode
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.policy import parse_review
    from wharfinger.policy.engine import EvaluationSettings

    policies = load_policy_paths(tuple(policy))
    targets = parse_outputs(output, allowed=("text", "json"), default="text")
    try:
        body = request.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {request}: {exc.strerror}", hint="pass an AdmissionReview JSON file") from exc
    parsed = parse_review(body)
    labels = dict(item.partition("=")[::2] for item in namespace_labels or ())
    decision = _decide(policies, parsed, labels, _facts(facts), SystemClock().now(), EvaluationSettings())

    def render(fmt: str) -> str:
        if fmt == "json":
            return json.dumps(_decision_json(decision), indent=2)
        verdict = "ADMITTED" if decision.allowed else "DENIED"
        lines = [f"{verdict} ({decision.outcome.value}) {parsed.kind} {parsed.namespace}/{parsed.name}"]
        lines.extend(f"  {'x' if not v.waived_by else '~'} {v.sentence()}" for v in decision.violations)
        lines.extend(f"  warning: {w}" for w in decision.warnings)
        if not decision.violations:
            lines.append(f"  {decision.message}")
        return "\n".join(lines)

    write_outputs(targets, render)
    if not decision.allowed:
        raise typer.Exit(ExitCode.DENIED)


def _load_items(workloads: Path | None, kubeconfig: Path | None, context: str | None) -> list[dict[str, Any]]:
    from wharfinger.errors import BackendError, InputError

    if workloads is not None:
        try:
            document = json.loads(workloads.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read {workloads} as JSON: {exc}",
                hint="make it with `kubectl get ns,pods,deploy,sts,ds,job,cronjob -A -o json`",
            ) from exc
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise InputError(f"{workloads} has no items list", hint="use `kubectl get … -A -o json` (a List)")
        return [i for i in items if isinstance(i, dict)]
    if kubeconfig is None:
        raise InputError("give --workloads FILE or --kubeconfig FILE", hint="a kubectl -o json dump works offline")
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise InputError(
            "--kubeconfig needs the kubernetes extra", hint="pip install 'wharfinger[kubernetes]'"
        ) from exc
    if not kubeconfig.is_file():
        raise InputError(f"kubeconfig {kubeconfig} does not exist", hint="pass the path of a kubeconfig file")
    try:
        api_client = config.new_client_from_config(config_file=str(kubeconfig), context=context)  # type: ignore[no-untyped-call]  # the kubernetes client ships no types
        core, apps, batch = client.CoreV1Api(api_client), client.AppsV1Api(api_client), client.BatchV1Api(api_client)
        listings = [
            ("Namespace", "v1", core.list_namespace),
            ("Pod", "v1", core.list_pod_for_all_namespaces),
            ("Deployment", "apps/v1", apps.list_deployment_for_all_namespaces),
            ("StatefulSet", "apps/v1", apps.list_stateful_set_for_all_namespaces),
            ("DaemonSet", "apps/v1", apps.list_daemon_set_for_all_namespaces),
            ("Job", "batch/v1", batch.list_job_for_all_namespaces),
            ("CronJob", "batch/v1", batch.list_cron_job_for_all_namespaces),
        ]
        items = []
        for kind, api_version, lister in listings:
            for item in api_client.sanitize_for_serialization(lister()).get("items", []):  # type: ignore[operator]  # untyped client
                items.append({**item, "kind": kind, "apiVersion": api_version})
    except Exception as exc:  # the kubernetes client raises urllib3/ApiException/ConfigException alike
        raise BackendError(
            f"cannot list workloads through {kubeconfig}: {type(exc).__name__}: {exc}",
            hint="check the context, the network path to the API server and list permissions (RBAC)",
        ) from exc
    return items


@policy_app.command("audit")
def audit(
    policy: Annotated[list[Path], typer.Argument(help="Policy YAML files or folders.")],
    workloads: Annotated[
        Path | None, typer.Option(help="`kubectl get ns,pods,deploy,sts,ds,job,cronjob -A -o json`.")
    ] = None,
    kubeconfig: Annotated[Path | None, typer.Option(help="Read the workloads from a live cluster instead.")] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context.")] = None,
    facts: Annotated[Path | None, typer.Option(help=FACTS_HELP)] = None,
    output: Annotated[list[str] | None, typer.Option("-o", "--output", help="text or json[=FILE].")] = None,
) -> None:
    """Per namespace and owner label: what enforce mode would block, and why (the evidence to switch)."""
    from wharfinger.admission.runtime import load_policy_paths
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.clock import SystemClock
    from wharfinger.policy import Mode
    from wharfinger.policy.engine import EvaluationSettings
    from wharfinger.policy.request import request_from_object

    policies = load_policy_paths(tuple(policy))
    targets = parse_outputs(output, allowed=("text", "json"), default="text")
    items = _load_items(workloads, kubeconfig, context)
    namespaces = {
        str(i["metadata"]["name"]): {str(k): str(v) for k, v in (i["metadata"].get("labels") or {}).items()}
        for i in items
        if i.get("kind") == "Namespace" and isinstance(i.get("metadata"), dict)
    }
    book = _facts(facts)
    now = SystemClock().now()
    settings = EvaluationSettings(force_mode=Mode.ENFORCE)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        metadata = item.get("metadata") or {}
        if item.get("kind") == "Namespace" or metadata.get("ownerReferences"):
            continue  # pods and jobs made by a controller are judged through their controller
        request = request_from_object(item)
        if request.problem and request.workload is None:
            continue  # not a workload (a Service in the dump): nothing to judge
        labels = namespaces.get(request.namespace, {})
        decision = _decide(policies, request, labels, book, now, settings)
        group = groups.setdefault(
            (request.namespace, request.owner_label),
            {
                "namespace": request.namespace,
                "owner": request.owner_label,
                "workloads": 0,
                "wouldBlock": 0,
                "blocked": [],
                "currentMode": labels.get("wharfinger.io/enforce", "policy"),
            },
        )
        group["workloads"] += 1
        if not decision.allowed:
            group["wouldBlock"] += 1
            group["blocked"].append(
                {
                    "kind": request.kind,
                    "name": request.name,
                    "reasons": [v.sentence() for v in decision.denying],
                }
            )
    rows = [groups[k] for k in sorted(groups)]

    def render(fmt: str) -> str:
        if fmt == "json":
            return json.dumps(rows, indent=2)
        lines = []
        for row in rows:
            ready = "ready for enforce" if row["wouldBlock"] == 0 else f"{row['wouldBlock']} would be blocked"
            lines.append(f"{row['namespace']} owner={row['owner'] or '-'}: {row['workloads']} workloads, {ready}")
            for blocked in row["blocked"]:
                lines.append(f"  {blocked['kind']}/{blocked['name']}")
                lines.extend(f"    {reason}" for reason in blocked["reasons"])
        return "\n".join(lines) or "no workloads found"

    write_outputs(targets, render)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
