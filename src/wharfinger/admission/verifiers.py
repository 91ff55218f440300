"""Adapters from the signing package's verifiers to the webhook's ``SignatureVerifier`` seam.

Every check is the signing package's own code (``wharfinger.signing.cosign``,
``wharfinger.signing.notary``); these adapters only fetch what it needs through the registry
client and turn its result into a ``SignatureFact``. The trust directory is::

    TRUST_DIR/
      cosign/NAME.pub                      cosign public keys (authority: cosign.publicKey: NAME.pub)
      notation/trustpolicy.json            Notary Project trust policy (authority: notary.trustPolicy: STATEMENT)
      notation/truststore/x509/TYPE/NAME/  Notary Project trust store
      sigstore/trusted_root.json           Fulcio roots and Rekor keys for keyless authorities

Loading happens once per trust generation (the webhook reloads on any change); a file that
does not parse is an ``InputError`` at load, so the old material stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wharfinger.admission.providers import SignatureVerifier
from wharfinger.clock import Clock, SystemClock
from wharfinger.errors import InputError
from wharfinger.policy.facts import Authority, SignatureFact, SignatureKind
from wharfinger.policy.selectors import ImageName

if TYPE_CHECKING:
    from wharfinger.oci.client import RegistryClient
    from wharfinger.oci.manifest import Descriptor
    from wharfinger.signing.cosign.keyless import KeylessTrust
    from wharfinger.signing.cosign.simplesigning import CosignKey
    from wharfinger.signing.notary.verifier import TrustMaterial

__all__ = [
    "CosignKeyVerifier",
    "KeylessVerifier",
    "NotaryVerifier",
    "TrustDirectory",
    "attestation_keys",
    "load_verifiers",
]


@dataclass(frozen=True, slots=True)
class TrustDirectory:
    root: Path

    def cosign_keys(self) -> dict[str, CosignKey]:
        from wharfinger.signing.cosign.trust import load_cosign_key  # noqa: PLC0415 -- signing loads on demand

        folder = self.root / "cosign"
        if not folder.is_dir():
            return {}
        return {p.name: load_cosign_key(p, name=p.stem) for p in sorted(folder.glob("*.pub"))}


class CosignKeyVerifier:
    """cosign simple signing by key: ``fetch_signatures`` + ``verify_with_key_policy``."""

    def __init__(self, keys: dict[str, CosignKey]) -> None:
        self.keys = keys

    def verify(
        self, client: RegistryClient, image: ImageName, subject: Descriptor, authority: Authority
    ) -> SignatureFact:
        from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, verify_with_key_policy  # noqa: PLC0415
        from wharfinger.signing.cosign.registry import fetch_signatures  # noqa: PLC0415

        key = self.keys.get(authority.public_key) or self.keys.get(f"{authority.public_key}.pub")
        if key is None:
            return SignatureFact(
                authority=authority.name,
                kind=SignatureKind.COSIGN,
                verified=False,
                reason=f"public key {authority.public_key!r} is not in the webhook's trust directory (cosign/)",
            )
        found = fetch_signatures(client, image.repository, subject.digest)
        result = verify_with_key_policy(subject.digest, found.layers, CosignKeyPolicy(keys=(key,)))
        return SignatureFact(
            authority=authority.name,
            kind=SignatureKind.COSIGN,
            verified=result.verified,
            identity=", ".join(result.signed_by),
            reason="" if result.verified else result.reason,
        )


class KeylessVerifier:
    """cosign keyless (Fulcio certificate + Rekor SET) against the authority's identity."""

    def __init__(self, trust: KeylessTrust) -> None:
        self.trust = trust

    def verify(
        self, client: RegistryClient, image: ImageName, subject: Descriptor, authority: Authority
    ) -> SignatureFact:
        from wharfinger.signing.cosign.bundle import IdentityPolicy  # noqa: PLC0415
        from wharfinger.signing.cosign.keyless import verify_keyless_layer  # noqa: PLC0415
        from wharfinger.signing.cosign.registry import fetch_signatures  # noqa: PLC0415

        identity = IdentityPolicy(
            subject=authority.subject or None, subject_regex=authority.subject_regexp or None, issuer=authority.issuer
        )
        found = fetch_signatures(client, image.repository, subject.digest)
        outcomes = [verify_keyless_layer(layer, subject.digest, self.trust, identity) for layer in found.layers]
        good = next((o for o in outcomes if o.verified), None)
        if good is not None:
            return SignatureFact(
                authority=authority.name,
                kind=SignatureKind.KEYLESS,
                verified=True,
                identity=", ".join(good.identity),
                issuer=good.issuer or "",
            )
        reason = outcomes[0].reason if outcomes else "no signature found"
        return SignatureFact(authority=authority.name, kind=SignatureKind.KEYLESS, verified=False, reason=reason)


