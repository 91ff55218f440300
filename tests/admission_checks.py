"""Checks every admission test applies to a webhook reply."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "admission"
# the same resolution as the shared_dir fixture in tests/conftest.py (needed at collection time)
SHARED = Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared")).resolve()
RESPONSE_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((DATA / "admissionreview-response.schema.json").read_text())
)


def assert_review(body: dict[str, Any], uid: str) -> dict[str, Any]:
    """The reply is a schema-valid AdmissionReview answering ``uid``; return its response."""
    RESPONSE_SCHEMA.validate(body)
    assert body["response"]["uid"] == uid
    response: dict[str, Any] = body["response"]
    return response
