"""JWS JSON serialization (``application/jose+json``) of Notary Project signatures.

Decoding is strict where parsers could disagree: base64url without padding, no duplicate JSON
members, only the flattened serialization with one signature. Encoding emits what Notation emits:
compact JSON with sorted keys, ``x5c`` in standard base64.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from wharfinger.signing.notary.envelope import (
    DEFAULT_LIMITS,
    EnvelopeLimits,
    RawEnvelope,
    check_size,
    malformed,
    strict_json_loads,
)
from wharfinger.signing.notary.model import (
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_AGENT,
    HEADER_SIGNING_TIME,
    HEADER_TIMESTAMP_SIGNATURE,
    EnvelopeMediaType,
)

__all__ = ["b64url_decode", "b64url_encode", "decode_jws", "encode_jws", "format_time"]

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_REGISTERED = frozenset({"alg", "cty", "crit", "typ", "kid", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"})
_TIME_HEADERS = (HEADER_SIGNING_TIME, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY)
_ALLOWED_TOP_LEVEL = frozenset({"payload", "protected", "header", "signature"})


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: object, *, what: str) -> bytes:
    """Base64url without padding, as RFC 7515 requires; any other character is an error."""
    if not isinstance(value, str) or not _B64URL_RE.match(value) or len(value) % 4 == 1:
        raise malformed(f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise malformed(f"{what} is not base64url: {exc}") from exc


def _b64std_decode(value: object, *, what: str) -> bytes:
    if not isinstance(value, str):
        raise malformed(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed(f"{what} is not base64: {exc}") from exc


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC without fractional seconds (the spec says they SHOULD NOT be used)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object, *, name: str) -> datetime:
    if not isinstance(value, str):
        raise malformed(f"header {name!r} must be an RFC 3339 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise malformed(f"header {name!r} value {value!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None or "T" not in value.upper():
        raise malformed(f"header {name!r} value {value!r} has no time zone; RFC 3339 requires one")
    return moment.astimezone(UTC)


def decode_jws(data: bytes, limits: EnvelopeLimits = DEFAULT_LIMITS) -> RawEnvelope:
    check_size(data, limits)
    doc = strict_json_loads(data, what="JWS envelope")
    if not isinstance(doc, dict):
        raise malformed("JWS envelope is not a JSON object")
    if "signatures" in doc:
        raise malformed("JWS general serialization (several signatures) is not used by the Notary Project")
    unexpected = set(doc) - _ALLOWED_TOP_LEVEL
    if unexpected:
        raise malformed(f"JWS envelope has unexpected members {sorted(unexpected)}")
    protected_b64 = doc.get("protected")
    payload_b64 = doc.get("payload")
    if not isinstance(protected_b64, str) or not isinstance(payload_b64, str):
        raise malformed("JWS envelope lacks the protected header or the payload")
    protected_raw = b64url_decode(protected_b64, what="JWS protected header")
    payload = b64url_decode(payload_b64, what="JWS payload")
    signature = b64url_decode(doc.get("signature"), what="JWS signature")
    protected: Any = strict_json_loads(protected_raw, what="JWS protected header")
    if not isinstance(protected, dict):
        raise malformed("JWS protected header is not a JSON object")
    for forbidden in ("x5c", "jku", "jwk", "x5u", "kid"):
        if forbidden in protected:
            raise malformed(f"JWS protected header {forbidden!r} is not allowed in Notary Project signatures")
    unprotected = doc.get("header")
    if not isinstance(unprotected, dict):
        raise malformed("JWS envelope has no unprotected header with x5c")
    # Notation reads unprotected headers into a Go struct, whose JSON decoding ignores the case of names.
    folded = {k.lower(): v for k, v in unprotected.items()}
    x5c = folded.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise malformed("JWS unprotected header x5c must be a non-empty list of certificates")
    if len(x5c) > limits.max_certificates:
        raise malformed(f"x5c has {len(x5c)} certificates, more than the limit of {limits.max_certificates}")
    chain = tuple(_b64std_decode(c, what=f"x5c[{i}]") for i, c in enumerate(x5c))
    agent = folded.get(HEADER_SIGNING_AGENT.lower())
    if agent is not None and not isinstance(agent, str):
        raise malformed("io.cncf.notary.signingAgent must be a string")
    token_b64 = folded.get(HEADER_TIMESTAMP_SIGNATURE.lower())
    token = _b64std_decode(token_b64, what="timestamp signature") if token_b64 not in (None, "") else None
    alg = protected.get("alg")
    if not isinstance(alg, str):
        raise malformed("JWS protected header has no alg")
    times = {name: _parse_time(protected[name], name=name) for name in _TIME_HEADERS if name in protected}
    return RawEnvelope(
        media_type=EnvelopeMediaType.JWS,
        algorithm_name=alg,
        content_type=protected.get("cty"),
        critical=protected.get("crit"),
        protected={k: v for k, v in protected.items() if k not in _REGISTERED},
        times=times,
        payload=payload,
        certificate_chain=chain,
        signing_agent=agent,
        timestamp_token=token,
        signature=signature,
        signed_bytes=f"{protected_b64}.{payload_b64}".encode("ascii"),
    )


def protected_header_bytes(headers: dict[str, object]) -> bytes:
    return json.dumps(headers, sort_keys=True, separators=(",", ":")).encode()


def signing_input(protected: bytes, payload: bytes) -> bytes:
    return f"{b64url_encode(protected)}.{b64url_encode(payload)}".encode("ascii")


def encode_jws(
    *,
    protected: bytes,
    payload: bytes,
    signature: bytes,
    certificate_chain: tuple[bytes, ...],
    signing_agent: str | None,
    timestamp_token: bytes | None,
) -> bytes:
    header: dict[str, object] = {"x5c": [base64.b64encode(c).decode("ascii") for c in certificate_chain]}
    if signing_agent:
        header[HEADER_SIGNING_AGENT] = signing_agent
    if timestamp_token:
        header[HEADER_TIMESTAMP_SIGNATURE] = base64.b64encode(timestamp_token).decode("ascii")
    doc = {
        "payload": b64url_encode(payload),
        "protected": b64url_encode(protected),
        "header": header,
        "signature": b64url_encode(signature),
    }
    return json.dumps(doc, separators=(",", ":")).encode()
