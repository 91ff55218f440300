"""``wharfinger verify-attestation IMAGE --key PUB --type TYPE``: verify in-toto attestations, print predicates.

Reads the DSSE envelopes of the image's ``sha256-<hex>.att`` manifest (where ``wharfinger attest``
and ``cosign attest`` put them), verifies each with the given public keys, keeps those whose
statement is about this image's digest and has the asked predicate type, and prints their
predicates (text: one JSON document per attestation; ``-o json``: a report with every
envelope's outcome). Exit 0 when at least one attestation of that type verifies, 1 otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from wharfinger.cli.options import CaBundle, Http2, ImageReference, InsecureHosts

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(
        "verify-attestation",
        help="Verify an image's in-toto attestations (cosign .att) with public keys; print the predicates.",
    )(verify_attestation_command)


def verify_attestation_command(
    image: ImageReference,
    key: Annotated[list[Path], typer.Option("--key", help="Public key (PEM) trusted to attest; repeatable.")],
    predicate_type: Annotated[
        str,
        typer.Option("--type", help="slsaprovenance, slsaprovenance1, slsaprovenance02, vuln, cyclonedx, or a URI."),
    ] = "slsaprovenance",
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
    output: Annotated[
        list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: text (default), json.")
    ] = None,
) -> None:
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.cli.registry_access import client_for, resolve_descriptor
    from wharfinger.errors import VerificationError
    from wharfinger.oci.digest import sha256_digest
    from wharfinger.oci.reference import parse_ref
    from wharfinger.signing.cosign.attestation import plain_json, predicate_types_for, verify_dsse_with_keys
    from wharfinger.signing.cosign.registry import fetch_attestations
    from wharfinger.signing.cosign.trust import load_cosign_key

    targets = parse_outputs(output, allowed=("text", "json"), default="text")
    wanted = predicate_types_for(predicate_type)
    keys = tuple(load_cosign_key(path) for path in key)
    ref = parse_ref(image)
    with client_for(ref, insecure=tuple(insecure or ()), ca_bundle=ca_bundle, http2=http2) as client:
        subject = resolve_descriptor(client, ref)
        found = fetch_attestations(client, ref.repository, subject.digest)
    entries: list[dict[str, Any]] = []
    for envelope in found.envelopes:
        outcome = verify_dsse_with_keys(envelope, subject.digest, keys)
        statement = outcome.statement
        of_type = statement is not None and statement.predicate_type in wanted
        entries.append(
            {
                "digest": sha256_digest(envelope),
                "verified": outcome.verified and of_type,
                "reason": outcome.reason
                if not outcome.verified or of_type
                else f"predicate type {statement.predicate_type if statement else '?'} is not {' or '.join(wanted)}",
                "signer": outcome.signer,
                "predicateType": statement.predicate_type if statement else None,
                "predicate": plain_json(statement.predicate) if outcome.verified and of_type and statement else None,
            }
        )
    good = [e for e in entries if e["verified"]]
    if good:
        message = f"{len(good)} {' or '.join(wanted)} attestation(s) verified"
    elif not entries:
        message = f"no attestations found for {subject.digest}; attach one with `wharfinger attest`"
    else:
        message = f"no {' or '.join(wanted)} attestation verifies: " + "; ".join(e["reason"] for e in entries)
    report = {
        "reference": f"{ref.registry}/{ref.repository}@{subject.digest}",
        "digest": subject.digest,
        "verified": bool(good),
        "message": message,
        "attestations": entries,
    }

    def render(fmt: str) -> str:
        if fmt == "json":
            return json.dumps(report, indent=2)
        return "\n".join(json.dumps(e["predicate"], indent=2, sort_keys=True) for e in good)

    if good:
        write_outputs(targets, render)
        typer.echo(f"{report['reference']}: {message}", err=True)
        return
    if any(t.format == "json" for t in targets):
        write_outputs([t for t in targets if t.format == "json"], render)
    raise VerificationError(message, hint="check --key and --type, and that the attestation names this image digest")
