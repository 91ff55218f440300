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

__all__ = ["AzureKeyVaultSigner", "AzureKeyVaultUri", "parse_azurekv_uri"]

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
        if credential is None:
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415

            credential = DefaultAzureCredential()
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
        if not secret.properties.managed or secret.value is None:
            return ()  # a plain secret of the same name, not a certificate's backing secret
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
