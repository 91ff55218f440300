"""The PKCS#11 provider against a real SoftHSM2 token; keys made by OpenSC's pkcs11-tool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from testkit.softhsm import MODULE, new_token
from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import verify_raw
from wharfinger.signing.keys.pkcs11 import Pkcs11Signer, parse_pkcs11_uri
from wharfinger.signing.keys.signer import SignatureAlgorithm

PIN = "246810"


def _tool(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["pkcs11-tool", "--module", MODULE, *args], env=env, capture_output=True, check=True)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("softhsm")
    env = new_token(root, label="wharfinger", pin=PIN, so_pin="13579")
    _tool(
        "--login",
        "--pin",
        PIN,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "ec-key",
        "--id",
        "01",
        env=env,
    )
    _tool(
        "--login", "--pin", PIN, "--keypairgen", "--key-type", "rsa:3072", "--label", "rsa-key", "--id", "02", env=env
    )
    _tool(
        "--login", "--pin", PIN, "--keypairgen", "--key-type", "rsa:1024", "--label", "weak-key", "--id", "03", env=env
    )
    for key_id in ("01", "02"):
        _tool("--read-object", "--type", "pubkey", "--id", key_id, "-o", str(root / f"{key_id}.der"), env=env)
    return {"conf": env["SOFTHSM2_CONF"], "root": str(root)}


@pytest.fixture
def softhsm_env(token: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SOFTHSM2_CONF", token["conf"])
    return token


@pytest.mark.parametrize(
    ("label", "key_id", "algorithm"),
    [("ec-key", "01", SignatureAlgorithm.ECDSA_SHA256), ("rsa-key", "02", SignatureAlgorithm.RSASSA_PSS_SHA384)],
)
def test_signature_from_the_token_verifies_with_the_key_pkcs11_tool_exported(
    softhsm_env: dict[str, str], label: str, key_id: str, algorithm: SignatureAlgorithm
) -> None:
    signer = Pkcs11Signer(
        parse_pkcs11_uri(
            f"pkcs11:token=wharfinger;object={label}?module-path={MODULE}", env={"WHARFINGER_PKCS11_PIN": PIN}
        )
    )
    exported = serialization.load_der_public_key(Path(softhsm_env["root"], f"{key_id}.der").read_bytes())
    assert signer.key().algorithm is algorithm
    payload = b'{"targetArtifact":{"digest":"sha256:' + b"ab" * 32 + b'"}}'
    signature = signer.sign(payload)
    assert verify_raw(exported, algorithm, signature, payload)
    assert not verify_raw(exported, algorithm, signature, payload + b" ")


def test_rsa_pkcs1v15_on_request(softhsm_env: dict[str, str]) -> None:
    signer = Pkcs11Signer(
        parse_pkcs11_uri(f"pkcs11:token=wharfinger;object=rsa-key?module-path={MODULE}&pin-value={PIN}"),
        algorithm=SignatureAlgorithm.RSASSA_PKCS1V15_SHA256,
    )
    exported = serialization.load_der_public_key(Path(softhsm_env["root"], "02.der").read_bytes())
    assert verify_raw(exported, SignatureAlgorithm.RSASSA_PKCS1V15_SHA256, signer.sign(b"x"), b"x")


def test_wrong_pin_is_a_key_provider_error_without_the_pin(softhsm_env: dict[str, str]) -> None:
    with pytest.raises(KeyProviderError) as info:
        Pkcs11Signer(parse_pkcs11_uri(f"pkcs11:token=wharfinger;object=ec-key?module-path={MODULE}&pin-value=000000"))
    assert "000000" not in info.value.diagnostics()
    assert "PIN" in info.value.diagnostics()


def test_unknown_object_is_named(softhsm_env: dict[str, str]) -> None:
    with pytest.raises(KeyProviderError, match="found 0"):
        Pkcs11Signer(parse_pkcs11_uri(f"pkcs11:token=wharfinger;object=nope?module-path={MODULE}&pin-value={PIN}"))


def test_rsa_below_2048_bits_is_refused(softhsm_env: dict[str, str]) -> None:
    with pytest.raises(KeyProviderError, match="too small"):
        Pkcs11Signer(parse_pkcs11_uri(f"pkcs11:token=wharfinger;object=weak-key?module-path={MODULE}&pin-value={PIN}"))


def test_uri_parsing_keeps_the_pin_secret() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=a%20b;object=k;id=%01%02?pin-value=s3cret&module-path=/x.so")
    assert uri.token == "a b"
    assert uri.object_id == b"\x01\x02"
    assert "s3cret" not in repr(uri)
    assert uri.redacted() == "pkcs11:token=a b;object=k;id=%01%02"


def test_not_a_pkcs11_uri() -> None:
    with pytest.raises(InputError):
        parse_pkcs11_uri("file:/tmp/key.pem")
