"""AdmissionReview parsing: every workload kind, every container list, hostile envelopes."""

from __future__ import annotations

import json

import pytest

from admission_reviews import GROUPS, review, workload
from wharfinger.policy.request import MalformedReviewError, parse_review


@pytest.mark.parametrize("kind", sorted(GROUPS))
def test_every_workload_kind(kind: str) -> None:
    req = parse_review(review(workload(kind, "ghcr.io/a/b:1", init=("busybox:1",))))
    assert req.problem == ""
    assert req.images == ("ghcr.io/a/b:1", "busybox:1")
    assert all(c.pointer.endswith("/image") for c in req.containers)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"null", 400, "not an AdmissionReview object"),
        (b"[]", 400, "not an AdmissionReview object"),
        (b'{"kind": "Pod", "apiVersion": "admission.k8s.io/v1"}', 400, "kind is 'Pod'"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v2"}', 400, "not supported"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}', 400, "no request"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {"uid": 5}}', 400, "no uid"),
        (b" " * (7 * 1024 * 1024), 413, "over the"),
        (b"\xff\xfe", 400, "not valid JSON"),
    ],
)
def test_malformed_envelopes(body: bytes, status: int, message: str) -> None:
    with pytest.raises(MalformedReviewError) as info:
        parse_review(body)
    assert info.value.http_status == status
    assert message in info.value.message
    assert info.value.hint


def _with(**changes: object) -> bytes:
    doc = json.loads(review(workload("Pod", "nginx:1")))
    doc["request"].update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"kind": {"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "Role"}}, "not a workload"),
        ({"kind": {"group": "evil.io", "version": "v1", "kind": "Pod"}}, "not a Kubernetes workload"),
        ({"object": None}, "no object"),
        ({"object": {"kind": "Deployment", "spec": {}}}, "its object is a 'Deployment'"),
        ({"object": {"kind": "Pod", "spec": {"containers": "x"}}}, "not a list"),
        ({"object": {"kind": "Pod", "spec": {"containers": [{"name": "a"}]}}}, "has no image"),
        ({"object": {"kind": "Pod", "spec": {}}}, "no containers"),
        ({"operation": "PATCH"}, "unknown operation"),
        ({"operation": "UPDATE", "oldObject": None}, "no oldObject"),
    ],
)
def test_uncheckable_requests_carry_a_problem(changes: dict[str, object], problem: str) -> None:
    req = parse_review(_with(**changes))
    assert problem in req.problem


def test_ephemeral_containers_subresource() -> None:
    obj = workload("Pod", "nginx:1")
    obj["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox:1.36"}]
    doc = json.loads(review(obj, operation="UPDATE", old=workload("Pod", "nginx:1")))
    doc["request"]["subResource"] = "ephemeralcontainers"
    req = parse_review(json.dumps(doc).encode())
    assert req.sub_resource == "ephemeralcontainers"
    assert req.images_changed
    assert req.containers[-1].pointer == "/spec/ephemeralContainers/0/image"
