"""``wharfinger attest IMAGE --key URI --type TYPE --predicate FILE``: sign an in-toto statement, attach it.

The statement names the image's digest (resolved and hashed here, never taken from the
registry's word) and is stored cosign's way, as a DSSE layer of the ``sha256-<hex>.att``
manifest, where the admission webhook reads it. ``--type vuln`` is the vulnerability-scan
predicate the ``vulnerabilities`` policy rule reads; ``--type slsaprovenance`` is SLSA v1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from wharfinger.cli.options import CaBundle, Http2, InsecureHosts

__all__ = ["register"]

PREDICATE_TYPES = {
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "slsaprovenance": "https://slsa.dev/provenance/v1",
    "cyclonedx": "https://cyclonedx.org/bom",
}


def attest(
    image: Annotated[str, typer.Argument(help="Image reference (tag or digest).")],
    key: Annotated[str, typer.Option("--key", help="Key URI: file:PATH (or a path); other providers by scheme.")],
    predicate: Annotated[Path, typer.Option("--predicate", help="The predicate JSON file.")],
    predicate_type: Annotated[
        str, typer.Option("--type", help="vuln, slsaprovenance, cyclonedx, or a predicate type URI.")
    ] = "vuln",
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
) -> None:
    """Attach a signed attestation (the webhook's `attestations` and `vulnerabilities` rules read it)."""
    from wharfinger.admission.attest import attest_image
    from wharfinger.cli.registry_access import client_for, resolve_descriptor
    from wharfinger.errors import InputError
    from wharfinger.oci.reference import parse_ref
    from wharfinger.signing.keys.algorithms import SignatureFormat
    from wharfinger.signing.keys.providers import open_signer_for

    kind = PREDICATE_TYPES.get(predicate_type, predicate_type)
    if "://" not in kind:
        raise InputError(
            f"--type {predicate_type!r} is neither a known short name nor a URI",
            hint=f"use one of {', '.join(PREDICATE_TYPES)} or a full predicate type URI",
        )
    try:
        document = json.loads(predicate.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the predicate {predicate} as JSON: {exc}", hint="pass a JSON file") from exc
    if not isinstance(document, dict):
        raise InputError(f"the predicate in {predicate} is not a JSON object", hint="an in-toto predicate is an object")
    ref = parse_ref(image)
    signer = open_signer_for(key, os.environ, SignatureFormat.COSIGN)  # cosign's .att: its algorithms
    with client_for(ref, insecure=tuple(insecure or ()), ca_bundle=ca_bundle, http2=http2) as client:
        subject = resolve_descriptor(client, ref)
        pushed = attest_image(
            client, ref.repository, subject.digest, predicate_type=kind, predicate=document, signer=signer
        )
    typer.echo(f"{ref.registry}/{ref.repository}@{subject.digest} attested ({kind}): {pushed}")


def register(app: typer.Typer) -> None:
    app.command("attest")(attest)
