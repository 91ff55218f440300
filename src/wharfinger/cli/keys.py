"""``wharfinger keys generate``: a key and a code-signing certificate for test pipelines.

Writes ``OUT/NAME.pem`` (PKCS#8, encrypted when the passphrase variable is set) and
``OUT/NAME.crt`` (PEM chain, leaf first): exactly what ``--key file:OUT/NAME.pem`` reads.
Optionally drops the chain's root into a Notary trust store (``--trust-store DIR``).

``--provider pkcs11 --key-uri pkcs11:token=T;object=LABEL`` generates the key pair inside the token
instead, stores the certificate there beside it (same label and id, where ``--key pkcs11:...`` finds
it), still writes ``OUT/NAME.crt``, and prints the key URI.

``--provider awskms --key-uri awskms:///alias/NAME`` creates a SIGN_VERIFY key in KMS under that alias and
certifies it (self-signed by the KMS key, or issued by ``--issuer``). KMS stores no certificates, so the
chain is only written to ``OUT/NAME.crt``, and the printed key URI names it: ``awskms:///alias/NAME?cert=…``.

``--provider azurekv --key-uri azurekv://VAULT/NAME`` creates the key in Key Vault, certifies it, and stores
the PEM chain as the secret NAME (tagged ``wharfinger-chain=1``), where ``--key azurekv://VAULT/NAME``
finds it: Key Vault imports certificates only together with their private key, which never leaves it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from cryptography import x509

    from wharfinger.signing.keys.generate import GeneratedIdentity
    from wharfinger.signing.keys.signer import SignatureAlgorithm, Signer

__all__ = ["keys_app", "register"]

keys_app = typer.Typer(help="Create and manage signing keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("generate", help="Generate a key with a self-signed or CA-issued code-signing certificate.")
def generate_command(
    name: Annotated[str, typer.Argument(help="File name stem: writes NAME.pem and NAME.crt.")],
    subject: Annotated[
        str, typer.Option("--subject", help="Certificate subject, e.g. 'CN=ci,O=Acme,L=Seattle,ST=WA,C=US'.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path(),
    key_type: Annotated[
        str, typer.Option("--key-type", help="ec-p256 (default), ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096.")
    ] = "ec-p256",
    days: Annotated[int, typer.Option("--days", help="Validity in days.")] = 365,
    ca: Annotated[bool, typer.Option("--ca", help="Make a CA certificate (to issue signing certificates).")] = False,
    issuer: Annotated[
        Path | None, typer.Option("--issuer", help="CA key file (its NAME.crt beside it) that issues this one.")
    ] = None,
    passphrase_env: Annotated[
        str, typer.Option("--passphrase-env", help="Variable holding the passphrase that encrypts the new key.")
    ] = "WHARFINGER_KEY_PASSPHRASE",  # noqa: S107 -- a variable name, not a secret
    crl_url: Annotated[str | None, typer.Option("--crl-url", help="CRL distribution point to embed.")] = None,
    ocsp_url: Annotated[str | None, typer.Option("--ocsp-url", help="OCSP responder URL to embed.")] = None,
    trust_store: Annotated[
        Path | None, typer.Option("--trust-store", help="Also put the chain's root into DIR/x509/ca/STORE/.")
    ] = None,
    store_name: Annotated[str, typer.Option("--store-name", help="Trust store name for --trust-store.")] = "default",
    provider: Annotated[
        str,
        typer.Option(
            "--provider", help="Where the key lives: file (default), pkcs11 (generated in the token), awskms, azurekv."
        ),
    ] = "file",
    key_uri: Annotated[
        str | None,
        typer.Option(
            "--key-uri",
            help="The new key: pkcs11:token=T;object=LABEL[;id=%XX], awskms:///alias/NAME or azurekv://VAULT/NAME.",
        ),
    ] = None,
) -> None:
    from cryptography.hazmat.primitives import serialization

    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.signing.keys.file import open_file_signer
    from wharfinger.signing.keys.generate import GeneratedIdentity, KeyType, generate_identity

    if provider not in {"file", "pkcs11", "awskms", "azurekv"}:
        raise InputError(f"unknown key provider {provider!r}", hint="use --provider file, pkcs11, awskms or azurekv")
    if provider == "file" and key_uri is not None:
        raise InputError("--key-uri is not for --provider file", hint="file keys are written to --out")
    try:
        kind = KeyType(key_type)
    except ValueError:
        raise InputError(
            f"unknown key type {key_type!r}", hint="choose one of: " + ", ".join(k.value for k in KeyType)
        ) from None
    issuing: GeneratedIdentity | None = None
    if issuer is not None:
        signer = open_file_signer(str(issuer), os.environ)
        from cryptography import x509

        chain = tuple(x509.load_der_x509_certificate(der) for der in signer.key().certificate_chain)
        if not chain:
            raise InputError(
                f"issuer {issuer} has no certificate beside it", hint=f"expected {issuer.with_suffix('.crt')}"
            )
        issuing = GeneratedIdentity(private_key=signer._key, chain=chain)  # noqa: SLF001 -- same provider family
    out.mkdir(parents=True, exist_ok=True)
    cert_path = out / f"{name}.crt"
    if provider != "file":
        generate = {"pkcs11": _generate_in_token, "azurekv": _generate_in_key_vault, "awskms": _generate_in_kms}
        certificate = _Certificate(
            subject=subject, days=days, ca=ca, issuer=issuing, crl_url=crl_url, ocsp_url=ocsp_url
        )
        chain, printed = generate[provider](key_uri, kind, certificate)
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        if provider == "awskms":
            typer.echo("AWS KMS stores no certificates: the key URI names the chain file (?cert=); keep it", err=True)
            printed = f"{printed}?cert={cert_path}"
        root = chain[-1]
    else:
        identity = generate_identity(
            subject=subject, now=SystemClock().now(), key_type=kind, days=days, ca=ca, issuer=issuing,
            crl_url=crl_url, ocsp_url=ocsp_url,
        )  # fmt: skip
        passphrase = os.environ.get(passphrase_env)
        key_path = out / f"{name}.pem"
        key_path.touch(mode=0o600, exist_ok=True)
        key_path.write_bytes(identity.private_key_pem(passphrase.encode() if passphrase else None))
        cert_path.write_bytes(identity.chain_pem())
        printed = str(key_path)
        root = identity.chain[-1]
    if trust_store is not None:
        store_dir = trust_store / "x509" / "ca" / store_name
        store_dir.mkdir(parents=True, exist_ok=True)
        (store_dir / f"{name}-root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    typer.echo(f"{printed}\n{cert_path}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Certificate:
    """What the new certificate says, the same whichever provider holds the key."""

    subject: str
    days: int
    ca: bool
    issuer: GeneratedIdentity | None
    crl_url: str | None
    ocsp_url: str | None

    def checked_key_uri(self, provider: str, key_uri: str | None, example: str) -> str:
        """The key URI a provider needs, once validity and subject are known good: nothing is created
        (or billed) in a token, KMS or vault for a request that would fail afterwards."""
        from wharfinger.errors import InputError
        from wharfinger.signing.keys.generate import check_validity_days, parse_subject

        if key_uri is None:
            raise InputError(f"--provider {provider} needs --key-uri", hint=f"e.g. --key-uri {example}")
        check_validity_days(self.days)
        parse_subject(self.subject)
        return key_uri

    def issue(self, signer: Signer) -> tuple[x509.Certificate, ...]:
        """The chain for the provider's key: signed by that key itself, or by the issuer."""
        from wharfinger.clock import SystemClock
        from wharfinger.signing.keys.generate import certify_signer_key

        return certify_signer_key(
            subject=self.subject, signer=signer, now=SystemClock().now(), days=self.days, ca=self.ca,
            issuer=self.issuer, crl_url=self.crl_url, ocsp_url=self.ocsp_url,
        )  # fmt: skip


