"""One RSA key rule whichever provider holds the key, through ``wharfinger sign`` against the real
docker-registry: an RSA-2560 key with a valid code-signing chain is refused for Notary Project signatures
with the same error by the file, PKCS#11 (SoftHSM2) and Azure Key Vault (local server) providers, and its
cosign signature verifies; RSA-1024 is refused for both formats. AWS KMS (moto too) holds RSA
2048/3072/4096 only, so it shows the same rule on an RSA-2048 key and a refused secp256k1 key."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from notary_fixtures import plain_client, push_tiny_image

# the module-scoped moto KMS server and local Key Vault, as the providers' own tests run them
from test_awskms_moto import aws_env, kms_endpoint  # noqa: F401
from test_azurekv_local import vault  # noqa: F401

from testkit.keyvault import VaultKey, VaultState, pem
from testkit.softhsm import MODULE, new_token
from wharfinger.errors import KeyProviderError
from wharfinger.signing.cosign.simplesigning import build_payload
from wharfinger.signing.keys.algorithms import SignatureFormat, load_public_key, verify_raw
from wharfinger.signing.keys.generate import GeneratedIdentity, generate_identity, parse_subject
from wharfinger.signing.keys.providers import open_signer_for
from wharfinger.signing.keys.signer import SignatureAlgorithm

pytestmark = pytest.mark.slow

PIN = "864209"
NOW = dt.datetime.now(dt.UTC)
NOTARY_REFUSAL = "RSA key of 2560 bits is not allowed: Notary Project signing keys are RSA 2048, 3072 or 4096"
WEAK_REFUSAL = "RSA key of 1024 bits is too small"
PROVIDERS = ["file", "pkcs11", "azurekv"]

# provider -> {bits: (key URI, environment for the CLI)}
KeyUris = dict[int, tuple[str, dict[str, str]]]


@pytest.fixture(scope="module")
def ca() -> GeneratedIdentity:
    return generate_identity(subject="CN=Acme Signing CA,O=Acme,ST=WA,C=US", now=NOW, ca=True)


def _issue(public_key: rsa.RSAPublicKey, ca: GeneratedIdentity) -> tuple[x509.Certificate, ...]:
    """A code-signing leaf for ``public_key`` issued by ``ca``, then ``ca``: a chain Notary signing accepts."""
    leaf = (
        x509.CertificateBuilder()
        .subject_name(parse_subject("CN=release,O=Acme,ST=WA,C=US"))
        .issuer_name(ca.chain[0].subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(hours=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),  # noqa: FBT003
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca.private_key, hashes.SHA256())
    )
    return (leaf, *ca.chain)


def _pem(certs: tuple[x509.Certificate, ...]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


@pytest.fixture(scope="module")
def local_keys() -> dict[int, rsa.RSAPrivateKey]:
    return {bits: rsa.generate_private_key(public_exponent=65537, key_size=bits) for bits in (2560, 1024)}


@pytest.fixture(scope="module")
def file_keys(
    tmp_path_factory: pytest.TempPathFactory, local_keys: dict[int, rsa.RSAPrivateKey], ca: GeneratedIdentity
) -> KeyUris:
    root = tmp_path_factory.mktemp("file-sizes")
    uris: KeyUris = {}
    for bits, key in local_keys.items():
        (root / f"rsa-{bits}.pem").write_bytes(pem(key))
        uris[bits] = (f"file:{root / f'rsa-{bits}.pem'}", {})
    (root / "rsa-2560.crt").write_bytes(_pem(_issue(local_keys[2560].public_key(), ca)))
    return uris


@pytest.fixture(scope="module")
def pkcs11_keys(tmp_path_factory: pytest.TempPathFactory, ca: GeneratedIdentity) -> KeyUris:
    """A SoftHSM2 token with RSA-2560 (its chain stored beside it as certificate objects) and RSA-1024 pairs."""
    root = tmp_path_factory.mktemp("softhsm-sizes")
    env = new_token(root, label="sizes", pin=PIN, so_pin="1357")

    def tool(*args: str) -> None:
        subprocess.run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN, *args], env=env, check=True,
                       capture_output=True)  # fmt: skip

    tool("--keypairgen", "--key-type", "rsa:2560", "--label", "rsa-2560", "--id", "05")
    tool("--keypairgen", "--key-type", "rsa:1024", "--label", "rsa-1024", "--id", "06")
    tool("--read-object", "--type", "pubkey", "--id", "05", "-o", str(root / "rsa-2560.pub.der"))
    public = load_public_key((root / "rsa-2560.pub.der").read_bytes())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2560
    for cert, label, object_id in zip(_issue(public, ca), ("rsa-2560", "acme-ca"), ("05", "07"), strict=True):
        (root / f"{label}.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
        tool("--write-object", str(root / f"{label}.der"), "--type", "cert", "--label", label, "--id", object_id)
    return {
        bits: (
            f"pkcs11:token=sizes;object=rsa-{bits}?module-path={MODULE}&pin-value={PIN}",
            {"SOFTHSM2_CONF": env["SOFTHSM2_CONF"]},
        )
        for bits in (2560, 1024)
    }


@pytest.fixture(scope="module")
def azurekv_keys(
    vault: tuple[VaultState, str, Path],  # noqa: F811
    local_keys: dict[int, rsa.RSAPrivateKey],
    ca: GeneratedIdentity,
) -> KeyUris:
    """The local keys in the local vault; RSA-2560 as a certificate's key (leaf, its key, then the CA)."""
    state, host, ca_file = vault
    key = local_keys[2560]
    leaf, *rest = _issue(key.public_key(), ca)
    chain_pem = leaf.public_bytes(serialization.Encoding.PEM) + pem(key) + _pem(tuple(rest))
    state.keys["sizes-2560"] = VaultKey(private=key, chain_pem=chain_pem.decode())
    state.keys["sizes-1024"] = VaultKey(private=local_keys[1024])
    env = {
        "AZURE_TENANT_ID": state.tenant,
        "AZURE_CLIENT_ID": state.client_id,
        "AZURE_CLIENT_SECRET": state.client_secret,
        "AZURE_AUTHORITY_HOST": f"https://{host}",
        "REQUESTS_CA_BUNDLE": str(ca_file),
    }
    return {bits: (f"azurekv://{host}/sizes-{bits}", env) for bits in (2560, 1024)}


