"""``wharfinger verify-blob FILE --bundle BUNDLE``: verify a Sigstore bundle over a file, as cosign does.

Keyless (``--certificate-identity[-regexp]`` and ``--certificate-oidc-issuer[-regexp]``) or by
key (``--key cosign.pub``, for ``cosign sign-blob --key … --bundle``; signed timestamps in the
bundle are verified against the trusted root's TSAs),
against ``--trusted-root FILE`` or the Sigstore public-good root that the sigstore library ships
(``--staging`` for its staging root). Nothing is fetched: the transparency-log proof is in the
bundle. Exit 0 when the bundle verifies, 1 when it does not (the reason is printed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("verify-blob", help="Verify a Sigstore bundle over a file (keyless identity or --key, offline).")(
        verify_blob_command
    )


def verify_blob_command(
    file: Annotated[Path, typer.Argument(help="The signed file.")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The Sigstore bundle (.sigstore.json).")],
    certificate_identity: Annotated[
        str | None, typer.Option("--certificate-identity", help="The signer's exact identity (SAN).")
    ] = None,
    certificate_identity_regexp: Annotated[
        str | None, typer.Option("--certificate-identity-regexp", help="A regexp the identity matches.")
    ] = None,
    certificate_oidc_issuer: Annotated[
        str | None, typer.Option("--certificate-oidc-issuer", help="The exact OIDC issuer.")
    ] = None,
    certificate_oidc_issuer_regexp: Annotated[
        str | None, typer.Option("--certificate-oidc-issuer-regexp", help="A regexp the issuer matches.")
    ] = None,
    trusted_root: Annotated[
        Path | None, typer.Option("--trusted-root", help="Sigstore trusted_root.json (default: public-good).")
    ] = None,
    staging: Annotated[bool, typer.Option("--staging", help="Use Sigstore's staging trust root.")] = False,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="A public key (PEM): verify a key-signed bundle instead of an identity."),
    ] = None,
    offline: Annotated[  # noqa: ARG001 -- accepted for cosign compatibility: verification never goes online
        bool, typer.Option("--offline", help="Accepted for cosign compatibility: nothing is ever fetched.")
    ] = True,
    output: Annotated[list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE]: text, json.")] = None,
) -> None:
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.errors import InputError, VerificationError
    from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle

    targets = parse_outputs(output, allowed=("text", "json"), default="text")
    try:
        artifact = file.read_bytes()
        bundle_bytes = bundle.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    identity = IdentityPolicy(
        subject=certificate_identity, subject_regex=certificate_identity_regexp,
        issuer=certificate_oidc_issuer, issuer_regex=certificate_oidc_issuer_regexp,
    )  # fmt: skip
    identity_given = any(
        (certificate_identity, certificate_identity_regexp, certificate_oidc_issuer, certificate_oidc_issuer_regexp)
    )
    if key is not None and identity_given:
        raise InputError(
            "--key and --certificate-identity/--certificate-oidc-issuer exclude each other",
            hint="a bundle is signed either by a key or by a Fulcio identity: pass the one that signed it",
        )
    if key is None and (
        not (certificate_identity or certificate_identity_regexp)
        or not (certificate_oidc_issuer or certificate_oidc_issuer_regexp)
    ):
        raise InputError(
            "verify-blob needs the signer's identity and issuer",
            hint="pass --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or --key",
        )
    root = load_trusted_root(trusted_root) if trusted_root else _shipped_root(staging=staging)
    if key is not None:
        from wharfinger.signing.cosign.bundle_key import TrustedPublicKey, verify_bundle_with_key
        from wharfinger.signing.cosign.trust import load_cosign_key

        trusted = load_cosign_key(key)
        result = verify_bundle_with_key(
            bundle_bytes,
            artifact=artifact,
            key=TrustedPublicKey(name=trusted.name, public_key=trusted.public_key),
            trusted_root=root,
        )
    else:
        result = verify_bundle(bundle_bytes, artifact=artifact, trusted_root=root, identity=identity)
    report = {"file": str(file), "verified": result.verified, "reason": result.reason,
              "identity": list(result.identity), "issuer": result.issuer}  # fmt: skip
    write_outputs(targets, lambda fmt: json.dumps(report, indent=2) if fmt == "json" else
                  f"{file}: {'VERIFIED' if result.verified else 'NOT VERIFIED'} — {result.reason}")  # fmt: skip
    if not result.verified:
        raise VerificationError(f"{file} did not verify: {result.reason}")


def _shipped_root(*, staging: bool) -> TrustedRoot:
    from sigstore.models import ClientTrustConfig

    config = ClientTrustConfig.staging(offline=True) if staging else ClientTrustConfig.production(offline=True)
    return config.trusted_root