def _self_certifying_algorithm(key_type: str) -> SignatureAlgorithm | None:
    """RSA keys self-sign their certificate with PKCS#1 v1.5 (see certify_signer_key); signing later uses PSS."""
    from wharfinger.signing.keys.signer import SignatureAlgorithm

    return SignatureAlgorithm.RSASSA_PKCS1V15_SHA256 if key_type.startswith("rsa-") else None


def _generate_in_token(
    key_uri: str | None, key_type: str, certificate: _Certificate
) -> tuple[tuple[x509.Certificate, ...], str]:
    """Key pair in the token, certificate signed by the token (or the issuer), stored beside the key."""
    from cryptography.hazmat.primitives import serialization

    from wharfinger.signing.keys.pkcs11 import (
        Pkcs11Signer,
        generate_pkcs11_key_pair,
        parse_pkcs11_uri,
        store_pkcs11_certificate,
    )

    uri = certificate.checked_key_uri("pkcs11", key_uri, "'pkcs11:token=ci;object=release'")
    parsed = generate_pkcs11_key_pair(parse_pkcs11_uri(uri), key_type)
    signer = Pkcs11Signer(parsed, algorithm=_self_certifying_algorithm(key_type))
    try:
        chain = certificate.issue(signer)
    finally:
        signer.close()
    store_pkcs11_certificate(parsed, tuple(c.public_bytes(serialization.Encoding.DER) for c in chain))
    return chain, parsed.redacted()


def _generate_in_kms(
    key_uri: str | None, key_type: str, certificate: _Certificate
) -> tuple[tuple[x509.Certificate, ...], str]:
    """Signing key in AWS KMS under an alias, certificate signed by the KMS key (or the issuer)."""
    from wharfinger.signing.keys.awskms import AwsKmsSigner, create_awskms_signing_key, parse_awskms_uri

    uri = certificate.checked_key_uri("awskms", key_uri, "awskms:///alias/release-signing")
    parsed = create_awskms_signing_key(parse_awskms_uri(uri), key_type)
    chain = certificate.issue(AwsKmsSigner(parsed, algorithm=_self_certifying_algorithm(key_type)))
    return chain, str(parsed)


def _generate_in_key_vault(
    key_uri: str | None, key_type: str, certificate: _Certificate
) -> tuple[tuple[x509.Certificate, ...], str]:
    """Key in Azure Key Vault, certificate signed by it (or the issuer), chain stored as the same-named secret."""
    from cryptography.hazmat.primitives import serialization

    from wharfinger.signing.keys.azurekv import (
        AzureKeyVaultSigner,
        azure_credential,
        create_azurekv_signing_key,
        parse_azurekv_uri,
        store_azurekv_certificate_chain,
    )

    parsed = parse_azurekv_uri(certificate.checked_key_uri("azurekv", key_uri, "azurekv://myvault/release-signing"))
    credential = azure_credential()  # one credential (one token) for every call
    create_azurekv_signing_key(parsed, key_type, credential=credential)
    algorithm = _self_certifying_algorithm(key_type)
    chain = certificate.issue(AzureKeyVaultSigner(parsed, credential=credential, algorithm=algorithm))
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain).decode()
    store_azurekv_certificate_chain(parsed, chain_pem, credential=credential)
    return chain, str(parsed)
