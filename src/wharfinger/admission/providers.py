"""Facts providers: one per source of facts, all behind ``wharfinger.policy.FactsProvider``.

* ``StaticFactsProvider``: facts from a facts file (``policy test --facts``, the connaisseur
  vectors' "mock validator", demos). No I/O after loading.
* ``RegistryFactsProvider``: resolves the digest against the image's registry, then asks one
  ``SignatureVerifier`` per signature kind (the signing package's pure verifiers, wrapped by
  adapters) for each authority the matching policies name. A registry that cannot be reached
  or answers 5xx/429 becomes ``Unverifiable(is_outage=True)``: the policy's failure mode decides.

TODO(signing branches): adapters for ``wharfinger.signing`` Notary and cosign verifiers, and
attestation/vulnerability-scan facts from the referrers.
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
from wharfinger.policy.facts import (
    Authority,
    FactNeeds,
    ImageFacts,
    SignatureFact,
    SignatureKind,
    Unscannable,
    Unverifiable,
)
from wharfinger.policy.factsfile import FactsBook
from wharfinger.policy.selectors import ImageName, parse_image_name

__all__ = ["RegistryFactsProvider", "SignatureVerifier", "StaticFactsProvider"]

log = logging.getLogger(__name__)


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

    def verify(self, client: RegistryClient, image: ImageName, digest: str, authority: Authority) -> SignatureFact: ...


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
    ) -> None:
        self._verifiers = dict(verifiers)
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
        self._pool.shutdown(wait=False, cancel_futures=True)
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
            digest = image.digest or client.resolve(image.repository, image.effective_tag or "latest")
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
                signatures.append(verifier.verify(client, image, digest, authority))
            except RegistryError as exc:
                outage = self._unverifiable(image, exc)
                return ImageFacts(
                    reference=reference,
                    digest=digest,
                    signatures=outage,
                    attestations=outage,
                    vulnerabilities=Unscannable(reason=outage.reason),
                )
        return ImageFacts(
            reference=reference,
            digest=digest,
            signatures=tuple(signatures),
            attestations=(),
            vulnerabilities=Unscannable(reason="no vulnerability-scan attestation source is configured"),
        )

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._gather_sync, reference, needs)
