"""Build real AdmissionReview v1 JSON for tests, the way the API server wraps an object."""

from __future__ import annotations

import json
import uuid
from typing import Any

GROUPS = {
    "Pod": ("", "v1", "pods"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
}


def pod_spec(*images: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": img} for i, img in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": img} for i, img in enumerate(init)]
    return spec


def workload(
    kind: str,
    *images: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    name: str = "web",
    namespace: str = "team-a",
    init: tuple[str, ...] = (),
) -> dict[str, Any]:
    group, version, _ = GROUPS[kind]
    spec = pod_spec(*images, init=init)
    meta = {"name": name, "namespace": namespace, "labels": labels or {}, "annotations": annotations or {}}
    if kind == "Pod":
        body: dict[str, Any] = {"spec": spec}
    elif kind == "CronJob":
        body = {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    else:
        body = {"spec": {"template": {"metadata": {"labels": labels or {}}, "spec": spec}}}
    return {"apiVersion": f"{group}/{version}" if group else version, "kind": kind, "metadata": meta, **body}


def review(
    obj: dict[str, Any],
    *,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    user: str = "dev@acme",
    groups: tuple[str, ...] = ("system:authenticated",),
    dry_run: bool = False,
    uid: str | None = None,
) -> bytes:
    group, version, resource = GROUPS[obj["kind"]]
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    request: dict[str, Any] = {
        "uid": uid or str(uuid.uuid4()),
        "kind": gvk,
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": gvk,
        "namespace": obj["metadata"]["namespace"],
        "name": obj["metadata"]["name"],
        "operation": operation,
        "userInfo": {"username": user, "groups": list(groups)},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
    }
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()
