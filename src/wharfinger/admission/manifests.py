"""What ``wharfinger admission install`` prints: every object needed to run the webhook on a cluster.

The webhook configuration excludes ``kube-system`` and the webhook's own namespace (so a broken
webhook can never block its own repair), uses ``sideEffects: None`` and ``matchPolicy:
Equivalent`` (deployments reached through other API versions are still checked), and a timeout
the webhook's time budget stays below. The Deployment runs two replicas with a
PodDisruptionBudget, as non-root with a read-only root filesystem and resource limits.
Certificates come from a self-signed CA made here, or from cert-manager.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wharfinger.policy.schema import KINDS, crd_manifest

__all__ = ["InstallOptions", "render_install", "self_signed_pair"]

_WORKLOAD_RULES = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "resources": ["pods", "pods/ephemeralcontainers", "replicationcontrollers"],
    },
    {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
    },
    {"apiGroups": ["batch"], "apiVersions": ["v1"], "resources": ["jobs", "cronjobs"]},
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallOptions:
    namespace: str = "wharfinger-system"
    name: str = "wharfinger-admission"
    image: str = "ghcr.io/wharfinger/wharfinger:latest"
    replicas: int = 2
    timeout_seconds: int = 10  # the API server's timeout; the webhook decides within 80 % of it
    failure_policy: str = "Fail"  # what the API server does when the webhook cannot answer at all
    mutate: bool = False
    cert_manager: bool = False
    policy_yaml: str = ""  # the policy documents to ship in the ConfigMap
    with_crds: bool = True
    dry_run: bool = False


def self_signed_pair(service_host: str, *, now: dt.datetime, days: int = 365) -> tuple[bytes, bytes, bytes]:
    """(CA cert PEM, server cert PEM, server key PEM) for ``service_host`` (the Service DNS name)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wharfinger admission CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName(service_host),
        x509.DNSName(service_host.split(".svc", maxsplit=1)[0]),
    ]
    with contextlib.suppress(ValueError):  # a host name, not an IP address: DNS names only
        names.append(x509.IPAddress(ipaddress.ip_address(service_host)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service_host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return (
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def _labels(options: InstallOptions) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "wharfinger",
        "app.kubernetes.io/component": "admission",
        "app.kubernetes.io/instance": options.name,
    }


def _webhook(options: InstallOptions, *, kind: str, path: str, ca_bundle: str) -> dict[str, Any]:
    name = f"{'validate' if kind.startswith('Validating') else 'mutate'}.wharfinger.io"
    client: dict[str, Any] = {
        "service": {"name": options.name, "namespace": options.namespace, "path": path, "port": 443}
    }
    if ca_bundle:
        client["caBundle"] = ca_bundle
    hook: dict[str, Any] = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": client,
        "rules": [{**rule, "operations": ["CREATE", "UPDATE"], "scope": "*"} for rule in _WORKLOAD_RULES],
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system", options.namespace],
                }
            ]
        },
        "sideEffects": "None",
        "matchPolicy": "Equivalent",
        "timeoutSeconds": options.timeout_seconds,
        "failurePolicy": options.failure_policy,
    }
    if kind.startswith("Mutating"):
        hook["reinvocationPolicy"] = "IfNeeded"
    metadata: dict[str, Any] = {"name": options.name, "labels": _labels(options)}
    if options.cert_manager:
        metadata["annotations"] = {"cert-manager.io/inject-ca-from": f"{options.namespace}/{options.name}"}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": metadata, "webhooks": [hook]}


def render_install(options: InstallOptions, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Every object, in apply order."""
    ns, name, labels = options.namespace, options.name, _labels(options)
    service_host = f"{name}.{ns}.svc"
    objects: list[dict[str, Any]] = []
    if options.with_crds:
        objects.extend(crd_manifest(kind) for kind in KINDS)
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    objects.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "labels": labels}}
    )
    objects.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
                {
                    "apiGroups": ["wharfinger.io"],
                    "resources": ["clusterimagepolicies", "imagepolicies"],
                    "verbs": ["get", "list", "watch"],
                },
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        }
    )
    objects.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-policy", "namespace": ns, "labels": labels},
            "data": {"policy.yaml": options.policy_yaml or _DEFAULT_POLICY},
        }
    )
    ca_bundle = ""
    if options.cert_manager:
        objects.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": {"name": f"{name}-selfsigned", "namespace": ns},
                "spec": {"selfSigned": {}},
            }
        )
        objects.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "secretName": f"{name}-tls",
                    "dnsNames": [service_host, f"{name}.{ns}"],
                    "issuerRef": {"name": f"{name}-selfsigned", "kind": "Issuer"},
                    "duration": "2160h",
                    "renewBefore": "360h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
            }
        )
    else:
        ca, cert, key = self_signed_pair(service_host, now=now)
        ca_bundle = base64.b64encode(ca).decode()
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": f"{name}-tls", "namespace": ns, "labels": labels},
                "data": {
                    "tls.crt": base64.b64encode(cert).decode(),
                    "tls.key": base64.b64encode(key).decode(),
                    "ca.crt": ca_bundle,
                },
            }
        )
    args = [
        "admission",
        "serve",
        "--policy",
        "/etc/wharfinger/policy",
        "--tls-cert",
        "/etc/wharfinger/tls/tls.crt",
        "--tls-key",
        "/etc/wharfinger/tls/tls.key",
        "--timeout-seconds",
        str(options.timeout_seconds),
        "--audit-log",
        "/var/log/wharfinger/audit.jsonl",
        "--port",
        "8443",
    ]
    if options.mutate:
        args.append("--mutate")
    if options.dry_run:
        args.append("--dry-run")
    probe = {"scheme": "HTTPS", "port": 8443}
    objects.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "replicas": options.replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": True,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 65532,
                            "runAsGroup": 65532,
                            "fsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": labels},
                            }
                        ],
                        "containers": [
                            {
                                "name": "webhook",
                                "image": options.image,
                                "args": ["--log-format", "json", *args],
                                "ports": [{"name": "https", "containerPort": 8443}],
                                "readinessProbe": {"httpGet": {**probe, "path": "/readyz"}, "periodSeconds": 5},
                                "livenessProbe": {"httpGet": {**probe, "path": "/healthz"}, "periodSeconds": 10},
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [
                                    {"name": "policy", "mountPath": "/etc/wharfinger/policy", "readOnly": True},
                                    {"name": "tls", "mountPath": "/etc/wharfinger/tls", "readOnly": True},
                                    {"name": "audit", "mountPath": "/var/log/wharfinger"},
                                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 -- a private in-memory emptyDir,
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "policy", "configMap": {"name": f"{name}-policy"}},
                            {"name": "tls", "secret": {"secretName": f"{name}-tls"}},
                            {"name": "audit", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                        ],
                    },
                },
            },
        }
    )
    objects.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": 8443}]},
        }
    )
    objects.append(_webhook(options, kind="ValidatingWebhookConfiguration", path="/validate", ca_bundle=ca_bundle))
    if options.mutate:
        objects.append(_webhook(options, kind="MutatingWebhookConfiguration", path="/mutate", ca_bundle=ca_bundle))
    return objects


_DEFAULT_POLICY = """\
# Start in audit mode: nothing is blocked, every decision is logged (`wharfinger audit report`).
apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: baseline
spec:
  mode: audit
  rules:
    - name: no-latest
      denyLatest: true
"""
