"""Azure Container Registry sign-in with Entra ID (edge; needs the ``wharfinger[azure]`` extra).

The flow, as ACR documents it (https://azure.github.io/acr/AAD-OAuth.html):

1. ``azure-identity`` gets an Entra ID access token for ACR's audience
   (``https://containerregistry.azure.net/.default``). ``DefaultAzureCredential`` tries, in order,
   environment (service principal), workload identity (AKS federated tokens), managed identity,
   the Azure CLI and more, so the same code runs on a laptop, in a pipeline and in a pod.
2. ``POST https://<registry>/oauth2/exchange`` with ``grant_type=access_token``, ``service``,
   ``tenant`` and ``access_token`` answers an ACR *refresh token*.
3. ``POST https://<registry>/oauth2/token`` with ``grant_type=refresh_token``, ``service``,
   ``scope`` and that refresh token answers the access token for each scope - the ordinary
   OAuth2 flow of ``HostAuth``.

Steps 2 and 3 run inside ``HostAuth`` on the registry client's own ``httpx.Client``, so they
follow its TLS settings; this module only supplies step 1 as ``Credentials.entra_token``.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from wharfinger.errors import RegistryAuthError
from wharfinger.oci.auth import Credentials, Secret, normalise_registry_host

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["ACR_HOST_PATTERNS", "ACR_SCOPE", "EntraIdCredentials", "default_azure_credential"]

ACR_SCOPE: Final = "https://containerregistry.azure.net/.default"
# Public cloud, China, US Government; more can be listed by the caller.
ACR_HOST_PATTERNS: Final = ("*.azurecr.io", "*.azurecr.cn", "*.azurecr.us")
# ACR's user name for logins made with a refresh token (`az acr login --expose-token` prints it).
ACR_TOKEN_USERNAME: Final = "00000000-0000-0000-0000-000000000000"  # noqa: S105 -- a fixed user name, not a secret


def default_azure_credential(**kwargs: Any) -> TokenCredential:
    """``DefaultAzureCredential`` (workload identity, managed identity, CLI …); clear error without the extra."""
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 -- optional extra, imported on use
    except ImportError as exc:
        raise RegistryAuthError(
            "signing in to Azure Container Registry with Entra ID needs azure-identity",
            hint="pip install 'wharfinger[azure]', or use `docker login` / WHARFINGER_REGISTRY_USERNAME",
        ) from exc
    return DefaultAzureCredential(**kwargs)


@dataclass
class EntraIdCredentials:
    """A ``CredentialProvider`` for ACR hosts: Entra ID tokens from an azure-identity credential.

    ``credential`` is any azure-identity ``TokenCredential``; when None, ``DefaultAzureCredential``
    is built on first use (so hosts that are not ACR never import Azure libraries).
    """

    credential: TokenCredential | None = None
    host_patterns: Sequence[str] = ACR_HOST_PATTERNS
    tenant: str | None = None
    scope: str = ACR_SCOPE
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _matches(self, host: str) -> bool:
        name = normalise_registry_host(host)
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.host_patterns)

    def _token(self) -> Secret:
        with self._lock:
            if self.credential is None:
                self.credential = default_azure_credential()
            credential = self.credential
        try:
            from azure.core.exceptions import ClientAuthenticationError  # noqa: PLC0415 -- optional extra
        except ImportError:  # a caller-supplied credential without azure-core installed
            return Secret(credential.get_token(self.scope, tenant_id=self.tenant).token)
        try:
            token = credential.get_token(self.scope, tenant_id=self.tenant)
        except ClientAuthenticationError as exc:
            raise RegistryAuthError(
                f"Entra ID gave no token for Azure Container Registry: {type(exc).__name__}",
                hint="sign in with `az login`, or configure workload identity / a managed identity "
                "(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE)",
            ) from exc
        return Secret(token.token)

    def credentials_for(self, host: str) -> Credentials | None:
        if not self._matches(host):
            return None
        return Credentials(
            username=ACR_TOKEN_USERNAME,
            entra_token=self._token,
            tenant=self.tenant,
            source="Entra ID (azure-identity)",
        )
