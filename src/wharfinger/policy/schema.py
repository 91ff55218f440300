"""The OpenAPI v3 schema of ``ClusterImagePolicy`` and ``ImagePolicy``: one source for the CRDs and for validation.

``spec_schema()`` is what ``deploy/crds/`` publishes (structural, as Kubernetes requires).
``document_schema(strict=True)`` adds ``additionalProperties: false`` everywhere, so
``wharfinger policy validate`` reports a misspelt field at its line instead of ignoring it,
as the API server's pruning would.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["API_GROUP", "API_VERSION", "KINDS", "crd_manifest", "document_schema", "spec_schema"]

API_GROUP = "wharfinger.io"
API_VERSION = f"{API_GROUP}/v1alpha1"
KINDS = ("ClusterImagePolicy", "ImagePolicy")

_STR: dict[str, Any] = {"type": "string"}
_STR_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}
_NAME: dict[str, Any] = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
_LABELS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}


def _selector() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "matchLabels": _LABELS,
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string", "minLength": 1},
                        "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": _STR_LIST,
                    },
                },
            },
        },
    }


def _authority() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "description": "One trust authority: exactly one of notary, cosign, keyless.",
        "properties": {
            "name": _NAME,
            "notary": {
                "type": "object",
                "required": ["trustPolicy"],
                "properties": {
                    "trustPolicy": {"type": "string", "minLength": 1, "description": "trust policy name"},
                    "trustStores": _STR_LIST,
                },
            },
            "cosign": {
                "type": "object",
                "required": ["publicKey"],
                "properties": {"publicKey": {"type": "string", "minLength": 1, "description": "key ref or PEM"}},
            },
            "keyless": {
                "type": "object",
                "required": ["issuer"],
                "properties": {"issuer": _STR, "subject": _STR, "subjectRegExp": _STR},
            },
        },
    }


def _condition() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["path"],
        "description": "A dotted path into the predicate and one test: equals, in, matches or exists.",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "equals": {"x-kubernetes-preserve-unknown-fields": True},
            "in": {"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": True}},
            "matches": _STR,
            "exists": {"type": "boolean"},
        },
    }


_SEVERITY: dict[str, Any] = {"type": "string", "enum": ["negligible", "low", "medium", "high", "critical"]}


def _rule() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "description": "A named rule with exactly one check.",
        "properties": {
            "name": _NAME,
            "static": {"type": "string", "enum": ["allow", "deny"]},
            "requireDigest": {"type": "boolean"},
            "denyLatest": {"type": "boolean"},
            "registries": {"type": "object", "required": ["allow"], "properties": {"allow": _STR_LIST}},
            "signatures": {
                "type": "object",
                "required": ["authorities"],
                "properties": {
                    "require": {"type": "string", "enum": ["any", "all", "threshold"]},
                    "threshold": {"type": "integer", "minimum": 1},
                    "authorities": {"type": "array", "items": _authority()},
                },
            },
            "attestations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["predicateType"],
                    "properties": {
                        "predicateType": {"type": "string", "minLength": 1},
                        "conditions": {"type": "array", "items": _condition()},
                    },
                },
            },
            "vulnerabilities": {
                "type": "object",
                "properties": {
                    "maxSeverity": _SEVERITY,
                    "ignoreUnfixed": {"type": "boolean"},
                    "maxScanAgeHours": {"type": "integer", "minimum": 1},
                    "onMissingScan": {"type": "string", "enum": ["deny", "warn", "allow"]},
                },
            },
        },
    }


def spec_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["rules"],
        "properties": {
            "mode": {"type": "string", "enum": ["enforce", "warn", "audit"]},
            "failurePolicy": {"type": "string", "enum": ["closed", "open"]},
            "match": {
                "type": "object",
                "properties": {
                    "namespaces": _STR_LIST,
                    "excludeNamespaces": _STR_LIST,
                    "namespaceSelector": _selector(),
                    "objectSelector": _selector(),
                    "kinds": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": [
                                "Pod",
                                "Deployment",
                                "ReplicaSet",
                                "StatefulSet",
                                "DaemonSet",
                                "Job",
                                "CronJob",
                                "ReplicationController",
                            ],
                        },
                    },
                    "images": _STR_LIST,
                    "excludeImages": _STR_LIST,
                    "registries": _STR_LIST,
                },
            },
            "rules": {"type": "array", "items": _rule()},
            "exceptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "reason", "approver", "expires"],
                    "properties": {
                        "name": _NAME,
                        "images": _STR_LIST,
                        "namespaces": _STR_LIST,
                        "vulnerabilities": _STR_LIST,
                        "rules": _STR_LIST,
                        "reason": {"type": "string", "minLength": 1},
                        "approver": {"type": "string", "minLength": 1},
                        "expires": {"type": "string", "format": "date-time"},
                    },
                },
            },
            "breakGlass": {
                "type": "object",
                "properties": {
                    "allowedUsers": _STR_LIST,
                    "allowedGroups": _STR_LIST,
                    "allowedNamespaces": _STR_LIST,
                    "maxDurationHours": {"type": "integer", "minimum": 1, "maximum": 168},
                },
            },
        },
    }


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def document_schema(*, strict: bool = True) -> dict[str, Any]:
    """The whole YAML document (apiVersion, kind, metadata, spec) as JSON Schema."""
    schema = {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": [API_VERSION]},
            "kind": {"type": "string", "enum": list(KINDS)},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _NAME, "namespace": _NAME, "labels": _LABELS, "annotations": _LABELS},
            },
            "spec": spec_schema(),
        },
    }
    return _strict(copy.deepcopy(schema)) if strict else schema


def crd_manifest(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition for ``ClusterImagePolicy`` or ``ImagePolicy``."""
    plural = kind.lower()[:-1] + "ies"  # both kinds end in "Policy"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": ["cip" if kind == "ClusterImagePolicy" else "ip"],
                "categories": ["wharfinger"],
            },
            "scope": "Cluster" if kind == "ClusterImagePolicy" else "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": [
                        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": _STR,
                                "kind": _STR,
                                "metadata": {"type": "object"},
                                "spec": spec_schema(),
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }
