"""Facts providers: one per source of facts, all behind ``wharfinger.policy.FactsProvider``.

* ``StaticFactsProvider``: facts from a facts file (``policy test --facts``, the connaisseur
  vectors' "mock validator", demos). No I/O after loading.
* ``RegistryFactsProvider``: resolves the digest against the image's registry, then asks one
  ``SignatureVerifier`` per signature kind (the signing package's pure verifiers, wrapped by
  adapters) for each authority the matching policies name. A registry that cannot be reached
  or answers 5xx/429 becomes ``Unverifiable(is_outage=True)``: the policy's failure mode decides.

TODO(signing branches): adapters for ``wharfinger.signing`` Notary and cosign verifiers, and
attestation/vulnerability-scan facts from the referrers; TODO(oci-registry): use the one
registry client (auth, bearer tokens, referrers) instead of the minimal digest resolver here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

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

_MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
)


@dataclass(frozen=True, slots=True)
class StaticFactsProvider:
    book: FactsBook

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        return self.book.lookup(reference, needs)

    def is_ready(self) -> bool:
        return True


class SignatureVerifier(Protocol):
    """Checks one image digest against one trust authority (an adapter over the signing package)."""

    async def verify(self, image: ImageName, digest: str, authority: Authority) -> SignatureFact: ...


class RegistryFactsProvider:
    def __init__(
        self,
        *,
        verifiers: Mapping[SignatureKind, SignatureVerifier],
        plain_http_registries: frozenset[str] = frozenset(),
        request_timeout_s: float = 5.0,
        on_registry_error: Callable[[str], None] = lambda _registry: None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._verifiers = dict(verifiers)
        self._plain_http = plain_http_registries
        self._on_registry_error = on_registry_error
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(request_timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            follow_redirects=True,
        )

    def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        await self._client.aclose()

    def _base(self, registry: str) -> str:
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        scheme = "http" if registry in self._plain_http else "https"
        return f"{scheme}://{host}"

    async def resolve_digest(self, image: ImageName) -> str | Unverifiable:
        if image.digest:
            return image.digest
        url = f"{self._base(image.registry)}/v2/{image.repository}/manifests/{image.effective_tag}"
        try:
            response = await self._client.head(url, headers={"Accept": _MANIFEST_TYPES})
        except httpx.HTTPError as exc:
            self._on_registry_error(image.registry)
            return Unverifiable(
                reason=f"registry {image.registry} could not be reached ({type(exc).__name__})", is_outage=True
            )
        if (
            response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR
            or response.status_code == httpx.codes.TOO_MANY_REQUESTS
        ):
            self._on_registry_error(image.registry)
            return Unverifiable(
                reason=f"registry {image.registry} answered HTTP {response.status_code}", is_outage=True
            )
        if response.status_code == httpx.codes.NOT_FOUND:
            return Unverifiable(reason=f"{image.name}:{image.effective_tag} does not exist in {image.registry}")
        if response.status_code in {httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN}:
            return Unverifiable(
                reason=f"registry {image.registry} refused access (HTTP {response.status_code}); "
                "give the webhook pull credentials for it"
            )
        digest = str(response.headers.get("Docker-Content-Digest", ""))
        if response.status_code != httpx.codes.OK or not digest.startswith("sha256:"):
            return Unverifiable(
                reason=f"registry {image.registry} gave no digest for {image.name}:{image.effective_tag} "
                f"(HTTP {response.status_code})"
            )
        return digest

    async def _signature(self, image: ImageName, digest: str, authority: Authority) -> SignatureFact:
        verifier = self._verifiers.get(authority.kind)
        if verifier is None:
            return SignatureFact(
                authority=authority.name,
                kind=authority.kind,
                verified=False,
                reason=f"this webhook build has no {authority.kind.value} verifier",
            )
        return await verifier.verify(image, digest, authority)

    async def gather(self, reference: str, needs: FactNeeds) -> ImageFacts:
        image = parse_image_name(reference)
        if image is None:
            return ImageFacts(reference=reference, digest=Unverifiable(reason="not a valid image reference"))
        digest = await self.resolve_digest(image)
        if isinstance(digest, Unverifiable):
            return ImageFacts(
                reference=reference,
                digest=digest,
                signatures=digest,
                attestations=digest,
                vulnerabilities=Unscannable(reason=digest.reason),
            )
        signatures = await asyncio.gather(*(self._signature(image, digest, a) for a in needs.authorities))
        outage = next((s for s in signatures if s.reason.startswith("outage:")), None)
        return ImageFacts(
            reference=reference,
            digest=digest,
            signatures=Unverifiable(reason=outage.reason, is_outage=True) if outage else tuple(signatures),
            attestations=(),
            vulnerabilities=Unscannable(reason="no vulnerability-scan attestation source is configured"),
        )
