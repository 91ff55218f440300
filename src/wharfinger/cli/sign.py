"""``wharfinger sign IMAGE --key URI --format FORMAT``: sign an image's digest and push the signature.

A tag is resolved to the digest of its manifest first; the digest is what gets signed (a tag alone
is never signed). Formats live in ``SIGNATURE_FORMATS``: each maps a ``SignRequest`` to the
pushed signature's descriptor, so other signature families add an entry, not a branch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wharfinger.cli.options import CaBundle, Http2, ImageReference, InsecureHosts

if TYPE_CHECKING:
    from wharfinger.oci.client import RegistryClient
    from wharfinger.oci.manifest import Descriptor
    from wharfinger.oci.reference import ImageRef
    from wharfinger.signing.keys.signer import Signer

__all__ = ["SIGNATURE_FORMATS", "SignRequest", "parse_metadata", "register", "run_sign"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignRequest:
    client: RegistryClient
    ref: ImageRef  # pinned: carries the digest that is signed
    subject: Descriptor
    signer: Signer
    now: datetime
    expiry: timedelta | None = None
    timestamp_url: str | None = None
    timestamp_roots: tuple[bytes, ...] = ()  # PEM/DER TSA root certificates (--timestamp-root-cert)
    user_metadata: tuple[tuple[str, str], ...] = ()  # --user-metadata KEY=VALUE, signed into the payload
    referrers: bool = False  # cosign: attach as an OCI 1.1 referrer instead of the .sig tag


def _sign_notation(media_type: str) -> Callable[[SignRequest], Descriptor]:
    def sign(request: SignRequest) -> Descriptor:
        from wharfinger.signing.notary.http import HttpTimestamper
        from wharfinger.signing.notary.model import EnvelopeMediaType, TargetDescriptor
        from wharfinger.signing.notary.registry import push_signature
        from wharfinger.signing.notary.sign import build_envelope

        target = TargetDescriptor(
            media_type=request.subject.media_type,
            digest=request.subject.digest,
            size=request.subject.size,
            annotations=tuple(sorted(request.user_metadata)),
        )
        envelope = build_envelope(
            EnvelopeMediaType(media_type),
            target,
            request.signer,
            request.now,
            expiry=request.now + request.expiry if request.expiry else None,
            timestamp=HttpTimestamper(request.timestamp_url, roots=_load_roots(request.timestamp_roots))
            if request.timestamp_url
            else None,
        )
        return push_signature(
            request.client,
            request.ref.repository,
            request.subject,
            envelope,
            media_type=media_type,
            chain=request.signer.key().certificate_chain,
        )

    return sign


def _load_roots(blobs: tuple[bytes, ...]) -> tuple[Any, ...]:
    from cryptography import x509

    from wharfinger.errors import InputError

    roots: list[Any] = []
    for data in blobs:
        try:
            roots += (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        except ValueError as exc:
            raise InputError(
                "--timestamp-root-cert is not a PEM or DER certificate", hint="pass the TSA's root CA"
            ) from exc
    return tuple(roots)


def _sign_cosign(request: SignRequest) -> Descriptor:
    from wharfinger.signing.cosign.registry import append_signature, attach_signature_referrer
    from wharfinger.signing.cosign.simplesigning import build_signature_layer

    docker_reference = f"{request.ref.registry}/{request.ref.repository}"
    payload, layer = build_signature_layer(docker_reference, request.subject.digest, request.signer)
    if request.referrers:
        return attach_signature_referrer(request.client, request.ref.repository, request.subject, payload, layer)
    return append_signature(request.client, request.ref.repository, request.subject.digest, payload, layer)


# Format name -> signer-and-pusher.
SIGNATURE_FORMATS: dict[str, Callable[[SignRequest], Descriptor]] = {
    "notation-jws": _sign_notation("application/jose+json"),
    "notation-cose": _sign_notation("application/cose"),
    "cosign": _sign_cosign,
}
# Format name -> the signature family (``signing.keys.algorithms.SignatureFormat``) whose key rule and algorithm apply.
FORMAT_FAMILIES: dict[str, str] = {"notation-jws": "notary", "notation-cose": "notary", "cosign": "cosign"}


def register(app: typer.Typer) -> None:
    app.command("sign", help="Sign an image (by digest) and push the signature to its registry as an OCI referrer.")(
        sign_command
    )


def parse_metadata(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--user-metadata KEY=VALUE`` pairs (Notation's flag); the ``io.cncf.notary`` prefix is reserved."""
    from wharfinger.errors import InputError

    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise InputError(f"--user-metadata {value!r} is not KEY=VALUE", hint="e.g. --user-metadata buildId=123")
        if key.startswith("io.cncf.notary"):
            raise InputError(f"--user-metadata key {key!r} uses the reserved io.cncf.notary prefix", hint="rename it")
        if key in pairs:
            raise InputError(f"--user-metadata key {key!r} is given twice", hint="give each key once")
        pairs[key] = text
    return tuple(sorted(pairs.items()))


