"""The Azure Key Vault provider: the real Azure SDK and azure-identity against a local HTTPS
server that follows the public Key Vault and Entra ID REST APIs (``keyvault_server.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testkit.keyvault import VaultKey, VaultState, pem, start_vault
from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import verify_raw
from wharfinger.signing.keys.azurekv import AzureKeyVaultSigner, parse_azurekv_uri
from wharfinger.signing.keys.signer import SignatureAlgorithm

NOW = dt.datetime.now(dt.UTC)


def _cert(
    subject: str,
    public_key,
    issuer_key,
    issuer: x509.Name | None = None,
    *,
    ca: bool = False,
    san_ip: bool = False,
    code_signing: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(hours=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san_ip:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    if code_signing:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VaultState, str, Path]]:
    tmp = tmp_path_factory.mktemp("vault")
    tls_ca_key = ec.generate_private_key(ec.SECP256R1())
    tls_ca = _cert("test TLS CA", tls_ca_key.public_key(), tls_ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _cert("127.0.0.1", server_key.public_key(), tls_ca_key, tls_ca.subject, san_ip=True)
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(tls_ca.public_bytes(serialization.Encoding.PEM))
    server, _ = start_vault(server_cert.public_bytes(serialization.Encoding.PEM), pem(server_key), str(tmp))
    host = f"127.0.0.1:{server.server_address[1]}"
    yield server.state, host, ca_file
    server.shutdown()


@pytest.fixture
def azure_env(vault: tuple[VaultState, str, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[VaultState, str]:
    state, host, ca_file = vault
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # azure-core and MSAL both honour it
    return state, host


def _credential(state: VaultState, host: str, secret: str | None = None):
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        state.tenant,
        state.client_id,
        secret or state.client_secret,
        authority=f"https://{host}",
        disable_instance_discovery=True,
    )


def test_certificate_key_signs_and_carries_the_chain_from_the_vault(azure_env: tuple[VaultState, str]) -> None:
    state, host = azure_env
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = _cert("Wharfinger Test Signing CA", ca_key.public_key(), ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("release pipeline", leaf_key.public_key(), ca_key, ca.subject, code_signing=True)
    chain_pem = (
        leaf.public_bytes(serialization.Encoding.PEM) + pem(leaf_key) + ca.public_bytes(serialization.Encoding.PEM)
    ).decode()
    state.keys["release"] = VaultKey(private=leaf_key, chain_pem=chain_pem)

    signer = AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/release"), credential=_credential(state, host))
    spec = signer.key()
    assert spec.algorithm is SignatureAlgorithm.ECDSA_SHA256
    assert spec.certificate_chain == (
        leaf.public_bytes(serialization.Encoding.DER),
        ca.public_bytes(serialization.Encoding.DER),
    )
    payload = b'{"targetArtifact":{"digest":"sha256:' + b"0f" * 32 + b'"}}'
    signature = signer.sign(payload)
    assert verify_raw(leaf.public_key(), SignatureAlgorithm.ECDSA_SHA256, signature, payload)
    assert not verify_raw(leaf.public_key(), SignatureAlgorithm.ECDSA_SHA256, signature, payload + b"!")
    # The private key never travelled: only digests went to the vault.
    assert all("BEGIN PRIVATE KEY" not in str(headers) for _, _, headers in state.requests)


def test_bare_rsa_key_signs_pss_with_the_hash_its_size_calls_for(azure_env: tuple[VaultState, str]) -> None:
    state, host = azure_env
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    state.keys["rsa-bare"] = VaultKey(private=key)
    signer = AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/rsa-bare"), credential=_credential(state, host))
    assert signer.key().certificate_chain == ()
    assert signer.key().algorithm is SignatureAlgorithm.RSASSA_PSS_SHA384
    assert verify_raw(key.public_key(), SignatureAlgorithm.RSASSA_PSS_SHA384, signer.sign(b"abc"), b"abc")


def test_pinned_version_that_does_not_exist(azure_env: tuple[VaultState, str]) -> None:
    state, host = azure_env
    state.keys["versioned"] = VaultKey(private=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeyProviderError, match="HTTP 404") as info:
        AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/versioned/0000"), credential=_credential(state, host))
    assert "check the vault and key names" in (info.value.hint or "")


def test_wrong_client_secret_is_refused_without_echoing_it(azure_env: tuple[VaultState, str]) -> None:
    state, host = azure_env
    state.keys["any"] = VaultKey(private=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeyProviderError, match="refused the credentials") as info:
        AzureKeyVaultSigner(
            parse_azurekv_uri(f"azurekv://{host}/any"), credential=_credential(state, host, secret="not-the-secret")
        )
    assert "not-the-secret" not in info.value.diagnostics()


def test_disabled_key_cannot_sign(azure_env: tuple[VaultState, str]) -> None:
    state, host = azure_env
    state.keys["disabled"] = VaultKey(private=ec.generate_private_key(ec.SECP256R1()))
    signer = AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/disabled"), credential=_credential(state, host))
    state.keys["disabled"].enabled = False
    with pytest.raises(KeyProviderError, match="HTTP 403"):
        signer.sign(b"payload")


@pytest.mark.parametrize(
    ("uri", "vault_url", "name", "version"),
    [
        ("azurekv://myvault/k", "https://myvault.vault.azure.net", "k", None),
        ("azurekv://myvault.vault.azure.cn/k/v1", "https://myvault.vault.azure.cn", "k", "v1"),
    ],
)
def test_uri_forms(uri: str, vault_url: str, name: str, version: str | None) -> None:
    parsed = parse_azurekv_uri(uri)
    assert (parsed.vault_url, parsed.name, parsed.version) == (vault_url, name, version)


@pytest.mark.parametrize("uri", ["azurekv://vault", "azurekv://vault/", "azurekv://v/k/v/x", "awskms:///k"])
def test_malformed_uris(uri: str) -> None:
    with pytest.raises(InputError):
        parse_azurekv_uri(uri)
