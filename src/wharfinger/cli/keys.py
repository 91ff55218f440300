"""``wharfinger keys generate``: a key and a code-signing certificate for test pipelines.

Writes ``OUT/NAME.pem`` (PKCS#8, encrypted when the passphrase variable is set) and
``OUT/NAME.crt`` (PEM chain, leaf first): exactly what ``--key file:OUT/NAME.pem`` reads.
Optionally drops the chain's root into a Notary trust store (``--trust-store DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

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
) -> None:
    from cryptography.hazmat.primitives import serialization

    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.signing.keys.file import open_file_signer
    from wharfinger.signing.keys.generate import GeneratedIdentity, KeyType, generate_identity

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
    identity = generate_identity(
        subject=subject, now=SystemClock().now(), key_type=kind, days=days, ca=ca, issuer=issuing,
        crl_url=crl_url, ocsp_url=ocsp_url,
    )  # fmt: skip
    passphrase = os.environ.get(passphrase_env)
    out.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out / f"{name}.pem", out / f"{name}.crt"
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.write_bytes(identity.private_key_pem(passphrase.encode() if passphrase else None))
    cert_path.write_bytes(identity.chain_pem())
    if trust_store is not None:
        store_dir = trust_store / "x509" / "ca" / store_name
        store_dir.mkdir(parents=True, exist_ok=True)
        root = identity.chain[-1]
        (store_dir / f"{name}-root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    typer.echo(f"{key_path}\n{cert_path}")
