"""ACR sign-in with Entra ID: a real azure-identity credential, a local Entra ID and ACR token
endpoints following their public APIs, and a real docker-registry trusting the ACR tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from testkit.azure import AcrTokenService, FakeEntraId
from testkit.httpserver import serve
from testkit.images import BuiltImage
from testkit.pushing import push_layout_with_client
from testkit.registry import RegistryPki, RunningRegistry, start_registry
from testkit.token_server import Grant, TokenService
from wharfinger.errors import RegistryAuthError
from wharfinger.oci.acr import EntraIdCredentials
from wharfinger.oci.client import RegistryClient, RegistrySettings

pytestmark = pytest.mark.slow

azure_identity = pytest.importorskip("azure.identity")


@dataclass
class AcrWorld:
    registry: RunningRegistry
    entra: FakeEntraId
    entra_url: str
    acr: AcrTokenService


@pytest.fixture(scope="module")
def acr_world(tmp_path_factory, registry_pki: RegistryPki) -> Iterator[AcrWorld]:
    service_name = "wharfinger-acr-test"
    tokens = TokenService(
        service=service_name,
        issuer="wharfinger-acr-issuer",
        signer=registry_pki.token_signer,
        users={},
        grants=[Grant(account="entra-identity", repository="*", actions=frozenset({"*"}))],
    )
    entra = FakeEntraId(tenant="tenant-1", client_id="client-app", client_secret=secrets.token_hex(8))
    acr = AcrTokenService(tokens=tokens, entra=entra)
    cert, key = registry_pki.server.cert_file, registry_pki.server.key_file
    with ExitStack() as stack:
        entra_server = stack.enter_context(serve(entra.handle, cert_file=cert, key_file=key))
        entra.base_url = entra_server.url
        acr_server = stack.enter_context(serve(acr.handle, cert_file=cert, key_file=key))
        auth = (
            f"auth:\n  token:\n    realm: {acr_server.url}/oauth2/token\n    service: {service_name}\n"
            f"    issuer: wharfinger-acr-issuer\n    rootcertbundle: {registry_pki.ca.cert_file}\n"
        )
        registry = stack.enter_context(
            start_registry(tmp_path_factory.mktemp("registry-acr"), pki=registry_pki, auth_yaml=auth)
        )
        yield AcrWorld(registry=registry, entra=entra, entra_url=entra_server.url, acr=acr)


def _client(world: AcrWorld, credential) -> RegistryClient:
    provider = EntraIdCredentials(credential=credential, host_patterns=("127.0.0.1:*",), tenant="tenant-1")
    return RegistryClient(
        world.registry.host,
        settings=RegistrySettings(ca_bundle=world.registry.ca_file),
        credentials=provider,
        sleep=lambda _s: None,
    )


def _client_secret_credential(world: AcrWorld, secret: str | None = None):
    return azure_identity.ClientSecretCredential(
        "tenant-1",
        "client-app",
        secret or world.entra.client_secret,
        authority=world.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(world.registry.ca_file),
    )


def test_client_secret_credential_push_and_pull(acr_world: AcrWorld, small_image: BuiltImage) -> None:
    client = _client(acr_world, _client_secret_credential(acr_world))
    push_layout_with_client(client, small_image, "acr/app", "v1")
    assert client.get_manifest("acr/app", "v1").digest == small_image.digest
    exchanges = [r for r in acr_world.acr.requests if r.path == "/oauth2/exchange"]
    assert len(exchanges) == 1  # one exchange, then the ACR refresh token serves every scope
    assert b"grant_type=access_token" in exchanges[0].body
    assert b"tenant=tenant-1" in exchanges[0].body
    token_posts = [r for r in acr_world.acr.requests if r.path == "/oauth2/token"]
    assert token_posts
    assert all(b"grant_type=refresh_token" in r.body for r in token_posts)


def test_workload_identity_credential(acr_world: AcrWorld, small_image: BuiltImage, tmp_path) -> None:
    token_file = tmp_path / "federated-token"
    token_file.write_text("eyJ.federated.token")  # what AKS projects into the pod
    credential = azure_identity.WorkloadIdentityCredential(
        tenant_id="tenant-1",
        client_id="client-app",
        token_file_path=str(token_file),
        authority=acr_world.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(acr_world.registry.ca_file),
    )
    client = _client(acr_world, credential)
    push_layout_with_client(client, small_image, "acr/wi", "v1")
    assert client.resolve("acr/wi", "v1") == small_image.digest
    assert any(b"client_assertion=eyJ.federated.token" in r.body for r in acr_world.entra.requests)


def test_entra_refusal_is_a_registry_auth_error(acr_world: AcrWorld) -> None:
    client = _client(acr_world, _client_secret_credential(acr_world, secret="wrong"))
    with pytest.raises(RegistryAuthError) as caught:
        client.get_manifest("acr/app", "v1")
    assert "az login" in (caught.value.hint or "")
