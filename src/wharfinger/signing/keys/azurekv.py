"""Azure Key Vault key provider behind ``Signer``: keys and certificates stay in the vault.

``azurekv://VAULT/NAME[/VERSION]``: VAULT is a vault name (``https://VAULT.vault.azure.net``)
or a host (``myvault.vault.azure.cn``, ``127.0.0.1:8443``) for sovereign clouds and tests.
NAME is a key, or a certificate whose key has the same name (as Key Vault creates it): then
the certificate chain is read from the certificate's secret (PEM or PKCS#12), as Notation's
Azure Key Vault plugin does, so signatures carry the whole chain.

Authentication is azure-identity's ``DefaultAzureCredential`` (workload identity on AKS,
managed identity, Azure CLI, environment), unless a credential is injected. Only the digest
goes to the vault; the signature comes back.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import default_algorithm, hash_for
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

__all__ = [
    "CHAIN_SECRET_TAG",
    "AzureKeyVaultSigner",
    "AzureKeyVaultUri",
    "azure_credential",
    "create_azurekv_signing_key",
    "parse_azurekv_uri",
    "store_azurekv_certificate_chain",
]

# Tag on a plain PEM secret holding the certificate chain of the key of the same name (made by
# ``wharfinger keys generate``). Key Vault can only import a certificate together with its private key,
# and a generated key never leaves the vault, so the chain is kept as an unmanaged secret instead.
CHAIN_SECRET_TAG = "wharfinger-chain"  # noqa: S105 -- a tag name, not a secret
_PEM_CONTENT_TYPE = "application/x-pem-file"

# Notary/cosign algorithm -> Key Vault's JWA name.
_JWA: dict[SignatureAlgorithm, str] = {
    SignatureAlgorithm.ECDSA_SHA256: "ES256",
    SignatureAlgorithm.ECDSA_SHA384: "ES384",
    SignatureAlgorithm.ECDSA_SHA512: "ES512",
    SignatureAlgorithm.RSASSA_PSS_SHA256: "PS256",
    SignatureAlgorithm.RSASSA_PSS_SHA384: "PS384",
    SignatureAlgorithm.RSASSA_PSS_SHA512: "PS512",
    SignatureAlgorithm.RSASSA_PKCS1V15_SHA256: "RS256",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureKeyVaultUri:
    vault_url: str  # "https://myvault.vault.azure.net"
    name: str
    version: str | None = None

    def __str__(self) -> str:
        host = self.vault_url.removeprefix("https://")
        return f"azurekv://{host}/{self.name}" + (f"/{self.version}" if self.version else "")


def parse_azurekv_uri(uri: str) -> AzureKeyVaultUri:
    if not uri.startswith("azurekv://"):
        raise InputError(f"not an Azure Key Vault key URI: {uri!r}", hint="write azurekv://VAULT/KEY[/VERSION]")
    parts = uri[len("azurekv://") :].split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(
            f"Azure Key Vault key URI {uri!r} is not azurekv://VAULT/KEY[/VERSION]",
            hint="for example azurekv://myvault/release-signing",
        )
    vault = parts[0]
    host = vault if ("." in vault or ":" in vault) else f"{vault}.vault.azure.net"
    return AzureKeyVaultUri(vault_url=f"https://{host}", name=parts[1], version=parts[2] if len(parts) == 3 else None)  # noqa: PLR2004 -- VAULT/NAME/VERSION


class AzureKeyVaultSigner:
    """A ``Signer`` whose key (and certificate) live in Azure Key Vault."""

    def __init__(
        self,
        key_uri: AzureKeyVaultUri,
        *,
        credential: Any = None,
        algorithm: SignatureAlgorithm | None = None,
    ) -> None:
        try:
            from azure.core.exceptions import AzureError  # noqa: PLC0415 -- optional extra wharfinger[azure]
            from azure.keyvault.keys import KeyClient  # noqa: PLC0415
            from azure.keyvault.keys.crypto import CryptographyClient  # noqa: PLC0415
        except ImportError as exc:
            raise KeyProviderError(
                "Azure Key Vault keys need the Azure SDK", hint="pip install 'wharfinger[azure]'"
            ) from exc
        credential = azure_credential(credential)
        self._uri = key_uri
        self._azure_error = AzureError
        try:
            key = KeyClient(key_uri.vault_url, credential).get_key(key_uri.name, key_uri.version)
            self._crypto = CryptographyClient(key, credential)
            chain = self._certificate_chain(credential)
        except AzureError as exc:
            raise _translate(exc, key_uri, "read") from exc
        public_key = _public_key_from_jwk(key.key)
        self._public_key = public_key
        self._algorithm = algorithm or default_algorithm(public_key)
        if self._algorithm not in _JWA:
            raise KeyProviderError(f"Azure Key Vault cannot sign with {self._algorithm.value}")
        spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if chain:
            leaf_key = x509.load_der_x509_certificate(chain[0]).public_key()
            leaf_spki = leaf_key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if leaf_spki != spki:
                raise KeyProviderError(
                    f"the certificate {key_uri.name} in {key_uri.vault_url} does not hold the key {key_uri.name}",
                    hint="name a certificate created by Key Vault (its key has the same name), or a bare key",
                )
        self._spec = KeySpec(
            key_id=str(key_uri), algorithm=self._algorithm, public_key_der=spki, certificate_chain=chain
        )

    def _certificate_chain(self, credential: Any) -> tuple[bytes, ...]:
        """The leaf-first DER chain of the certificate of the same name, or () for a bare key."""
        from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415
        from azure.keyvault.secrets import SecretClient  # noqa: PLC0415

        try:
            secret = SecretClient(self._uri.vault_url, credential).get_secret(self._uri.name, self._uri.version)
        except ResourceNotFoundError:
            return ()
        ours = (secret.properties.tags or {}).get(CHAIN_SECRET_TAG) == "1"
        if secret.value is None or not (secret.properties.managed or ours):
            return ()  # a plain secret of the same name, not a certificate's backing secret nor our chain
        if ours and secret.properties.content_type != _PEM_CONTENT_TYPE:
            return ()
        if secret.properties.content_type == "application/x-pkcs12":
            _, leaf, extra = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
            certs = ([leaf] if leaf else []) + list(extra or [])
        else:
            certs = x509.load_pem_x509_certificates(secret.value.encode())
        return tuple(cert.public_bytes(serialization.Encoding.DER) for cert in certs)

    def key(self) -> KeySpec:
        return self._spec

    def sign(self, payload: bytes) -> bytes:
        digest_algorithm = hash_for(self._algorithm)
        if digest_algorithm is None:  # pragma: no cover -- Key Vault has no Ed25519 keys
            raise KeyProviderError("Azure Key Vault has no Ed25519 signing")
        hasher = hashes.Hash(digest_algorithm)
        hasher.update(payload)
        try:
            from azure.keyvault.keys.crypto import SignatureAlgorithm as KeyVaultAlgorithm  # noqa: PLC0415

            result = self._crypto.sign(KeyVaultAlgorithm(_JWA[self._algorithm]), hasher.finalize())
        except self._azure_error as exc:
            raise _translate(exc, self._uri, "sign with") from exc
        signature: bytes = result.signature
        if isinstance(self._public_key, ec.EllipticCurvePublicKey):
            # Key Vault returns JWS-style r||s; Signer promises DER for ECDSA.
            half = len(signature) // 2
            return encode_dss_signature(int.from_bytes(signature[:half]), int.from_bytes(signature[half:]))
        return signature


def _sdk_imports() -> tuple[Any, Any, Any]:
    try:
        from azure.core.exceptions import AzureError  # noqa: PLC0415 -- optional extra wharfinger[azure]
        from azure.keyvault.keys import KeyClient  # noqa: PLC0415
        from azure.keyvault.secrets import SecretClient  # noqa: PLC0415
    except ImportError as exc:
        raise KeyProviderError(
            "Azure Key Vault keys need the Azure SDK", hint="pip install 'wharfinger[azure]'"
        ) from exc
    return AzureError, KeyClient, SecretClient


def azure_credential(credential: Any = None) -> Any:
    """``credential``, else azure-identity's DefaultAzureCredential (one per command: one token).

    When ``AZURE_AUTHORITY_HOST`` names an Entra endpoint that is not one of Microsoft's clouds (Azure
    Stack Hub, a private authority), MSAL's instance discovery, which asks login.microsoftonline.com to
    vouch for the host, cannot succeed: it is turned off for such hosts, as the SDK documents for them.
    """
    if credential is not None:
        return credential
    try:
        from azure.identity import AzureAuthorityHosts, DefaultAzureCredential  # noqa: PLC0415 -- optional extra
    except ImportError as exc:
        raise KeyProviderError(
            "Azure Key Vault keys need azure-identity", hint="pip install 'wharfinger[azure]'"
        ) from exc
    public_clouds = {
        AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
        AzureAuthorityHosts.AZURE_CHINA,
        AzureAuthorityHosts.AZURE_GOVERNMENT,
    }
    host = os.environ.get("AZURE_AUTHORITY_HOST", "").removeprefix("https://").rstrip("/")
    if host and host not in public_clouds:
        return DefaultAzureCredential(disable_instance_discovery=True)
    return DefaultAzureCredential()


def create_azurekv_signing_key(key_uri: AzureKeyVaultUri, key_type: str, *, credential: Any = None) -> None:
    """Create a sign/verify key NAME in the vault (``ec-p256``, ``rsa-3072``, ...).

    A name already used by a key or a secret is refused first: Key Vault would add a new version to an
    existing key (moving every unpinned ``azurekv://VAULT/NAME`` to a key with another certificate).
    """
    if key_uri.version is not None:
        raise InputError(
            f"{key_uri} names a key version", hint="Key Vault chooses versions: write azurekv://VAULT/NAME"
        )
    curves = {"ec-p256": "P-256", "ec-p384": "P-384", "ec-p521": "P-521"}
    sizes = {"rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096}
    if key_type not in curves and key_type not in sizes:
        raise InputError(f"Azure Key Vault has no {key_type} signing keys", hint="use an ec-* or rsa-* key type")
    azure_error, key_client_type, secret_client_type = _sdk_imports()
    from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415

    credential = azure_credential(credential)
    keys = key_client_type(key_uri.vault_url, credential)
    try:
        for lookup in (keys.get_key, secret_client_type(key_uri.vault_url, credential).get_secret):
            try:
                lookup(key_uri.name)
            except ResourceNotFoundError:
                continue
            raise InputError(
                f"{key_uri} is already used in the vault", hint="choose another name, or sign with the existing key"
            )
        operations = ["sign", "verify"]
        if key_type in curves:
            keys.create_ec_key(key_uri.name, curve=curves[key_type], key_operations=operations)
        else:
            keys.create_rsa_key(key_uri.name, size=sizes[key_type], key_operations=operations)
    except azure_error as exc:
        raise _translate(exc, key_uri, "create") from exc


def store_azurekv_certificate_chain(key_uri: AzureKeyVaultUri, chain_pem: str, *, credential: Any = None) -> None:
    """Keep the key's certificate chain (PEM, leaf first) as the secret of the same name, tagged as ours."""
    azure_error, _, secret_client_type = _sdk_imports()
    try:
        secret_client_type(key_uri.vault_url, azure_credential(credential)).set_secret(
            key_uri.name, chain_pem, content_type=_PEM_CONTENT_TYPE, tags={CHAIN_SECRET_TAG: "1"}
        )
    except azure_error as exc:
        raise _translate(exc, key_uri, "store the certificate chain of") from exc


def _public_key_from_jwk(jwk: Any) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    kty = str(getattr(jwk.kty, "value", jwk.kty))  # the SDK gives enum members
    if kty.startswith("EC"):
        curves: dict[str, ec.EllipticCurve] = {
            "P-256": ec.SECP256R1(),
            "P-384": ec.SECP384R1(),
            "P-521": ec.SECP521R1(),
        }
        curve = curves.get(str(getattr(jwk.crv, "value", jwk.crv)))
        if curve is None:
            raise KeyProviderError(f"unsupported Key Vault curve {jwk.crv}", hint="use P-256, P-384 or P-521")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(jwk.x), int.from_bytes(jwk.y), curve).public_key()
    if kty.startswith("RSA"):
        return rsa.RSAPublicNumbers(int.from_bytes(jwk.e), int.from_bytes(jwk.n)).public_key()
    raise KeyProviderError(f"unsupported Key Vault key type {kty}", hint="use an EC or RSA key")


def _translate(exc: Exception, key_uri: AzureKeyVaultUri, action: str) -> KeyProviderError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError  # noqa: PLC0415

    if isinstance(exc, ClientAuthenticationError):
        return KeyProviderError(
            f"Azure refused the credentials to {action} {key_uri}",
            hint="check the workload identity / managed identity and its 'Key Vault Crypto User' role",
        )
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        hint = {
            403: "grant the identity keys/get and keys/sign (role 'Key Vault Crypto User')",
            404: "check the vault and key names, and the key version",
        }.get(exc.status_code, "retry; check the vault's status")
        return KeyProviderError(f"Azure Key Vault could not {action} {key_uri} (HTTP {exc.status_code})", hint=hint)
    return KeyProviderError(
        f"cannot reach Azure Key Vault to {action} {key_uri}: {type(exc).__name__}",
        hint="check the network and the vault URL",
    )