def _parse_duration(text: str) -> timedelta:
    from wharfinger.errors import InputError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise InputError(f"invalid duration {text!r}", hint="use a positive number with s, m, h or d: 90d, 12h")
    return timedelta(seconds=int(number) * units[unit])


def sign_command(
    image: ImageReference,
    key: Annotated[str, typer.Option("--key", help="Key URI: file:PATH (or a path); other providers by scheme.")],
    signature_format: Annotated[
        str, typer.Option("--format", help="Signature format: " + ", ".join(SIGNATURE_FORMATS) + ".")
    ] = "notation-jws",
    timestamp_url: Annotated[
        str | None, typer.Option("--timestamp-url", help="RFC 3161 timestamp authority to countersign with.")
    ] = None,
    timestamp_root_cert: Annotated[
        Path | None,
        typer.Option("--timestamp-root-cert", help="TSA root certificate: the timestamp is verified before pushing."),
    ] = None,
    expiry: Annotated[
        str | None, typer.Option("--expiry", help="Signature expiry after signing time, e.g. 90d, 12h.")
    ] = None,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
    user_metadata: Annotated[
        list[str] | None,
        typer.Option("--user-metadata", "-m", help="KEY=VALUE signed into the payload's annotations (repeatable)."),
    ] = None,
    output: Annotated[
        list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE]: text (default, the digest), json.")
    ] = None,
    referrers: Annotated[
        bool,
        typer.Option(
            "--referrers", help="cosign: attach the signature as an OCI 1.1 referrer instead of the .sig tag."
        ),
    ] = False,
) -> None:
    run_sign(image, key=key, signature_format=signature_format, timestamp_url=timestamp_url, expiry=expiry,
             insecure=tuple(insecure or ()), outputs=output, timestamp_root_cert=timestamp_root_cert,
             ca_bundle=ca_bundle, http2=http2, user_metadata=parse_metadata(user_metadata),
             referrers=referrers)  # fmt: skip


def run_sign(
    image: str,
    *,
    key: str,
    signature_format: str,
    timestamp_url: str | None,
    expiry: str | None,
    insecure: bool | tuple[str, ...],
    outputs: list[str] | None,
    timestamp_root_cert: Path | None = None,
    ca_bundle: Path | None = None,
    http2: bool = False,
    user_metadata: tuple[tuple[str, str], ...] = (),
    referrers: bool = False,
) -> None:
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.cli.registry_access import client_for, resolve_descriptor
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.oci.reference import parse_ref
    from wharfinger.signing.keys.algorithms import SignatureFormat
    from wharfinger.signing.keys.providers import open_signer_for

    targets = parse_outputs(outputs, allowed=("text", "json"), default="text")
    sign = SIGNATURE_FORMATS.get(signature_format)
    if sign is None:
        raise InputError(
            f"unknown signature format {signature_format!r}", hint="choose one of: " + ", ".join(SIGNATURE_FORMATS)
        )
    lifetime = _parse_duration(expiry) if expiry else None
    if timestamp_root_cert is not None and not timestamp_root_cert.is_file():
        raise InputError(
            f"--timestamp-root-cert {timestamp_root_cert} does not exist", hint="pass the TSA root CA file"
        )
    roots = (timestamp_root_cert.read_bytes(),) if timestamp_root_cert is not None else ()
    ref = parse_ref(image)
    signer = open_signer_for(key, os.environ, SignatureFormat(FORMAT_FAMILIES[signature_format]))
    with client_for(ref, insecure=insecure, ca_bundle=ca_bundle, http2=http2) as client:
        subject = resolve_descriptor(client, ref)
        pinned = ref.with_digest(subject.digest)
        request = SignRequest(
            client=client, ref=pinned, subject=subject, signer=signer, now=SystemClock().now(), expiry=lifetime,
            timestamp_url=timestamp_url, timestamp_roots=roots, user_metadata=user_metadata, referrers=referrers,
        )  # fmt: skip
        pushed = sign(request)
    report = {
        "signature": pushed.digest,
        "subject": str(pinned),
        "format": signature_format,
        "key": signer.key().key_id,
    }
    write_outputs(targets, lambda fmt: pushed.digest if fmt == "text" else json.dumps(report, indent=2))
