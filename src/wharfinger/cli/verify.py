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

from wharfinger.cli.options import CaBundle, Http2, ImageReference, InsecureHosts

if TYPE_CHECKING:
    from wharfinger.signing.notary.image import ImageVerification
    from wharfinger.signing.notary.model import CheckResult

__all__ = [
    "VERIFY_METHODS",
    "CosignOptions",
    "VerifyMethod",
    "VerifyOptions",
    "notary_report",
    "register",
    "run_verify",
]

FORMATS = ("table", "json")


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignOptions:
    keys: tuple[Path, ...] = ()  # --key, repeatable
    threshold: int = 1
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    trusted_root: Path | None = None
    fulcio_root: Path | None = None
    rekor_key: Path | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.keys or self.identity or self.identity_regexp)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    image: str
    trust_policy: Path | None = None
    trust_store: Path | None = None
    insecure: bool | tuple[str, ...] = ()  # hosts reached without TLS (True: the image's own host)
    ca_bundle: Path | None = None
    http2: bool = False  # --http2: offer HTTP/2 to the registry
    user_metadata: tuple[tuple[str, str], ...] = ()  # --user-metadata KEY=VALUE the signature must carry
    revocation: bool = True  # check OCSP/CRL online when certificates name endpoints
    cosign: CosignOptions = field(default_factory=CosignOptions)


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
    with client_for(ref, insecure=options.insecure, ca_bundle=options.ca_bundle, http2=options.http2) as client:
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


def _verify_cosign(options: VerifyOptions) -> tuple[bool, dict[str, Any]]:
    """cosign signatures (``.sig`` tag and signature referrers): by key (``--key``) or keyless (identity + roots)."""
    from wharfinger.cli.registry_access import client_for, resolve_descriptor
    from wharfinger.oci.reference import parse_ref
    from wharfinger.signing.cosign.bundle import IdentityPolicy
    from wharfinger.signing.cosign.keyless import verify_keyless_layer
    from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, verify_with_key_policy
    from wharfinger.signing.cosign.registry import fetch_signatures
    from wharfinger.signing.cosign.trust import keyless_trust_from_files, load_cosign_key

    opts = options.cosign
    ref = parse_ref(options.image)
    with client_for(ref, insecure=options.insecure, ca_bundle=options.ca_bundle, http2=options.http2) as client:
        subject = resolve_descriptor(client, ref)
        found = fetch_signatures(client, ref.repository, subject.digest)
    pinned = f"{ref.registry}/{ref.repository}@{subject.digest}"
    signatures: list[dict[str, Any]] = []
    if opts.keys:
        policy = CosignKeyPolicy(keys=tuple(load_cosign_key(path) for path in opts.keys), threshold=opts.threshold)
        result = verify_with_key_policy(subject.digest, found.layers, policy)
        for layer, outcomes in zip(found.layers, result.per_signature, strict=True):
            best = next((o for o in outcomes if o.verified), outcomes[0])
            signatures.append(
                {
                    "digest": layer.payload_digest,
                    "mediaType": "cosign simple signing",
                    "verified": best.verified,
                    "reason": best.reason.value if best.reason else None,
                    "message": best.message,
                    "signer": best.key_name,
                    "checks": [],
                }
            )
        verified, message = result.verified, result.reason
    else:
        identity = IdentityPolicy(
            subject=opts.identity,
            subject_regex=opts.identity_regexp,
            issuer=opts.issuer,
            issuer_regex=opts.issuer_regexp,
        )
        trust = keyless_trust_from_files(
            trusted_root=opts.trusted_root, fulcio_roots=opts.fulcio_root, rekor_keys=opts.rekor_key
        )
        outcomes_keyless = [verify_keyless_layer(layer, subject.digest, trust, identity) for layer in found.layers]
        for layer, outcome in zip(found.layers, outcomes_keyless, strict=True):
            signatures.append(
                {
                    "digest": layer.payload_digest,
                    "mediaType": "cosign keyless",
                    "verified": outcome.verified,
                    "reason": None if outcome.verified else "refused",
                    "message": outcome.reason,
                    "signer": ", ".join(outcome.identity) or None,
                    "checks": [],
                }
            )
        verified = any(o.verified for o in outcomes_keyless)
        message = (
            next(o.reason for o in outcomes_keyless if o.verified)
            if verified
            else (
                outcomes_keyless[0].reason
                if outcomes_keyless
                else f"no cosign signatures found for {subject.digest}; sign it with `wharfinger sign --format cosign`"
            )
        )
    return verified, {
        "method": "cosign",
        "reference": pinned,
        "digest": subject.digest,
        "verified": verified,
        "message": message,
        "trustPolicy": None,
        "level": None,
        "referrers": "tag-schema",
        "truncated": False,
        "signatures": signatures,
    }


