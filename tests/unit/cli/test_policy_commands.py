"""``wharfinger policy validate|test|audit`` and ``audit report``, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from admission_checks import DATA, SHARED
from admission_reviews import workload

VECTORS = SHARED / "vectors" / "admission" / "connaisseur" / "test" / "testdata" / "admission_requests"
POLICY = str(DATA / "connaisseur-mutate-test.policy.yaml")
FACTS = str(DATA / "connaisseur-mock.facts.yaml")


def test_validate_ok(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("policy", "validate", POLICY)
    assert result.returncode == 0, result.stderr
    assert "ClusterImagePolicy mock (enforce)" in result.stdout


def test_validate_reports_every_problem_with_its_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: wharfinger.io/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: a}\nspec:\n"
        "  mode: strict\n  rules:\n    - name: r\n      requireDigst: true\n"
    )
    result = run_cli("policy", "validate", str(bad))
    assert result.returncode == 3
    assert f"{bad}:5:9: spec.mode" in result.stderr
    assert f"{bad}:8:7: spec.rules[0].requireDigst: unknown field" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_missing_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("policy", "validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 3
    assert "cannot read policy file" in result.stderr


def test_policy_test_explains_a_denial(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("policy", "test", POLICY, "--request", str(VECTORS / "14_deny_me_job.json"), "--facts", FACTS)
    assert result.returncode == 1
    assert result.stdout.startswith("DENIED (denied) Job")
    assert "[deny/static-deny] my.reg/deny-me" in result.stdout
    assert "Fix:" in result.stdout


def test_policy_test_admits_and_prints_json(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "policy", "test", POLICY, "--request", str(VECTORS / "01_deployment.json"), "--facts", FACTS, "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["allowed"] is True


def test_policy_test_malformed_request(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("policy", "test", POLICY, "--request", str(VECTORS / "25_null_request.json"))
    assert result.returncode == 3
    assert "not an AdmissionReview" in result.stderr


def _dump(tmp_path: Path) -> Path:
    signed = workload(
        "Deployment",
        "securesystemsengineering/alice-image:test",
        name="api",
        namespace="shop",
        labels={"owner": "payments"},
    )
    unsigned = workload("Deployment", "busybox:1.36", name="tools", namespace="shop", labels={"owner": "payments"})
    cron = workload("CronJob", "busybox:1.36", name="nightly", namespace="ops", labels={"team": "sre"})
    owned = workload("Pod", "busybox:1.36", name="api-123", namespace="shop")
    owned["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "api-5d", "uid": "1"}]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"env": "prod"}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "shop"}}
    path = tmp_path / "workloads.json"
    path.write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [namespace, signed, unsigned, cron, owned, service]})
    )
    return path


def test_policy_audit_reports_what_enforce_would_block(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("policy", "audit", POLICY, "--workloads", str(_dump(tmp_path)), "--facts", FACTS, "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = {(r["namespace"], r["owner"]): r for r in json.loads(result.stdout)}
    shop = rows[("shop", "payments")]
    assert shop["workloads"] == 2  # the owned pod is judged through its controller
    assert shop["wouldBlock"] == 1
    assert shop["blocked"][0]["name"] == "tools"
    assert "busybox:1.36" in shop["blocked"][0]["reasons"][0]
    assert rows[("ops", "sre")]["wouldBlock"] == 1
    text = run_cli("policy", "audit", POLICY, "--workloads", str(_dump(tmp_path)), "--facts", FACTS)
    assert "shop owner=payments: 2 workloads, 1 would be blocked" in text.stdout


def test_policy_audit_bad_inputs(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.json").write_text("{}")
    result = run_cli("policy", "audit", POLICY, "--workloads", str(tmp_path / "x.json"))
    assert result.returncode == 3
    assert "no items list" in result.stderr
    missing = run_cli("policy", "audit", POLICY, "--kubeconfig", str(tmp_path / "kubeconfig"))
    assert missing.returncode == 3
    assert "does not exist" in missing.stderr
    neither = run_cli("policy", "audit", POLICY)
    assert neither.returncode == 3


def test_audit_report_counts_per_month_namespace_owner(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from admission_reviews import review
    from wharfinger.admission.audit import AuditLog, entry_for
    from wharfinger.policy import Facts, evaluate, load_policies, parse_review

    policies = load_policies((DATA / "faults.policy.yaml").read_text())
    log = AuditLog(tmp_path / "audit.jsonl")
    for namespace, month in (("prod", 10), ("prod", 11), ("dev", 11), ("dev", 11)):
        request = parse_review(review(workload("Pod", "ghcr.io/a/b:1", namespace=namespace, labels={"owner": "web"})))
        at = datetime(2026, month, 3, tzinfo=UTC)
        log.append(entry_for(request, evaluate(policies, request, Facts(images={}), at), at=at, policy_fingerprint="x"))
    log.close()
    result = run_cli("audit", "report", str(tmp_path / "audit.jsonl"), "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = {(r["month"], r["namespace"]): r for r in json.loads(result.stdout)}
    assert rows[("2026-10", "prod")]["denied"] == 1
    assert rows[("2026-11", "dev")]["admittedByAudit"] == 2
    assert rows[("2026-11", "dev")]["owner"] == "web"
    assert run_cli("audit", "verify", str(tmp_path / "audit.jsonl")).returncode == 0