class NotaryVerifier:
    """Notary Project signatures through the referrers: ``signing.notary.registry.verify_image``."""

    def __init__(self, trust: TrustMaterial, clock: Clock) -> None:
        self.trust = trust
        self.clock = clock

    def verify(
        self, client: RegistryClient, image: ImageName, subject: Descriptor, authority: Authority
    ) -> SignatureFact:
        from wharfinger.signing.notary.registry import verify_image  # noqa: PLC0415

        now: datetime = self.clock.now()
        result = verify_image(client, image.repository, subject, self.trust, now)
        if result.verified and result.policy_name != authority.trust_policy:
            return SignatureFact(
                authority=authority.name,
                kind=SignatureKind.NOTARY,
                verified=False,
                reason=f"the trust policy statement {result.policy_name!r} applies to {image.name}, "
                f"not {authority.trust_policy!r}; fix registryScopes in trustpolicy.json",
            )
        signer = next((s.result.signer_subject for s in result.signatures if s.result.verified), None)
        return SignatureFact(
            authority=authority.name,
            kind=SignatureKind.NOTARY,
            verified=result.verified,
            identity=signer or "",
            reason="" if result.verified else result.message,
        )


def load_verifiers(trust_dir: Path | None, clock: Clock | None = None) -> dict[SignatureKind, SignatureVerifier]:
    """One verifier per signature kind the trust directory has material for."""
    if trust_dir is None:
        return {}
    if not trust_dir.is_dir():
        raise InputError(
            f"trust directory {trust_dir} does not exist", hint="pass --trust-dir DIR (see docs/admission.md)"
        )
    verifiers: dict[SignatureKind, SignatureVerifier] = {}
    keys = TrustDirectory(trust_dir).cosign_keys()
    if keys:
        verifiers[SignatureKind.COSIGN] = CosignKeyVerifier(keys)
    policy_file = trust_dir / "notation" / "trustpolicy.json"
    if policy_file.is_file():
        from wharfinger.signing.notary.trustpolicy import parse_trust_policy  # noqa: PLC0415
        from wharfinger.signing.notary.truststore import load_trust_store  # noqa: PLC0415
        from wharfinger.signing.notary.verifier import TrustMaterial  # noqa: PLC0415

        trust = TrustMaterial(
            policy=parse_trust_policy(policy_file.read_bytes()),
            store=load_trust_store(trust_dir / "notation" / "truststore"),
        )
        verifiers[SignatureKind.NOTARY] = NotaryVerifier(trust, clock or SystemClock())
    trusted_root = trust_dir / "sigstore" / "trusted_root.json"
    if trusted_root.is_file():
        from wharfinger.signing.cosign.trust import keyless_trust_from_files  # noqa: PLC0415

        verifiers[SignatureKind.KEYLESS] = KeylessVerifier(keyless_trust_from_files(trusted_root=trusted_root))
    return verifiers


def attestation_keys(trust_dir: Path | None) -> tuple[CosignKey, ...]:
    """Keys whose signed attestations (provenance, vulnerability scans) are facts: the cosign keys."""
    if trust_dir is None or not trust_dir.is_dir():
        return ()
    return tuple(TrustDirectory(trust_dir).cosign_keys().values())
