"""``wharfinger verify IMAGE``: which signatures an image has, which verified, and why each failed.

Verification methods live in ``VERIFY_METHODS``; each says from the options whether it applies
(Notary Project: ``--trust-policy`` and ``--trust-store``) and returns an ``ImageReport``.
signing-cosign adds key-based and keyless methods as entries. Exit 0 when the image verified,
1 when it did not (the report says why), 3 for a bad trust policy or store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from wharfinger.signing.notary.image import ImageVerification
    from wharfinger.signing.notary.model import CheckResult

__all__ = ["VERIFY_METHODS", "VerifyMethod", "VerifyOptions", "notary_report", "register", "run_verify"]

FORMATS = ("table", "json")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    image: str
    trust_policy: Path | None = None
    trust_store: Path | None = None
    insecure: bool | tuple[str, ...] = ()  # hosts reached without TLS (True: the image's own host)
    ca_bundle: Path | None = None
    user_metadata: tuple[tuple[str, str], ...] = ()  # --user-metadata KEY=VALUE the signature must carry
    revocation: bool = True  # check OCSP/CRL online when certificates name endpoints
    extra: dict[str, object] = field(default_factory=dict)  # options other methods add


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyMethod:
    name: str
    applies: Callable[[VerifyOptions], bool]
    run: Callable[[VerifyOptions], tuple[bool, dict[str, Any]]]  # (verified, report)


def _verify_notary(options: VerifyOptions) -> tuple[bool, dict[str, Any]]:
    from wharfinger.cli.registry_access import client_for, resolve_descriptor
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.oci.reference import parse_ref
    from wharfinger.signing.notary.http import HttpRevocationFetcher
    from wharfinger.signing.notary.registry import verify_image
    from wharfinger.signing.notary.revocation import FetchingRevocationChecker, NoRevocationSource
    from wharfinger.signing.notary.trustpolicy import parse_trust_policy
    from wharfinger.signing.notary.truststore import load_trust_store
    from wharfinger.signing.notary.verifier import TrustMaterial

    assert options.trust_policy is not None  # noqa: S101 -- `applies` checked it
    assert options.trust_store is not None  # noqa: S101
    if not options.trust_policy.is_file():
        raise InputError(
            f"trust policy {options.trust_policy} does not exist", hint="pass --trust-policy trustpolicy.json"
        )
    trust = TrustMaterial(
        policy=parse_trust_policy(options.trust_policy.read_bytes()), store=load_trust_store(options.trust_store)
    )
    ref = parse_ref(options.image)
    revocation = FetchingRevocationChecker(HttpRevocationFetcher()) if options.revocation else NoRevocationSource()
    with client_for(ref, insecure=options.insecure, ca_bundle=options.ca_bundle) as client:
        subject = resolve_descriptor(client, ref)
        result = verify_image(
            client, ref.repository, subject, trust, SystemClock().now(), revocation=revocation,
            user_metadata=dict(options.user_metadata), registry=ref.registry,
        )  # fmt: skip
    return result.verified, notary_report(result)


def notary_report(result: ImageVerification) -> dict[str, Any]:
    return {
        "method": "notation",
        "reference": result.reference,
        "digest": result.digest,
        "verified": result.verified,
        "message": result.message,
        "trustPolicy": result.policy_name,
        "level": result.level.value if result.level else None,
        "referrers": result.referrers_source,
        "truncated": result.truncated,
        "signatures": [
            {
                "digest": s.manifest_digest,
                "mediaType": s.envelope_media_type,
                "verified": s.result.verified,
                "reason": s.result.reason.value if s.result.reason else None,
                "message": s.result.message,
                "signer": s.result.signer_subject,
                "signingScheme": s.result.signing_scheme.value if s.result.signing_scheme else None,
                "signingTime": s.result.signing_time.isoformat() if s.result.signing_time else None,
                "timestamp": s.result.timestamp_time.isoformat() if s.result.timestamp_time else None,
                "checks": [_check_json(c) for c in s.result.checks],
            }
            for s in result.signatures
        ],
    }


def _check_json(check: CheckResult) -> dict[str, str]:
    out = {"check": check.validation.value, "action": check.action.value, "outcome": check.outcome.value}
    if check.reason is not None:
        out |= {"reason": check.reason.value, "message": check.message}
    return out


# Tried in order; the first that applies runs. signing-cosign adds cosign key / keyless methods.
VERIFY_METHODS: list[VerifyMethod] = [
    VerifyMethod(
        name="notation",
        applies=lambda o: o.trust_policy is not None or o.trust_store is not None,
        run=_verify_notary,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("verify", help="Verify an image's signatures (Notary Project: --trust-policy and --trust-store).")(
        verify_command
    )


def verify_command(  # noqa: PLR0917 -- typer: one parameter per option
    image: Annotated[str, typer.Argument(help="Image reference: registry/repo:tag or registry/repo@sha256:…")],
    trust_policy: Annotated[
        Path | None, typer.Option("--trust-policy", help="Notary Project trustpolicy.json (version 1.0).")
    ] = None,
    trust_store: Annotated[
        Path | None, typer.Option("--trust-store", help="Notary trust store folder (holds x509/ca/NAME/*.pem).")
    ] = None,
    insecure: Annotated[
        list[str] | None,
        typer.Option(
            "--insecure", help="HOST[:PORT] reached without TLS verification or over plain HTTP (repeatable)."
        ),
    ] = None,
    ca_bundle: Annotated[Path | None, typer.Option("--ca-bundle", help="PEM file of extra trusted CAs.")] = None,
    user_metadata: Annotated[
        list[str] | None,
        typer.Option("--user-metadata", "-m", help="KEY=VALUE the signature's payload must carry (repeatable)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No OCSP/CRL downloads: revocation is 'unavailable' where required.")
    ] = False,
    output: Annotated[
        list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: table (default), json.")
    ] = None,
) -> None:
    options = VerifyOptions(
        image=image,
        trust_policy=trust_policy,
        trust_store=trust_store,
        insecure=tuple(insecure or ()),
        ca_bundle=ca_bundle,
        user_metadata=parse_metadata(user_metadata),
        revocation=not offline,
    )
    run_verify(options, outputs=output)


def parse_metadata(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    from wharfinger.cli.sign import parse_metadata as parse

    return parse(values)


def run_verify(options: VerifyOptions, *, outputs: list[str] | None) -> None:
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.errors import InputError, VerificationError

    targets = parse_outputs(outputs, allowed=FORMATS, default="table")
    method = next((m for m in VERIFY_METHODS if m.applies(options)), None)
    if method is None:
        raise InputError(
            "nothing to verify against", hint="pass --trust-policy FILE --trust-store DIR (Notary Project signatures)"
        )
    if method.name == "notation" and (options.trust_policy is None or options.trust_store is None):
        raise InputError("Notary verification needs both --trust-policy and --trust-store", hint="pass both")
    verified, report = method.run(options)
    write_outputs(targets, lambda fmt: json.dumps(report, indent=2) if fmt == "json" else render_table(report))
    if not verified:
        raise VerificationError(
            str(report.get("message") or "the image did not verify"),
            hint="the report above names each signature's failed check; fix the signing or the trust policy",
        )


def render_table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['reference']}: {'VERIFIED' if report['verified'] else 'NOT VERIFIED'}",
        f"  trust policy: {report.get('trustPolicy') or '-'} ({report.get('level') or '-'})",
    ]
    signatures = report.get("signatures") or []
    if not signatures:
        lines.append(f"  {report['message']}")
    for sig in signatures:
        status = "verified" if sig["verified"] else f"FAILED ({sig['reason']})"
        lines.append(f"  signature {sig['digest']} [{sig['mediaType'] or '?'}]: {status}")
        if sig.get("signer"):
            lines.append(f"    signer: {sig['signer']}")
        if not sig["verified"] or any(c["outcome"] == "logged" for c in sig["checks"]):
            lines.append(f"    {sig['message']}")
            lines.extend(f"    logged {c['check']}: {c['message']}" for c in sig["checks"] if c["outcome"] == "logged")
    return "\n".join(lines)
