"""`admission install`, the CRDs and the Helm chart, validated against the Kubernetes schemas."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from helm_subset import render
from wharfinger.admission.manifests import InstallOptions, render_install, self_signed_pair
from wharfinger.policy.schema import KINDS, crd_manifest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "wharfinger"
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
K8S = "1.30.0"
CRD_KINDS = {"Certificate", "Issuer"}  # cert-manager's own CRDs: not in the Kubernetes schemas


def _validate(obj: dict[str, Any]) -> None:
    if obj["kind"] in CRD_KINDS:
        assert obj["apiVersion"] == "cert-manager.io/v1"
        return
    kubernetes_validate.validate(obj, K8S, strict=True)


@pytest.mark.parametrize("mutate", [False, True])
@pytest.mark.parametrize("cert_manager", [False, True])
def test_install_manifests_are_valid(mutate: bool, cert_manager: bool) -> None:
    objects = render_install(InstallOptions(mutate=mutate, cert_manager=cert_manager), now=NOW)
    for obj in objects:
        _validate(obj)
    kinds = [o["kind"] for o in objects]
    assert ("MutatingWebhookConfiguration" in kinds) is mutate
    webhook = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")["webhooks"][0]
    assert webhook["sideEffects"] == "None"
    assert webhook["matchPolicy"] == "Equivalent"
    assert webhook["timeoutSeconds"] == 10
    excluded = webhook["namespaceSelector"]["matchExpressions"][0]
    assert excluded["operator"] == "NotIn"
    assert set(excluded["values"]) == {"kube-system", "wharfinger-system"}
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]
    assert "PodDisruptionBudget" in kinds


def test_self_signed_bundle_verifies_the_served_certificate() -> None:
    from cryptography import x509

    objects = render_install(InstallOptions(), now=NOW)
    secret = next(o for o in objects if o["kind"] == "Secret")
    bundle = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")["webhooks"][0]["clientConfig"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(bundle["caBundle"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "wharfinger-admission.wharfinger-system.svc" in names


@pytest.mark.parametrize("kind", KINDS)
def test_published_crds_match_the_schema_in_code(kind: str) -> None:
    for folder in (ROOT / "deploy" / "crds", CHART / "crds"):
        published = yaml.safe_load((folder / f"{kind.lower()}.yaml").read_text())
        assert published == crd_manifest(kind), f"regenerate with `wharfinger admission crds {folder}`"
        _validate(published)


def _chart(values_override: dict[str, Any]) -> list[dict[str, Any]]:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for key, value in values_override.items():
        node = values
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    docs = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = render(template.read_text(), values, name="wharfinger-admission", namespace="wharfinger-system")
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


@pytest.mark.parametrize("cert_manager", [False, True])
@pytest.mark.parametrize("mutate", [False, True])
def test_helm_chart_renders_valid_manifests_equal_to_install(cert_manager: bool, mutate: bool) -> None:
    ca, cert, key = self_signed_pair("wharfinger-admission.wharfinger-system.svc", now=NOW)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    docs = _chart(
        {
            "certManager.enabled": cert_manager,
            "mutate.enabled": mutate,
            "tls.crt": b64(cert),
            "tls.key": b64(key),
            "tls.caBundle": b64(ca),
        }
    )
    for doc in docs:
        _validate(doc)
    chart_hook = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")["webhooks"][0]
    install_hook = next(
        o
        for o in render_install(InstallOptions(mutate=mutate, cert_manager=cert_manager), now=NOW)
        if o["kind"] == "ValidatingWebhookConfiguration"
    )["webhooks"][0]
    for field in (
        "rules",
        "namespaceSelector",
        "sideEffects",
        "matchPolicy",
        "timeoutSeconds",
        "admissionReviewVersions",
    ):
        assert chart_hook[field] == install_hook[field], field
    kinds = {d["kind"] for d in docs}
    assert ("MutatingWebhookConfiguration" in kinds) is mutate
    assert ("Certificate" in kinds) is cert_manager
    policy = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["policy.yaml"]
    from wharfinger.policy import load_policies

    assert load_policies(policy).policies[0].name == "baseline"
