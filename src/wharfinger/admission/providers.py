"""Facts providers: one per source of facts, all behind ``wharfinger.policy.FactsProvider``.

* ``StaticFactsProvider``: facts from a facts file (``policy test --facts``, the connaisseur
  vectors' "mock validator", demos). No I/O after loading.
* ``RegistryFactsProvider``: resolves the digest against the image's registry, then asks one
  ``SignatureVerifier`` per signature kind (the signing package's pure verifiers, wrapped by
  adapters) for each authority the matching policies name. A registry that cannot be reached
  or answers 5xx/429 becomes ``Unverifiable(is_outage=True)``: the policy's failure mode decides.

Attestations are the signed in-toto statements of the ``.att`` manifest whose DSSE signature
verifies with a trusted cosign key (``signing.cosign.attestation``); the newest signed
vulnerability-scan predicate among them is the vulnerability summary.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from wharfinger.errors import ManifestError, RegistryAuthError, RegistryError, RegistryNotFoundError
from wharfinger.oci.auth import CredentialProvider
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.manifest import Descriptor
from wharfinger.policy.facts import (
    AttestationFact,
    Authority,
    FactNeeds,
    ImageFacts,
    SignatureFact,
    SignatureKind,
    Unscannable,
    Unverifiable,
    VulnerabilitySummary,
)
from wharfinger.policy.factsfile import FactsBook
from wharfinger.policy.scanfacts import VULN_PREDICATE_TYPE, summary_from_predicate
from wharfinger.policy.selectors import ImageName, parse_image_name
from wharfinger.signing.cosign.attestation import verify_dsse_with_keys
from wharfinger.signing.cosign.registry import fetch_attestations
from wharfinger.signing.cosign.simplesigning import CosignKey

__all__ = ["RegistryFactsProvider", "SignatureVerifier", "StaticFactsProvider"]

log = logging.getLogger(__name__)


def _vulnerability_summary(
    attestations: tuple[AttestationFact, ...] | Unverifiable,
) -> VulnerabilitySummary | Unscannable:
    """The newest signed vulnerability scan among the attestations."""
    if isinstance(attestations, Unverifiable):
        return Unscannable(reason=attestations.reason)
    summaries = [
        s
        for a in attestations
        if a.predicate_type == VULN_PREDICATE_TYPE
        for s in (summary_from_predicate(a.predicate),)
    ]
    readable = [s for s in summaries if isinstance(s, VulnerabilitySummary)]
    if readable:
        return max(readable, key=lambda s: s.scanned_at)
    if summaries:
        unreadable = summaries[0]
        assert isinstance(unreadable, Unscannable)  # noqa: S101 -- the only other variant
        return unreadable
    return Unscannable(reason="no signed vulnerability-scan attestation is attached to the image")


@dataclass(frozen=True, slots=True)
class StaticFactsProvider:
    book: FactsBook

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        return self.book.lookup(reference, needs)

    def is_ready(self) -> bool:
        return True


class SignatureVerifier(Protocol):
    """Checks one image digest against one trust authority (an adapter over the signing package).

    Runs in a worker thread with the registry client for the image's host; raises
    ``RegistryUnavailableError`` when the registry fails (an outage), never for a bad signature.
    """

    def verify(
        self, client: RegistryClient, image: ImageName, subject: Descriptor, authority: Authority
    ) -> SignatureFact: ...


class RegistryFactsProvider:
    """Facts from the image's registry through the one registry client (``wharfinger.oci.client``)."""

    def __init__(
        self,
        *,
        verifiers: Mapping[SignatureKind, SignatureVerifier],
        settings: RegistrySettings | None = None,
        credentials: CredentialProvider | None = None,
        on_registry_error: Callable[[str], None] = lambda _registry: None,
        max_threads: int = 32,
        attestation_keys: tuple[CosignKey, ...] = (),
    ) -> None:
        self._verifiers = dict(verifiers)
        self._attestation_keys = attestation_keys
        # admission has a time budget: no long backoff, short timeouts (the budget cuts the rest)
        self._settings = settings or RegistrySettings(
            max_retries=1, backoff_initial=0.05, backoff_max=0.2, connect_timeout=2.0, read_timeout=5.0
        )
        self._credentials = credentials
        self._on_registry_error = on_registry_error
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()
        # registry I/O is blocking; its own pool so a slow registry cannot starve the event loop's default one
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="wharfinger-facts")

    def is_ready(self) -> bool:
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
        for client in self._clients.values():
            client.close()

    def _client(self, registry: str) -> RegistryClient:
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                client = RegistryClient(host, settings=self._settings, credentials=self._credentials)
                self._clients[host] = client
            return client

    def _unverifiable(self, image: ImageName, exc: RegistryError) -> Unverifiable:
        if isinstance(exc, RegistryNotFoundError):
            return Unverifiable(reason=f"{image.name}:{image.effective_tag} does not exist in {image.registry}")
        if isinstance(exc, RegistryAuthError):
            return Unverifiable(
                reason=f"registry {image.registry} refused access; give the webhook pull credentials for it"
            )
        self._on_registry_error(image.registry)
        return Unverifiable(reason=f"registry {image.registry} failed: {exc.message}", is_outage=True)

    def _gather_sync(self, reference: str, needs: FactNeeds) -> ImageFacts:
        image = parse_image_name(reference)
        if image is None:
            return ImageFacts(reference=reference, digest=Unverifiable(reason="not a valid image reference"))
        client = self._client(image.registry)
        try:
            subject = client.head_manifest(image.repository, image.digest or image.effective_tag or "latest")
        except (RegistryError, ManifestError) as exc:
            missing = (
                self._unverifiable(image, exc)
                if isinstance(exc, RegistryError)
                else Unverifiable(reason=f"the registry served an invalid manifest: {exc.message}")
            )
            return ImageFacts(
                reference=reference,
                digest=missing,
                signatures=missing,
                attestations=missing,
                vulnerabilities=Unscannable(reason=missing.reason),
            )
        signatures: list[SignatureFact] = []
        for authority in needs.authorities:
            verifier = self._verifiers.get(authority.kind)
            if verifier is None:
                signatures.append(
                    SignatureFact(
                        authority=authority.name,
                        kind=authority.kind,
                        verified=False,
                        reason=f"this webhook has no {authority.kind.value} verifier configured",
                    )
                )
                continue
            try:
                signatures.append(verifier.verify(client, image, subject, authority))
            except ManifestError as exc:
                signatures.append(
                    SignatureFact(
                        authority=authority.name,
                        kind=authority.kind,
                        verified=False,
                        reason=f"the signature artifacts are malformed: {exc.message}",
                    )
                )
            except RegistryError as exc:
                outage = self._unverifiable(image, exc)
                return ImageFacts(
                    reference=reference,
                    digest=subject.digest,
                    signatures=outage,
                    attestations=outage,
                    vulnerabilities=Unscannable(reason=outage.reason),
                )
        attestations: tuple[AttestationFact, ...] | Unverifiable = ()
        vulnerabilities: VulnerabilitySummary | Unscannable = Unscannable(reason="not asked for")
        if needs.attestation_types or needs.vulnerabilities:
            attestations = self._attestations(client, image, subject.digest)
            vulnerabilities = _vulnerability_summary(attestations)
        return ImageFacts(
            reference=reference,
            digest=subject.digest,
            signatures=tuple(signatures),
            attestations=attestations,
            vulnerabilities=vulnerabilities,
        )

    def _attestations(
        self, client: RegistryClient, image: ImageName, digest: str
    ) -> tuple[AttestationFact, ...] | Unverifiable:
        """Signed in-toto statements about ``digest`` from its ``.att`` manifest (unverified ones are dropped)."""
        try:
            envelopes = fetch_attestations(client, image.repository, digest).envelopes  # none: ()
        except ManifestError as exc:
            return Unverifiable(reason=f"the attestations of {image.name} are malformed: {exc.message}")
        except RegistryError as exc:
            return self._unverifiable(image, exc)
        facts = []
        for envelope in envelopes:
            checked = verify_dsse_with_keys(envelope, digest, self._attestation_keys)
            if checked.verified and checked.statement is not None:
                facts.append(
                    AttestationFact(
                        predicate_type=checked.statement.predicate_type,
                        predicate=checked.statement.predicate,
                        signer=checked.signer or "",
                    )
                )
        return tuple(facts)

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._gather_sync, reference, needs)
