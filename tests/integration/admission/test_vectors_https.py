"""Every connaisseur AdmissionReview over HTTPS to the real webhook process, as the API server sends it."""

from __future__ import annotations

import base64
import json

import pytest

from admission_checks import SHARED, assert_review
from admission_server import WebhookServer

FOLDER = SHARED / "vectors" / "admission" / "connaisseur" / "test" / "testdata" / "admission_requests"
EXPECTED = {e["path"]: e for e in json.loads((SHARED / "vectors" / "expected.json").read_text())}
FILES = sorted(FOLDER.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_vector_over_https(vectors_server: WebhookServer, path) -> None:  # type: ignore[no-untyped-def]
    entry = EXPECTED.get(str(path.relative_to(SHARED / "vectors")))
    with vectors_server.client() as client:
        reply = client.post("/validate", content=path.read_bytes(), headers={"Content-Type": "application/json"})
    if entry and "HTTP 400" in entry["reason"]:
        assert reply.status_code == 400
        assert reply.json()["error"]
        return
    assert reply.status_code == 200, reply.text
    document = json.loads(path.read_text())
    response = assert_review(reply.json(), document["request"]["uid"])
    assert reply.json()["apiVersion"] == document["apiVersion"]
    if entry is not None:
        assert response["allowed"] is (entry["expected"] == "valid"), response
    if not response["allowed"]:
        assert response["status"]["code"] == 403
        assert "Fix:" in response["status"]["message"]
    assert response["auditAnnotations"]["decision"]


def test_mutate_pins_the_verified_deployment_and_keeps_the_original(vectors_server: WebhookServer) -> None:
    body = (FOLDER / "01_deployment.json").read_bytes()
    with vectors_server.client() as client:
        reply = client.post("/mutate", content=body, headers={"Content-Type": "application/json"})
    response = assert_review(reply.json(), json.loads(body)["request"]["uid"])
    patch = json.loads(base64.b64decode(response["patch"]))
    assert patch[0] == {
        "op": "replace",
        "path": "/spec/template/spec/containers/0/image",
        "value": "securesystemsengineering/alice-image:test@sha256:"
        "1234567890123456123456789012345612345678901234561234567890123456",
    }
    original = json.loads(patch[1]["value"]["wharfinger.io/original-images"])
    assert original == {"/spec/template/spec/containers/0/image": "securesystemsengineering/alice-image:test"}


@pytest.mark.parametrize("name", ["04_cronjob.json", "23_alice_digest_dpl.json", "18_allow_me_pod.json"])
def test_mutate_never_pins_unverified_or_already_pinned(vectors_server: WebhookServer, name: str) -> None:
    body = (FOLDER / name).read_bytes()
    with vectors_server.client() as client:
        reply = client.post("/mutate", content=body, headers={"Content-Type": "application/json"})
    response = assert_review(reply.json(), json.loads(body)["request"]["uid"])
    assert response["allowed"] is True
    assert "patch" not in response
