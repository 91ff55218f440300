"""``wharfinger keys generate --provider azurekv``: the real Azure SDK (in the CLI subprocess, with
DefaultAzureCredential from the environment) against the local Key Vault / Entra ID server, then signing
with the generated key and verifying against a trust store holding its certificate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from notary_fixtures import push_sign_and_verify

# the local vault: module-scoped HTTPS server, its TLS CA trusted through REQUESTS_CA_BUNDLE
from test_azurekv_local import azure_env, vault  # noqa: F401

from testkit.keyvault import VaultState
from wharfinger.cli.exitcodes import ExitCode

pytestmark = pytest.mark.slow

SUBJECT = "CN=ci,O=Acme,ST=WA,C=US"


def _cli_env(state: VaultState, host: str) -> dict[str, str]:
    return {
        "AZURE_TENANT_ID": state.tenant,
        "AZURE_CLIENT_ID": state.client_id,
        "AZURE_CLIENT_SECRET": state.client_secret,
        "AZURE_AUTHORITY_HOST": f"https://{host}",
    }


@pytest.mark.parametrize(("name", "key_type"), [("kv-ec", "ec-p384"), ("kv-rsa", "rsa-2048")])
def test_generated_vault_key_signs_and_verifies(
    azure_env: tuple[VaultState, str],  # noqa: F811
    registry_plain,
    run_cli,
    tmp_path: Path,
    name: str,
    key_type: str,
) -> None:
    state, host = azure_env
    env = _cli_env(state, host)
    store = tmp_path / "truststore"
    made = run_cli("keys", "generate", name, "--provider", "azurekv", "--key-uri", f"azurekv://{host}/{name}",
                   "--key-type", key_type, "--subject", SUBJECT, "--out", str(tmp_path), "--trust-store", str(store),
                   "--store-name", "acme", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_uri, cert_path = made.stdout.split()
    assert key_uri == f"azurekv://{host}/{name}"
    assert state.client_secret not in made.stdout + made.stderr
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    # the vault made the key (it holds the private half) and the certificate certifies exactly that key
    assert certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == state.keys[name].private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    checked = subprocess.run(["openssl", "verify", "-CAfile", cert_path, "-check_ss_sig", cert_path],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the chain went to the vault as the tagged PEM secret of the same name, not as a certificate import
    stored = state.secrets[name]
    assert stored.content_type == "application/x-pem-file"
    assert stored.tags == {"wharfinger-chain": "1"}
    assert x509.load_pem_x509_certificates(stored.value.encode()) == [certificate]

    digest, report = push_sign_and_verify(
        run_cli, registry_plain, f"kv/{name}", key_uri=key_uri, trust_store=store, work=tmp_path, env=env
    )
    assert report["digest"] == digest
    assert report["verified"] is True
    assert [s["signer"] for s in report["signatures"]] == [SUBJECT]

    # the name is taken now: Key Vault would add a version under it, so a second run is refused
    version = state.keys[name].version
    again = run_cli("keys", "generate", name, "--provider", "azurekv", "--key-uri", f"azurekv://{host}/{name}",
                    "--subject", SUBJECT, "--out", str(tmp_path / "again"), env=env)  # fmt: skip
    assert again.returncode == ExitCode.INPUT, again.stderr
    assert "already used" in again.stderr
    assert "Traceback" not in again.stderr
    assert state.keys[name].version == version


def test_untagged_secret_of_the_same_name_is_not_a_chain(
    azure_env: tuple[VaultState, str],  # noqa: F811
    run_cli,
    tmp_path: Path,
) -> None:
    """An unrelated plain secret named like the key must not be read as its certificate."""
    state, host = azure_env
    env = _cli_env(state, host)
    made = run_cli("keys", "generate", "kv-plain", "--provider", "azurekv", "--key-uri", f"azurekv://{host}/kv-plain",
                   "--subject", SUBJECT, "--out", str(tmp_path), env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    state.secrets["kv-plain"].tags = {}
    from test_azurekv_local import _credential

    from wharfinger.signing.keys.azurekv import AzureKeyVaultSigner, parse_azurekv_uri

    signer = AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/kv-plain"), credential=_credential(state, host))
    assert signer.key().certificate_chain == ()
    state.secrets["kv-plain"].tags = {"wharfinger-chain": "1"}
    signer = AzureKeyVaultSigner(parse_azurekv_uri(f"azurekv://{host}/kv-plain"), credential=_credential(state, host))
    assert len(signer.key().certificate_chain) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--provider", "azurekv"), "needs --key-uri"),
        (("--provider", "azurekv", "--key-uri", "azurekv://vault/k/0123"), "names a key version"),
        (("--provider", "azurekv", "--key-uri", "awskms:///alias/x"), "not an Azure Key Vault key URI"),
        (("--provider", "gcpkms"), "unknown key provider"),
    ],
)
def test_bad_vault_requests_are_input_errors(run_cli, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    made = run_cli("keys", "generate", "k", "--subject", SUBJECT, "--out", str(tmp_path), *args)
    assert made.returncode == ExitCode.INPUT, made.stderr
    assert message in made.stderr
    assert "Traceback" not in made.stderr
