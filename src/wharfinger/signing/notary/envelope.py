"""What both envelope formats share: limits, the payload, the raw decoded form, the parse error."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wharfinger.errors import SignatureEnvelopeError
from wharfinger.signing.notary.model import (
    EnvelopeMediaType,
    FailureReason,
    TargetDescriptor,
)

__all__ = [
    "DEFAULT_LIMITS",
    "EnvelopeLimits",
    "InvalidEnvelopeError",
    "RawEnvelope",
    "canonical_payload",
    "check_size",
    "malformed",
    "parse_payload",
    "strict_json_loads",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvelopeLimits:
    max_envelope_bytes: int = 1024 * 1024  # bytes; real envelopes with a TSA token are < 20 KiB
    max_certificates: int = 10  # certificates in x5c/x5chain; real chains have 1-4
    max_payload_bytes: int = 64 * 1024  # bytes; a descriptor with annotations


DEFAULT_LIMITS = EnvelopeLimits()


class InvalidEnvelopeError(SignatureEnvelopeError):
    """An envelope broke a rule; ``reason`` says which kind of rule."""

    def __init__(self, message: str, *, reason: FailureReason, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


def malformed(message: str) -> InvalidEnvelopeError:
    return InvalidEnvelopeError(
        message,
        reason=FailureReason.MALFORMED_ENVELOPE,
        hint="the signature blob is not a valid Notary Project envelope; re-sign the artifact",
    )


_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


def parse_payload(payload: bytes, limits: EnvelopeLimits = DEFAULT_LIMITS) -> TargetDescriptor:
    """Read ``{"targetArtifact": descriptor}``; the descriptor must have mediaType, digest and size."""
    if len(payload) > limits.max_payload_bytes:
        raise malformed(f"payload of {len(payload)} bytes exceeds the {limits.max_payload_bytes}-byte limit")
    doc = strict_json_loads(payload, what="payload")
    if not isinstance(doc, dict) or not isinstance(doc.get("targetArtifact"), dict):
        raise malformed("payload has no targetArtifact object")
    target: dict[str, Any] = doc["targetArtifact"]
    media_type, digest, size = target.get("mediaType"), target.get("digest"), target.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise malformed("payload targetArtifact has no mediaType")
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise malformed(f"payload targetArtifact digest {digest!r} is not a digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise malformed(f"payload targetArtifact size {size!r} is not a non-negative integer")
    annotations = target.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise malformed("payload targetArtifact annotations must map strings to strings")
    artifact_type = target.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise malformed("payload targetArtifact artifactType must be a string")
    return TargetDescriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        annotations=tuple(sorted(annotations.items())),
        artifact_type=artifact_type,
    )


def canonical_payload(target: TargetDescriptor) -> bytes:
    """The payload bytes we sign: compact JSON, keys sorted (what Notation itself emits)."""
    descriptor: dict[str, object] = {"digest": target.digest, "mediaType": target.media_type, "size": target.size}
    if target.annotations:
        descriptor["annotations"] = dict(target.annotations)
    if target.artifact_type:
        descriptor["artifactType"] = target.artifact_type
    return json.dumps({"targetArtifact": descriptor}, sort_keys=True, separators=(",", ":")).encode()


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise malformed(f"duplicate JSON member {key!r}: parsers could disagree on its value")
        result[key] = value
    return result


def strict_json_loads(data: bytes, *, what: str) -> Any:
    try:
        return json.loads(data, object_pairs_hook=_reject_duplicates)
    except InvalidEnvelopeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise malformed(f"{what} is not valid JSON: {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class RawEnvelope:
    """What a wire format decoded, before the Notary Project rules are applied."""

    media_type: EnvelopeMediaType
    algorithm_name: str
    content_type: object
    critical: object
    protected: Mapping[str, object]  # notary and extended headers (registered ones removed)
    times: Mapping[str, datetime | None]  # signingTime / authenticSigningTime / expiry, decoded by the format
    payload: bytes
    certificate_chain: tuple[bytes, ...]
    signing_agent: str | None
    timestamp_token: bytes | None
    signature: bytes
    signed_bytes: bytes


def check_size(data: bytes, limits: EnvelopeLimits) -> None:
    if len(data) > limits.max_envelope_bytes:
        raise InvalidEnvelopeError(
            f"signature envelope of {len(data)} bytes exceeds the {limits.max_envelope_bytes}-byte limit",
            reason=FailureReason.OVERSIZED_ENVELOPE,
            hint="real Notary Project envelopes are a few KiB; this blob is hostile or not a signature",
        )
