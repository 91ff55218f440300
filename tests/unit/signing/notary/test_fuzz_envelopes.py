"""Properties: whatever bytes arrive, parsing and verification answer with a reason, never a crash."""

from __future__ import annotations

import json

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notary_testpki import NOW, REPO, SIGNED_AT, TARGET, make_pki

from wharfinger.signing.notary.envelope import InvalidEnvelopeError
from wharfinger.signing.notary.headers import parse_envelope
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope
from wharfinger.signing.notary.verifier import verify_notary_signature

PKI = make_pki()
JWS = build_jws_envelope(TARGET, PKI.signer(), SIGNED_AT)
COSE = build_cose_envelope(TARGET, PKI.signer(), SIGNED_AT)
MEDIA = ("application/jose+json", "application/cose")


def _parse_or_reason(data: bytes, media_type: str) -> None:
    problem: InvalidEnvelopeError | None = None
    try:
        parse_envelope(data, media_type)
    except InvalidEnvelopeError as exc:
        problem = exc
    if problem is not None:
        assert problem.message
        assert problem.reason is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512), st.sampled_from(MEDIA))
def test_random_bytes(data: bytes, media_type: str) -> None:
    _parse_or_reason(data, media_type)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=255),
    st.sampled_from([(JWS, MEDIA[0]), (COSE, MEDIA[1])]),
)
def test_single_byte_corruptions(position: int, value: int, sample: tuple[bytes, str]) -> None:
    envelope, media_type = sample
    corrupted = bytearray(envelope)
    corrupted[position % len(corrupted)] = value
    _parse_or_reason(bytes(corrupted), media_type)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["payload", "protected", "header", "signature"]), json_values)
def test_jws_members_replaced_by_anything(member: str, value: object) -> None:
    doc = json.loads(JWS)
    doc[member] = value
    _parse_or_reason(json.dumps(doc).encode(), MEDIA[0])


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=3), json_values)
def test_cose_members_replaced_by_anything(index: int, value: object) -> None:
    message = cbor2.loads(COSE)
    body = list(message.value)
    body[index] = value
    _parse_or_reason(cbor2.dumps(cbor2.CBORTag(18, body)), MEDIA[1])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_verification_always_gives_a_reason(trust_for, position: int, value: int) -> None:
    corrupted = bytearray(JWS)
    corrupted[position % len(corrupted)] = value
    result = verify_notary_signature(bytes(corrupted), MEDIA[0], TARGET, trust_for(PKI), NOW, repository=REPO)
    if bytes(corrupted) != JWS and not result.verified:
        assert result.reason is not None
        assert result.message


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_corrupted_timestamp_tokens_give_a_reason(shared_dir, position: int, value: int) -> None:
    """The token of Notation's jwsWithTimestamp.sig, one byte changed: TimestampError or success, nothing else."""
    import base64

    from cryptography import x509

    from wharfinger.signing.notary.timestamp import TimestampError, verify_timestamp_token

    base = shared_dir / "vectors/notation/notation-go/verifier/testdata"
    doc = json.loads((base / "timestamp/sigEnv/jwsWithTimestamp.sig").read_text())
    token = bytearray(base64.b64decode(doc["header"]["io.cncf.notary.timestampSignature"]))
    signature = parse_envelope(json.dumps(doc).encode(), MEDIA[0]).signature
    root = x509.load_der_x509_certificate((base / "truststore/x509/tsa/test-timestamp/globalsignRoot.cer").read_bytes())
    token[position % len(token)] = value
    try:
        verify_timestamp_token(bytes(token), signature, [root])
    except TimestampError as exc:
        assert exc.message  # noqa: PT017 -- the property is about the exception's type and message
