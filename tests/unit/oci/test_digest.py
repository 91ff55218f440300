from __future__ import annotations

import hashlib
import io

import pytest

from wharfinger.errors import DigestMismatchError, InvalidDigestError
from wharfinger.oci.digest import DigestVerifier, compute_digest, open_verified, parse_digest, sha256_digest

DATA = b"wharfinger " * 10_000


def test_parse_and_compute() -> None:
    d = compute_digest(DATA)
    assert str(d) == "sha256:" + hashlib.sha256(DATA).hexdigest()
    assert parse_digest(str(d)) == d
    assert sha256_digest(DATA) == str(d)
    d512 = compute_digest(DATA, "sha512")
    assert parse_digest(str(d512)).algorithm == "sha512"
    with pytest.raises(InvalidDigestError, match="unsupported"):
        compute_digest(DATA, "md5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ALGORITHM:HEX"),
        ("sha256", "ALGORITHM:HEX"),
        (":" + "a" * 64, "ALGORITHM:HEX"),
        ("sha256:", "ALGORITHM:HEX"),
        ("sha1:" + "a" * 40, "unsupported"),
        ("SHA256:" + "a" * 64, "unsupported"),
        ("sha256:" + "a" * 63, "exactly 64"),
        ("sha256:" + "g" * 64, "exactly 64"),
        ("sha512:" + "a" * 64, "exactly 128"),
    ],
)
def test_bad_digests(text: str, message: str) -> None:
    with pytest.raises(InvalidDigestError, match=message) as info:
        parse_digest(text)
    assert info.value.hint
    assert isinstance(info.value, ValueError)


def test_verifier_in_chunks() -> None:
    verifier = DigestVerifier(sha256_digest(DATA), expected_size=len(DATA))
    for start in range(0, len(DATA), 4096):
        verifier.update(DATA[start : start + 4096])
    verifier.verify()
    assert verifier.size == len(DATA)


def test_verifier_mismatch_and_sizes() -> None:
    wrong = DigestVerifier(sha256_digest(DATA + b"!"))
    wrong.update(DATA)
    with pytest.raises(DigestMismatchError, match="does not match"):
        wrong.verify()
    short = DigestVerifier(sha256_digest(DATA), expected_size=len(DATA))
    short.update(DATA[:-1])
    with pytest.raises(DigestMismatchError, match="descriptor says"):
        short.verify()
    long = DigestVerifier(sha256_digest(DATA), expected_size=10)
    with pytest.raises(DigestMismatchError, match="larger than its declared size"):
        long.update(DATA)


def test_verified_stream_reads_through_and_checks_at_eof() -> None:
    with open_verified(io.BytesIO(DATA), DigestVerifier(sha256_digest(DATA), expected_size=len(DATA))) as f:
        assert f.read() == DATA
    tampered = bytearray(DATA)
    tampered[5000] ^= 1
    stream = open_verified(io.BytesIO(bytes(tampered)), DigestVerifier(sha256_digest(DATA)))
    assert stream.read(100) == DATA[:100]  # bytes flow before the end …
    with pytest.raises(DigestMismatchError):
        stream.read()  # … and the mismatch surfaces at EOF


def test_verified_when_the_declared_size_is_read_without_eof() -> None:
    tampered = b"X" + DATA[1:]
    stream = open_verified(io.BytesIO(tampered), DigestVerifier(sha256_digest(DATA), expected_size=len(DATA)))
    with pytest.raises(DigestMismatchError):
        stream.read(len(DATA))  # exactly the declared size: no EOF asked for, still checked
    good = open_verified(io.BytesIO(DATA + b"extra"), DigestVerifier(sha256_digest(DATA), expected_size=len(DATA)))
    with pytest.raises(DigestMismatchError, match="larger than its declared size"):
        good.read()
