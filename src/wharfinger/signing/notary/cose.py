"""COSE_Sign1 (``application/cose``, RFC 9052) encoding of Notary Project signatures, via cbor2.

The protected header is encoded canonically (length-first key order, as go-cose does, see the
notation-core-go conformance vector); times are CBOR tag 1 integers; the certificate chain sits
in the unprotected ``x5chain`` (label 33).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import cbor2

from wharfinger.signing.notary.envelope import DEFAULT_LIMITS, EnvelopeLimits, RawEnvelope, check_size, malformed
from wharfinger.signing.notary.model import (
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_AGENT,
    HEADER_SIGNING_TIME,
    HEADER_TIMESTAMP_SIGNATURE,
    EnvelopeMediaType,
)

__all__ = ["decode_cose", "encode_cose", "encode_protected", "sig_structure"]

COSE_SIGN1_TAG = 18
LABEL_ALG = 1
LABEL_CRIT = 2
LABEL_CONTENT_TYPE = 3
LABEL_X5CHAIN = 33
_TIME_HEADERS = (HEADER_SIGNING_TIME, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _time(value: object, *, name: str) -> datetime:
    # cbor2 turns tag 1 into a datetime; a bare number or string is not what the spec asks for.
    if not isinstance(value, datetime):
        raise malformed(f"COSE header {name!r} must be a tag-1 epoch time")
    return value.astimezone(UTC)


def decode_cose(data: bytes, limits: EnvelopeLimits = DEFAULT_LIMITS) -> RawEnvelope:
    check_size(data, limits)
    try:
        message: Any = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise malformed(f"COSE envelope is not valid CBOR: {exc}") from exc
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise malformed("COSE envelope is not a tagged COSE_Sign1 message (tag 18)")
    body = message.value
    if not isinstance(body, list | tuple) or len(body) != 4:  # noqa: PLR2004 -- COSE_Sign1 has four members
        raise malformed("COSE_Sign1 must be an array of four members")
    protected_raw, unprotected, payload, signature = body
    if not isinstance(protected_raw, bytes) or not protected_raw:
        raise malformed("COSE_Sign1 protected header must be a non-empty byte string")
    if not isinstance(payload, bytes):
        raise malformed("COSE_Sign1 payload must be attached (a byte string)")
    if not isinstance(signature, bytes):
        raise malformed("COSE_Sign1 signature must be a byte string")
    if not isinstance(unprotected, Mapping):
        raise malformed("COSE_Sign1 unprotected header must be a map")
    try:
        protected: Any = cbor2.loads(protected_raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise malformed(f"COSE protected header is not valid CBOR: {exc}") from exc
    if not isinstance(protected, Mapping):
        raise malformed("COSE protected header is not a map")
    if _has_duplicates(protected_raw):
        raise malformed("COSE protected header repeats a label")
    alg = protected.get(LABEL_ALG)
    if not isinstance(alg, int) or isinstance(alg, bool):
        raise malformed("COSE protected header has no integer alg (label 1)")
    if LABEL_X5CHAIN in protected:
        raise malformed("x5chain belongs in the unprotected header")
    x5chain = unprotected.get(LABEL_X5CHAIN)
    chain_items = [x5chain] if isinstance(x5chain, bytes) else x5chain
    if (
        not isinstance(chain_items, list | tuple)
        or not chain_items
        or not all(isinstance(c, bytes) for c in chain_items)
    ):
        raise malformed("COSE unprotected x5chain (label 33) must hold one or more DER certificates")
    if len(chain_items) > limits.max_certificates:
        raise malformed(
            f"x5chain has {len(chain_items)} certificates, more than the limit of {limits.max_certificates}"
        )
    agent = unprotected.get(HEADER_SIGNING_AGENT)
    if agent is not None and not isinstance(agent, str):
        raise malformed("io.cncf.notary.signingAgent must be a text string")
    token = unprotected.get(HEADER_TIMESTAMP_SIGNATURE)
    if token is not None and not isinstance(token, bytes):
        raise malformed("io.cncf.notary.timestampSignature must be a byte string")
    string_headers = {k: v for k, v in protected.items() if isinstance(k, str)}
    times = {name: _time(string_headers[name], name=name) for name in _TIME_HEADERS if name in string_headers}
    return RawEnvelope(
        media_type=EnvelopeMediaType.COSE,
        algorithm_name=str(alg),
        content_type=protected.get(LABEL_CONTENT_TYPE),
        critical=protected.get(LABEL_CRIT),
        protected=string_headers,
        times=times,
        payload=payload,
        certificate_chain=tuple(chain_items),
        signing_agent=agent,
        timestamp_token=token or None,
        signature=signature,
        signed_bytes=sig_structure(protected_raw, payload),
    )


def _has_duplicates(encoded_map: bytes) -> bool:
    """True when a CBOR map repeats a key (cbor2 silently keeps the last one, go-cose refuses it)."""
    stream = io.BytesIO(encoded_map)
    decoder = cbor2.CBORDecoder(stream)
    try:
        count = stream.read(1)[0] & 0x1F  # the map header: small counts are in the low five bits
        if count == 24:  # noqa: PLR2004 -- CBOR: the count is in the next byte
            count = stream.read(1)[0]
        elif count > 24:  # noqa: PLR2004 -- larger maps are not Notary Project headers
            return False
        keys: list[bytes] = []
        for _ in range(count):
            start = stream.tell()
            decoder.decode()
            keys.append(encoded_map[start : stream.tell()])
            decoder.decode()
    except (cbor2.CBORDecodeError, ValueError, IndexError):
        return False
    return len(set(keys)) != len(keys)


def encode_protected(headers: dict[object, object]) -> bytes:
    return cbor2.dumps(headers, canonical=True, datetime_as_timestamp=True)


def encode_cose(
    *,
    protected: bytes,
    payload: bytes,
    signature: bytes,
    certificate_chain: tuple[bytes, ...],
    signing_agent: str | None,
    timestamp_token: bytes | None,
) -> bytes:
    unprotected: dict[object, object] = {LABEL_X5CHAIN: list(certificate_chain)}
    if signing_agent:
        unprotected[HEADER_SIGNING_AGENT] = signing_agent
    if timestamp_token:
        unprotected[HEADER_TIMESTAMP_SIGNATURE] = timestamp_token
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, unprotected, payload, signature]))