@pytest.fixture
def provider_keys(request: pytest.FixtureRequest) -> Callable[[str], KeyUris]:
    return lambda provider: request.getfixturevalue(f"{provider}_keys")


@pytest.fixture(scope="module")
def image(registry_plain) -> str:
    push_tiny_image(plain_client(registry_plain), "team/rsa-sizes", "v1")
    return f"{registry_plain.host}/team/rsa-sizes:v1"


def _sign(
    run_cli, provider_keys, provider: str, bits: int, image: str, host: str, signature_format: str
) -> subprocess.CompletedProcess[str]:
    """``wharfinger sign`` with the provider's RSA key of ``bits``, as a user runs it."""
    uri, env = provider_keys(provider)[bits]
    return run_cli("sign", image, "--key", uri, "--format", signature_format, "--insecure", host, env=env)


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line.strip() for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("signature_format", ["notation-jws", "notation-cose"])
def test_rsa_2560_is_refused_for_notary_with_one_message(
    provider: str, signature_format: str, provider_keys, image: str, registry_plain, run_cli
) -> None:
    done = _sign(run_cli, provider_keys, provider, 2560, image, registry_plain.host, signature_format)
    assert done.returncode != 0
    lines = _error_lines(done.stderr)
    assert any(line.endswith(NOTARY_REFUSAL) for line in lines), done.stderr
    assert any("hint:" in line and "--format cosign" in line for line in lines), done.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rsa_2560_signs_cosign_and_verifies(
    provider: str, provider_keys, local_keys, image: str, registry_plain, run_cli, tmp_path: Path
) -> None:
    signed = _sign(run_cli, provider_keys, provider, 2560, image, registry_plain.host, "cosign")
    assert signed.returncode == 0, signed.stderr
    env = provider_keys(provider)[2560][1]
    public_pem = tmp_path / "rsa-2560.pub"
    key = local_keys[2560] if provider != "pkcs11" else None
    if key is None:  # the token's own key: its public half as pkcs11-tool reads it back
        public_pem.write_bytes(_token_public_pem(env["SOFTHSM2_CONF"], tmp_path))
    else:
        public_pem.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    verified = run_cli("verify", image, "--key", str(public_pem), "--insecure", registry_plain.host, "-o", "json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["verified"] is True


def _token_public_pem(conf: str, tmp_path: Path) -> bytes:
    out = tmp_path / "token.der"
    subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--read-object", "--type", "pubkey", "--id", "05", "-o", str(out)],
        env={"SOFTHSM2_CONF": conf, "PATH": "/usr/bin:/bin"}, check=True, capture_output=True,
    )  # fmt: skip
    return load_public_key(out.read_bytes()).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("signature_format", ["notation-jws", "cosign"])
def test_rsa_1024_is_refused_for_every_format(
    provider: str, signature_format: str, provider_keys, image: str, registry_plain, run_cli
) -> None:
    done = _sign(run_cli, provider_keys, provider, 1024, image, registry_plain.host, signature_format)
    assert done.returncode != 0
    assert any(line.endswith(WEAK_REFUSAL) for line in _error_lines(done.stderr)), done.stderr


def test_kms_rsa_key_follows_the_same_rule(aws_env: str) -> None:  # noqa: F811
    kms = boto3.client("kms")
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    uri = f"awskms:///{key_id}"
    assert open_signer_for(uri, {}, SignatureFormat.NOTARY).key().algorithm is SignatureAlgorithm.RSASSA_PSS_SHA256
    signer = open_signer_for(uri, {}, SignatureFormat.COSIGN)
    assert signer.key().algorithm is SignatureAlgorithm.RSASSA_PKCS1V15_SHA256
    payload = build_payload("registry.example/team/app", "sha256:" + "5e" * 32)
    public = load_public_key(signer.key().public_key_der)
    assert verify_raw(public, SignatureAlgorithm.RSASSA_PKCS1V15_SHA256, signer.sign(payload), payload)
    # A KMS key the rule refuses (secp256k1 here: KMS has no RSA size outside 2048/3072/4096) fails in the same place.
    k1 = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_SECG_P256K1")["KeyMetadata"]["KeyId"]
    for signature_format in SignatureFormat:
        with pytest.raises(KeyProviderError, match="unsupported elliptic curve secp256k1"):
            open_signer_for(f"awskms:///{k1}", {}, signature_format)