# Tried in order; the first that applies runs.
VERIFY_METHODS: list[VerifyMethod] = [
    VerifyMethod(
        name="notation",
        applies=lambda o: o.trust_policy is not None or o.trust_store is not None,
        run=_verify_notary,
    ),
    VerifyMethod(name="cosign", applies=lambda o: o.cosign.wanted, run=_verify_cosign),
]


def register(app: typer.Typer) -> None:
    app.command(
        "verify",
        help="Verify an image's signatures: Notary Project (--trust-policy, --trust-store), cosign by key (--key) "
        "or keyless (--certificate-identity[-regexp], --certificate-oidc-issuer[-regexp], --trusted-root).",
    )(verify_command)


def verify_command(
    image: ImageReference,
    trust_policy: Annotated[
        Path | None, typer.Option("--trust-policy", help="Notary Project trustpolicy.json (version 1.0).")
    ] = None,
    trust_store: Annotated[
        Path | None, typer.Option("--trust-store", help="Notary trust store folder (holds x509/ca/NAME/*.pem).")
    ] = None,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
    user_metadata: Annotated[
        list[str] | None,
        typer.Option("--user-metadata", "-m", help="KEY=VALUE the signature's payload must carry (repeatable)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="No OCSP/CRL downloads: revocation is 'unavailable' where required.")
    ] = False,
    key: Annotated[
        list[Path] | None, typer.Option("--key", help="cosign public key (PEM), repeatable: verify by key.")
    ] = None,
    threshold: Annotated[int, typer.Option("--threshold", help="With several --key: how many must have signed.")] = 1,
    certificate_identity: Annotated[
        str | None, typer.Option("--certificate-identity", help="Keyless: the signer's exact identity (SAN).")
    ] = None,
    certificate_identity_regexp: Annotated[
        str | None, typer.Option("--certificate-identity-regexp", help="Keyless: a regexp the identity matches.")
    ] = None,
    certificate_oidc_issuer: Annotated[
        str | None, typer.Option("--certificate-oidc-issuer", help="Keyless: the exact OIDC issuer.")
    ] = None,
    certificate_oidc_issuer_regexp: Annotated[
        str | None, typer.Option("--certificate-oidc-issuer-regexp", help="Keyless: a regexp the issuer matches.")
    ] = None,
    trusted_root: Annotated[
        Path | None, typer.Option("--trusted-root", help="Keyless: Sigstore trusted_root.json (Fulcio + Rekor).")
    ] = None,
    fulcio_root: Annotated[
        Path | None, typer.Option("--fulcio-root", help="Keyless: Fulcio CA certificates (PEM).")
    ] = None,
    rekor_key: Annotated[Path | None, typer.Option("--rekor-key", help="Keyless: Rekor public key (PEM).")] = None,
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
        http2=http2,
        user_metadata=parse_metadata(user_metadata),
        revocation=not offline,
        cosign=CosignOptions(
            keys=tuple(key or ()),
            threshold=threshold,
            identity=certificate_identity,
            identity_regexp=certificate_identity_regexp,
            issuer=certificate_oidc_issuer,
            issuer_regexp=certificate_oidc_issuer_regexp,
            trusted_root=trusted_root,
            fulcio_root=fulcio_root,
            rekor_key=rekor_key,
        ),
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
            "nothing to verify against",
            hint="pass --trust-policy FILE --trust-store DIR (Notary Project), --key cosign.pub (cosign), or "
            "--certificate-identity ID --certificate-oidc-issuer URL (keyless)",
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
