"""Checks every admission test applies to a webhook reply."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from testkit.shared import ROOT, SHARED  # one resolution for fixtures and tables

__all__ = ["DATA", "RESPONSE_SCHEMA", "SHARED", "assert_review"]

DATA = ROOT / "tests" / "data" / "admission"
RESPONSE_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((DATA / "admissionreview-response.schema.json").read_text())
)


def assert_review(body: dict[str, Any], uid: str) -> dict[str, Any]:
    """The reply is a schema-valid AdmissionReview answering ``uid``; return its response."""
    RESPONSE_SCHEMA.validate(body)
    assert body["response"]["uid"] == uid
    response: dict[str, Any] = body["response"]
    return response
