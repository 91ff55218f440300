"""Policies (the CRD objects) and namespace labels read from the Kubernetes API through the real client,
against a stand-in API server (no API server can be installed on these machines)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from admission_checks import DATA, assert_review
from admission_reviews import review, workload
from admission_server import start_webhook
from kube_api import fake_api

SIGNED = yaml.safe_load_all((DATA / "faults.policy.yaml").read_text())


def _namespace(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _cluster_policy() -> dict[str, object]:
    return {
        "apiVersion": "wharfinger.io/v1alpha1",
        "kind": "ClusterImagePolicy",
        "metadata": {"name": "from-cluster", "uid": "1f2e", "resourceVersion": "7", "generation": 1},
        "spec": {
            "mode": "enforce",
            "rules": [
                {"name": "signed", "signatures": {"authorities": [{"name": "ci", "cosign": {"publicKey": "ci.pub"}}]}}
            ],
        },
    }


def test_policies_and_namespace_labels_come_from_the_cluster(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("images: {}\n")
    with fake_api() as api:
        api.lists["/api/v1/namespaces"] = [
            _namespace("shop", {}),
            _namespace("legacy", {"wharfinger.io/enforce": "audit"}),
        ]
        api.lists["/apis/wharfinger.io/v1alpha1/clusterimagepolicies"] = [_cluster_policy()]
        server = start_webhook(
            tmp_path / "srv", "--kubeconfig", str(api.kubeconfig(tmp_path / "kubeconfig")), "--facts", str(facts),
            "--cluster-poll", "0.2",
        )  # fmt: skip
        try:

            def admit(namespace: str) -> dict:  # type: ignore[type-arg]
                body = review(workload("Deployment", "ghcr.io/acme/api:1", namespace=namespace))
                with server.client() as client:
                    reply = client.post("/validate", content=body, headers={"Content-Type": "application/json"})
                return assert_review(reply.json(), json.loads(body)["request"]["uid"])

            shop = admit("shop")
            assert shop["allowed"] is False
            assert shop["auditAnnotations"]["rule"] == "from-cluster/signed"
            assert admit("legacy")["auditAnnotations"]["decision"] == "audited"  # the namespace label from the API
            api.lists["/api/v1/namespaces"] = [_namespace("shop", {}), _namespace("legacy", {})]
            deadline = time.monotonic() + 10
            while admit("legacy")["allowed"]:
                assert time.monotonic() < deadline, "the relabelled namespace was not picked up"
                time.sleep(0.2)
            api.lists["/apis/wharfinger.io/v1alpha1/clusterimagepolicies"] = [
                {**_cluster_policy(), "spec": {"rules": []}}  # invalid: the previous policy stays in force
            ]
            deadline = time.monotonic() + 10
            while "admission.policy.rejected" not in server.logs() and "admission.cluster.failed" not in server.logs():
                assert time.monotonic() < deadline, "the invalid cluster policy was not reported"
                time.sleep(0.2)
            assert admit("shop")["auditAnnotations"]["rule"] == "from-cluster/signed"
        finally:
            server.stop()


def test_policy_audit_through_a_kubeconfig(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    deployment = workload("Deployment", "busybox:1.36", name="tools", namespace="shop", labels={"owner": "payments"})
    deployment["spec"]["selector"] = {"matchLabels": {"app": "tools"}}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "tools"}
    with fake_api() as api:
        api.lists["/api/v1/namespaces"] = [_namespace("shop", {"env": "prod"})]
        api.lists["/apis/apps/v1/deployments"] = [deployment]
        result = run_cli(
            "policy", "audit", str(DATA / "connaisseur-mutate-test.policy.yaml"),
            "--kubeconfig", str(api.kubeconfig(tmp_path / "kubeconfig")), "-o", "json",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["namespace"], row["owner"], row["wouldBlock"]) == ("shop", "payments", 1)
    assert "/apis/apps/v1/deployments" in api.requests


def test_break_glass_raises_a_kubernetes_event(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    facts = tmp_path / "facts.yaml"
    facts.write_text("images: {}\n")
    policy = _cluster_policy()
    policy["spec"]["breakGlass"] = {"allowedGroups": ["sre"], "maxDurationHours": 1}  # type: ignore[index]
    with fake_api() as api:
        api.lists["/api/v1/namespaces"] = [_namespace("shop", {})]
        api.lists["/apis/wharfinger.io/v1alpha1/clusterimagepolicies"] = [policy]
        server = start_webhook(
            tmp_path / "srv", "--kubeconfig", str(api.kubeconfig(tmp_path / "kubeconfig")), "--facts", str(facts),
        )  # fmt: skip
        try:
            until = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
            glass = {"wharfinger.io/break-glass": "INC-9 payments down", "wharfinger.io/break-glass-until": until}
            obj = workload("Deployment", "ghcr.io/acme/api:1", name="checkout", namespace="shop", annotations=glass)
            body = review(obj, groups=("sre",))
            with server.client() as client:
                reply = client.post("/validate", content=body, headers={"Content-Type": "application/json"})
            assert assert_review(reply.json(), json.loads(body)["request"]["uid"])["allowed"] is True
            deadline = time.monotonic() + 10
            while not api.created:
                assert time.monotonic() < deadline, "no Event was created"
                time.sleep(0.1)
        finally:
            server.stop()
    (event,) = api.created
    assert event["reason"] == "BreakGlass"
    assert event["type"] == "Warning"
    assert event["involvedObject"] == {"kind": "Deployment", "name": "checkout", "namespace": "shop"}
    assert "INC-9 payments down" in event["message"]
    assert "POST /api/v1/namespaces/shop/events" in api.requests
