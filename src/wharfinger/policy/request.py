"""AdmissionReview v1 (and v1beta1) requests, parsed into a value the engine can judge (pure).

Two kinds of bad input, two answers:

* The envelope cannot be read (not JSON, ``null``, not an ``AdmissionReview``, an unknown
  ``apiVersion``, no ``request.uid``): ``MalformedReviewError``. Without a uid there is no
  AdmissionReview to answer, so the webhook replies HTTP 400 with the explanation.
* The envelope is fine but its request is not something we can check (a ``Role``, a Pod
  without an object): ``parse_review`` still returns an ``AdmissionRequest`` whose
  ``problem`` says why, and the engine denies it with that explanation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from wharfinger.errors import InputError

__all__ = [
    "SUPPORTED_REVIEW_VERSIONS",
    "AdmissionRequest",
    "Container",
    "ContainerKind",
    "MalformedReviewError",
    "Operation",
    "WorkloadKind",
    "parse_review",
    "parse_workload",
    "request_from_object",
]

SUPPORTED_REVIEW_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
MAX_REVIEW_BYTES = 6 * 1024 * 1024  # bytes: object + oldObject of the largest object etcd stores (1.5 MiB each), JSON


class MalformedReviewError(InputError):
    """The body is not an AdmissionReview we can answer (the webhook replies HTTP 400)."""

    def __init__(self, message: str, *, hint: str | None = None, http_status: int = 400) -> None:
        super().__init__(message, hint=hint)
        self.http_status = http_status


class WorkloadKind(StrEnum):
    POD = "Pod"
    DEPLOYMENT = "Deployment"
    REPLICA_SET = "ReplicaSet"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"
    JOB = "Job"
    CRON_JOB = "CronJob"
    REPLICATION_CONTROLLER = "ReplicationController"


# where the pod spec sits inside each workload: the JSON path, as keys
_POD_SPEC_PATH: Mapping[WorkloadKind, tuple[str, ...]] = {
    WorkloadKind.POD: ("spec",),
    WorkloadKind.DEPLOYMENT: ("spec", "template", "spec"),
    WorkloadKind.REPLICA_SET: ("spec", "template", "spec"),
    WorkloadKind.STATEFUL_SET: ("spec", "template", "spec"),
    WorkloadKind.DAEMON_SET: ("spec", "template", "spec"),
    WorkloadKind.JOB: ("spec", "template", "spec"),
    WorkloadKind.REPLICATION_CONTROLLER: ("spec", "template", "spec"),
    WorkloadKind.CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
_EXPECTED_GROUP: Mapping[WorkloadKind, tuple[str, ...]] = {
    WorkloadKind.POD: ("",),
    WorkloadKind.REPLICATION_CONTROLLER: ("",),
    WorkloadKind.DEPLOYMENT: ("apps", "extensions"),
    WorkloadKind.REPLICA_SET: ("apps", "extensions"),
    WorkloadKind.STATEFUL_SET: ("apps",),
    WorkloadKind.DAEMON_SET: ("apps", "extensions"),
    WorkloadKind.JOB: ("batch",),
    WorkloadKind.CRON_JOB: ("batch",),
}


class ContainerKind(StrEnum):
    CONTAINER = "containers"
    INIT = "initContainers"
    EPHEMERAL = "ephemeralContainers"


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    name: str
    image: str
    kind: ContainerKind
    pointer: str  # JSON pointer to the image field, for a mutating patch: /spec/template/spec/containers/0/image


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmissionRequest:
    uid: str
    review_version: str  # the AdmissionReview apiVersion to answer with
    kind: str  # request.kind.kind: "Deployment"
    group: str = ""
    operation: Operation = Operation.CREATE
    sub_resource: str = ""
    namespace: str = ""
    name: str = ""
    username: str = ""
    groups: tuple[str, ...] = ()
    is_dry_run: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    containers: tuple[Container, ...] = ()
    old_images: tuple[str, ...] | None = None  # UPDATE: the images before; None for CREATE
    is_being_deleted: bool = False  # object.metadata.deletionTimestamp is set
    was_being_deleted: bool = False  # oldObject.metadata.deletionTimestamp is set
    problem: str = ""  # non-empty: the request cannot be checked, and this says why

    @property
    def workload(self) -> WorkloadKind | None:
        try:
            return WorkloadKind(self.kind)
        except ValueError:
            return None

    @property
    def images(self) -> tuple[str, ...]:
        """Distinct images in order of appearance (containers, then init, then ephemeral)."""
        return tuple(dict.fromkeys(c.image for c in self.containers))

    @property
    def images_changed(self) -> bool:
        return self.old_images is None or sorted(set(self.old_images)) != sorted(set(self.images))

    @property
    def owner_label(self) -> str:
        return self.labels.get("owner") or self.labels.get("team") or self.labels.get("app.kubernetes.io/part-of", "")


def _mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _string_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float | bool)}


def _pod_spec(obj: Mapping[str, Any], kind: WorkloadKind) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = obj
    for key in _POD_SPEC_PATH[kind]:
        node = _mapping(node.get(key)) if node is not None else None
    return node


def _containers(spec: Mapping[str, Any], prefix: str) -> tuple[list[Container], str]:
    found: list[Container] = []
    for kind in ContainerKind:
        items = spec.get(kind.value)
        if items is None:
            continue
        if not isinstance(items, list):
            return [], f"{prefix}/{kind.value} is not a list"
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("image"), str) or not item["image"]:
                return [], f"{prefix}/{kind.value}/{index} has no image"
            found.append(
                Container(
                    name=str(item.get("name", "")),
                    image=item["image"],
                    kind=kind,
                    pointer=f"{prefix}/{kind.value}/{index}/image",
                )
            )
    return found, ""


def parse_workload(obj: Mapping[str, Any], kind: WorkloadKind) -> tuple[tuple[Container, ...], str]:
    """The containers of a workload object, or a problem saying why there are none to check."""
    spec = _pod_spec(obj, kind)
    if spec is None:
        return (), f"the {kind.value} has no pod spec at {'.'.join(_POD_SPEC_PATH[kind])}"
    prefix = "/" + "/".join(_POD_SPEC_PATH[kind])
    containers, problem = _containers(spec, prefix)
    if not problem and not any(c.kind is ContainerKind.CONTAINER for c in containers) and kind is not None:
        problem = f"the {kind.value} has no containers"
    return tuple(containers), problem


def parse_review(body: bytes) -> AdmissionRequest:
    """Parse an AdmissionReview body; raise ``MalformedReviewError`` when there is no uid to answer."""
    if len(body) > MAX_REVIEW_BYTES:
        raise MalformedReviewError(
            f"the AdmissionReview is {len(body)} bytes, over the {MAX_REVIEW_BYTES}-byte limit",
            hint="the API server never sends objects this large; check what is calling the webhook",
            http_status=413,
        )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedReviewError(
            f"the body is not valid JSON ({exc})", hint="send an AdmissionReview v1 JSON document"
        ) from exc
    review = _mapping(document)
    if review is None:
        raise MalformedReviewError(
            f"the body is JSON {type(document).__name__}, not an AdmissionReview object",
            hint="send an AdmissionReview v1 JSON document",
        )
    if review.get("kind") != "AdmissionReview":
        raise MalformedReviewError(
            f"the body's kind is {review.get('kind')!r}, not 'AdmissionReview'",
            hint="the webhook only answers AdmissionReview requests from the API server",
        )
    version = review.get("apiVersion")
    if version not in SUPPORTED_REVIEW_VERSIONS:
        raise MalformedReviewError(
            f"AdmissionReview apiVersion {version!r} is not supported",
            hint="set admissionReviewVersions: [v1] in the webhook configuration",
        )
    request = _mapping(review.get("request"))
    if request is None:
        raise MalformedReviewError("the AdmissionReview has no request", hint="send request with uid, kind and object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise MalformedReviewError(
            "the AdmissionReview request has no uid, so no response can be matched to it",
            hint="the API server always sets request.uid; check what is calling the webhook",
        )
    return _parse_request(request, uid=uid, version=str(version))


def _parse_request(request: Mapping[str, Any], *, uid: str, version: str) -> AdmissionRequest:
    kind_block = _mapping(request.get("kind")) or {}
    kind = str(kind_block.get("kind", ""))
    group = str(kind_block.get("group", ""))
    user = _mapping(request.get("userInfo")) or {}
    groups = user.get("groups")
    try:
        operation = Operation(str(request.get("operation", "")))
    except ValueError:
        operation = Operation.CREATE
        problem_operation = f"unknown operation {request.get('operation')!r}"
    else:
        problem_operation = ""
    obj = _mapping(request.get("object"))
    metadata = _mapping(obj.get("metadata")) if obj else None
    head = AdmissionRequest(
        uid=uid,
        review_version=version,
        kind=kind,
        group=group,
        operation=operation,
        sub_resource=str(request.get("subResource") or ""),
        namespace=str(request.get("namespace") or (metadata or {}).get("namespace") or ""),
        name=str(request.get("name") or (metadata or {}).get("name") or ""),
        username=str(user.get("username", "")),
        groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        is_dry_run=request.get("dryRun") is True,
        labels=_string_map((metadata or {}).get("labels")),
        annotations=_string_map((metadata or {}).get("annotations")),
        is_being_deleted=bool((metadata or {}).get("deletionTimestamp")),
    )
    if problem_operation:
        return replace(head, problem=problem_operation)
    try:
        workload = WorkloadKind(kind)
    except ValueError:
        shown = kind or "(none)"
        return replace(head, problem=f"kind {shown!r} is not a workload Wharfinger checks")
    if group not in _EXPECTED_GROUP[workload]:
        return replace(head, problem=f"kind {kind!r} in API group {group!r} is not a Kubernetes workload")
    if obj is None:
        return replace(head, problem="the request carries no object to check")
    if obj.get("kind") not in {None, kind}:
        return replace(head, problem=f"the request says kind {kind!r} but its object is a {obj.get('kind')!r}")
    containers, problem = parse_workload(obj, workload)
    old_images: tuple[str, ...] | None = None
    was_deleting = False
    if operation is Operation.UPDATE:
        old = _mapping(request.get("oldObject"))
        if old is None or not old:
            problem = problem or "the UPDATE request carries no oldObject"
        else:
            old_containers, _ = parse_workload(old, workload)
            old_images = tuple(c.image for c in old_containers)
            was_deleting = bool((_mapping(old.get("metadata")) or {}).get("deletionTimestamp"))
    return replace(
        head,
        containers=containers,
        old_images=old_images,
        was_being_deleted=was_deleting,
        problem=problem,
    )


def request_from_object(obj: Mapping[str, Any], *, uid: str = "") -> AdmissionRequest:
    """A CREATE request for a stored object (``kubectl get -o json`` items): what admitting it again would face."""
    metadata = _mapping(obj.get("metadata")) or {}
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    request = {
        "uid": uid or f"{metadata.get('namespace', '')}/{obj.get('kind', '')}/{metadata.get('name', '')}",
        "kind": {"group": group, "version": api_version.rpartition("/")[2], "kind": obj.get("kind", "")},
        "operation": "CREATE",
        "namespace": metadata.get("namespace", ""),
        "name": metadata.get("name", ""),
        "object": obj,
    }
    return _parse_request(request, uid=request["uid"], version=SUPPORTED_REVIEW_VERSIONS[0])
