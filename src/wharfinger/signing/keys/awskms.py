"""AWS KMS key provider behind ``Signer``, with cosign's URI form.

``awskms://[ENDPOINT]/KEY[?cert=CHAIN]`` where KEY is a key id, ``alias/NAME`` or a key ARN, e.g.
``awskms:///alias/release-signing``. KMS stores no certificates: ``?cert=CHAIN`` names a PEM chain file
(leaf first, as ``wharfinger keys generate --provider awskms`` writes) for the Notary formats.
Credentials, region and endpoint come from the usual AWS chain (environment, profile, instance
role; ``AWS_ENDPOINT_URL`` for a local KMS). Only the payload is sent as is up to KMS's 4 KiB
limit (``MessageType=RAW``: every signature payload we make is far smaller); larger payloads
are hashed here and sent as ``MessageType=DIGEST``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import default_algorithm, hash_for
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

__all__ = ["AwsKmsKeyUri", "AwsKmsSigner", "create_awskms_signing_key", "parse_awskms_uri"]

_KMS_MAX_RAW_BYTES = 4096  # KMS Sign accepts RAW messages up to this size

_KMS_ALGORITHMS: dict[SignatureAlgorithm, str] = {
    SignatureAlgorithm.ECDSA_SHA256: "ECDSA_SHA_256",
    SignatureAlgorithm.ECDSA_SHA384: "ECDSA_SHA_384",
    SignatureAlgorithm.ECDSA_SHA512: "ECDSA_SHA_512",
    SignatureAlgorithm.RSASSA_PSS_SHA256: "RSASSA_PSS_SHA_256",
    SignatureAlgorithm.RSASSA_PSS_SHA384: "RSASSA_PSS_SHA_384",
    SignatureAlgorithm.RSASSA_PSS_SHA512: "RSASSA_PSS_SHA_512",
    SignatureAlgorithm.RSASSA_PKCS1V15_SHA256: "RSASSA_PKCS1_V1_5_SHA_256",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsKmsKeyUri:
    key_id: str  # id, alias/NAME or ARN
    endpoint: str | None = None  # host[:port]; None: the AWS default or AWS_ENDPOINT_URL
    certificate_path: str | None = None  # ?cert=: the key's PEM chain, leaf first (KMS holds none)

    def __str__(self) -> str:
        return f"awskms://{self.endpoint or ''}/{self.key_id}"


def parse_awskms_uri(uri: str) -> AwsKmsKeyUri:
    if not uri.startswith("awskms://"):
        raise InputError(f"not an AWS KMS key URI: {uri!r}", hint="write awskms:///alias/NAME or awskms:///KEY-ID")
    location, _, query = uri[len("awskms://") :].partition("?")
    endpoint, sep, key_id = location.partition("/")
    if not sep or not key_id:
        raise InputError(f"AWS KMS key URI {uri!r} names no key", hint="write awskms:///alias/NAME or awskms:///KEY-ID")
    options = parse_qs(query, keep_blank_values=True)
    if set(options) - {"cert"} or len(options.get("cert", [""])) != 1 or options.get("cert") == [""]:
        raise InputError(f"AWS KMS key URI {uri!r} has unknown options", hint="the only option is ?cert=CHAIN.pem")
    cert = options.get("cert")
    return AwsKmsKeyUri(key_id=key_id, endpoint=endpoint or None, certificate_path=cert[0] if cert else None)


class AwsKmsSigner:
    """A ``Signer`` whose key never leaves AWS KMS."""

    def __init__(
        self, key_uri: AwsKmsKeyUri, *, algorithm: SignatureAlgorithm | None = None, client: Any = None
    ) -> None:
        self._uri = key_uri
        self._client = client if client is not None else _make_client(key_uri)
        try:
            response = self._client.get_public_key(KeyId=key_uri.key_id)
        except Exception as exc:
            raise _translate(exc, key_uri, "read the public key of") from exc
        if response.get("KeyUsage", "SIGN_VERIFY") != "SIGN_VERIFY":
            raise KeyProviderError(
                f"KMS key {key_uri} is a {response['KeyUsage']} key, not a signing key",
                hint="create the key with KeyUsage=SIGN_VERIFY",
            )
        spki: bytes = response["PublicKey"]
        public_key = serialization.load_der_public_key(spki)
        self._algorithm = algorithm or default_algorithm(public_key)
        kms_algorithm = _KMS_ALGORITHMS.get(self._algorithm)
        if kms_algorithm is None or kms_algorithm not in response.get("SigningAlgorithms", [kms_algorithm]):
            raise KeyProviderError(
                f"KMS key {key_uri} cannot sign with {self._algorithm.value}",
                hint="create the key with KeyUsage=SIGN_VERIFY and an ECC_NIST_* or RSA_* key spec",
            )
        self._kms_algorithm = kms_algorithm
        chain = _read_chain(key_uri, spki) if key_uri.certificate_path else ()
        self._spec = KeySpec(
            key_id=str(key_uri), algorithm=self._algorithm, public_key_der=spki, certificate_chain=chain
        )

    def key(self) -> KeySpec:
        return self._spec

    def sign(self, payload: bytes) -> bytes:
        digest_algorithm = hash_for(self._algorithm)
        if digest_algorithm is None:  # pragma: no cover -- KMS has no Ed25519 signing keys
            raise KeyProviderError("AWS KMS has no Ed25519 signing")
        message, message_type = payload, "RAW"
        if len(payload) > _KMS_MAX_RAW_BYTES:
            hasher = hashes.Hash(digest_algorithm)
            hasher.update(payload)
            message, message_type = hasher.finalize(), "DIGEST"
        try:
            response = self._client.sign(
                KeyId=self._uri.key_id,
                Message=message,
                MessageType=message_type,
                SigningAlgorithm=self._kms_algorithm,
            )
        except Exception as exc:
            raise _translate(exc, self._uri, "sign with") from exc
        signature: bytes = response["Signature"]  # DER for ECDSA, as Signer promises
        return signature


def _read_chain(key_uri: AwsKmsKeyUri, spki: bytes) -> tuple[bytes, ...]:
    """The ``?cert=`` chain (DER, leaf first), refused unless its leaf certifies the KMS key."""
    path = Path(key_uri.certificate_path or "")
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the certificate chain {path} of {key_uri}", hint="check ?cert=") from exc
    except ValueError as exc:
        raise InputError(f"the certificate chain {path} of {key_uri} is not PEM", hint="PEM, leaf first") from exc
    leaf_spki = (
        certificates[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    if leaf_spki != spki:
        raise KeyProviderError(
            f"the certificate {path} does not certify the KMS key {key_uri}",
            hint="pass the chain written by `wharfinger keys generate` for this key",
        )
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in certificates)


# wharfinger keys generate --key-type -> KMS KeySpec (KMS has no Ed25519 signing keys).
_KMS_KEY_SPECS = {
    "ec-p256": "ECC_NIST_P256",
    "ec-p384": "ECC_NIST_P384",
    "ec-p521": "ECC_NIST_P521",
    "rsa-2048": "RSA_2048",
    "rsa-3072": "RSA_3072",
    "rsa-4096": "RSA_4096",
}


def create_awskms_signing_key(key_uri: AwsKmsKeyUri, key_type: str, *, client: Any = None) -> AwsKmsKeyUri:
    """Create a SIGN_VERIFY key in KMS under the URI's alias; returns the URI to open it by (the alias).

    Only ``alias/NAME`` URIs: KMS picks key ids itself. An alias already in use is refused before a key
    is made, so a second run never leaves an orphan key or moves the alias away from a key in use.
    """
    if not key_uri.key_id.startswith("alias/") or key_uri.key_id == "alias/":
        raise InputError(
            f"AWS KMS key URI {key_uri} names no alias", hint="KMS chooses key ids: write awskms:///alias/NAME"
        )
    key_spec = _KMS_KEY_SPECS.get(key_type)
    if key_spec is None:
        raise InputError(f"AWS KMS has no {key_type} signing keys", hint="use " + ", ".join(_KMS_KEY_SPECS))
    kms = client if client is not None else _make_client(key_uri)
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]  # noqa: PLC0415 -- comes with boto3

    try:
        kms.describe_key(KeyId=key_uri.key_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFoundException":
            raise _translate(exc, key_uri, "look up") from exc
    except Exception as exc:
        raise _translate(exc, key_uri, "look up") from exc
    else:
        raise InputError(
            f"AWS KMS alias {key_uri.key_id} already names a key",
            hint="choose another alias, or sign with the existing key",
        )
    try:
        created = kms.create_key(
            KeyUsage="SIGN_VERIFY", KeySpec=key_spec, Description="wharfinger keys generate: image signing"
        )
        key_id = created["KeyMetadata"]["KeyId"]
    except Exception as exc:
        raise _translate(exc, key_uri, "create") from exc
    try:
        kms.create_alias(AliasName=key_uri.key_id, TargetKeyId=key_id)
    except Exception as exc:
        # the new key is unreachable by its alias: schedule its deletion rather than leave it billed
        with contextlib.suppress(Exception):  # the alias error below is the one to report
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        raise _translate(exc, key_uri, "name") from exc
    return key_uri


def _make_client(key_uri: AwsKmsKeyUri) -> Any:
    try:
        import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 -- optional extra wharfinger[aws]
    except ImportError as exc:
        raise KeyProviderError("AWS KMS keys need the boto3 library", hint="pip install 'wharfinger[aws]'") from exc
    endpoint = f"https://{key_uri.endpoint}" if key_uri.endpoint else None
    return boto3.client("kms", endpoint_url=endpoint)


def _translate(exc: Exception, key_uri: AwsKmsKeyUri, action: str) -> KeyProviderError:
    """Turn botocore's errors into ours; botocore is only imported when KMS is used."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 -- typed ignore at the first import

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        hint = {
            "NotFoundException": "check the key id or alias, and the region (AWS_REGION)",
            "AccessDeniedException": "the caller needs kms:Sign and kms:GetPublicKey on this key",
            "DisabledException": "enable the key, or sign with the key that replaced it",
        }.get(code, "check the AWS credentials and region")
        return KeyProviderError(f"AWS KMS refused to {action} {key_uri}: {code}", hint=hint)
    if isinstance(exc, BotoCoreError):
        return KeyProviderError(
            f"cannot reach AWS KMS to {action} {key_uri}: {type(exc).__name__}",
            hint="check the network, AWS_REGION and AWS_ENDPOINT_URL",
        )
    return KeyProviderError(f"AWS KMS failed to {action} {key_uri}: {type(exc).__name__}")
