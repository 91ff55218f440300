"""The facts cache of the webhook: per image and needs, separate TTLs for success and failure, single-flight.

* Keys carry the policy fingerprint and the trust-material generation, so a new policy or a
  swapped trust store never reads an old verdict: the old entries just stop being asked for.
* A success (digest resolved, every requested fact established) lives ``success_ttl_s``; a
  failure (an ``Unverifiable`` anywhere) lives ``failure_ttl_s``, short, so an outage heals fast.
* Single-flight: concurrent misses for the same key share one gathering task.
* Optional shared layer in Redis (replicas share verifications). Redis errors never fail an
  admission: the cache marks Redis down for ``redis_retry_s`` and serves from the local layer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wharfinger.policy.facts import FactNeeds, ImageFacts, Unverifiable
from wharfinger.policy.factsfile import facts_to_document, parse_image_facts

__all__ = ["CacheSettings", "CacheStats", "FactsCache", "cache_key", "is_success"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSettings:
    success_ttl_s: float = 300.0  # seconds a fully established set of facts is reused
    failure_ttl_s: float = 15.0  # seconds an outage or unresolvable digest is remembered
    max_entries: int = 50_000  # local LRU bound
    redis_url: str | None = None  # "redis://127.0.0.1:6379/0": shared across replicas
    redis_timeout_s: float = 0.25  # one Redis round trip may cost this much, never more (loaded nodes are slow)
    redis_retry_s: float = 5.0  # after a Redis error, serve locally this long before trying again
    redis_prefix: str = "wharfinger:facts:"


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    shared_hits: int = 0
    redis_errors: int = 0
    coalesced: int = 0  # misses that joined an in-flight gathering (single-flight)


def cache_key(reference: str, needs: FactNeeds, *, policy_fingerprint: str, trust_generation: str) -> str:
    needs_text = json.dumps(
        {
            "a": sorted(
                (a.name, a.kind.value, a.trust_policy, a.public_key, a.issuer, a.subject, a.subject_regexp)
                for a in needs.authorities
            ),
            "t": sorted(needs.attestation_types),
            "v": needs.vulnerabilities,
        },
        sort_keys=True,
    )
    material = f"{policy_fingerprint}\n{trust_generation}\n{needs_text}\n{reference}"
    return hashlib.sha256(material.encode()).hexdigest()


def is_success(facts: ImageFacts) -> bool:
    return not any(isinstance(x, Unverifiable) for x in (facts.digest, facts.signatures, facts.attestations))


class FactsCache:
    def __init__(self, settings: CacheSettings, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.stats = CacheStats()
        self._monotonic = monotonic
        self._local: OrderedDict[str, tuple[float, ImageFacts]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[tuple[ImageFacts, str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._redis: Any = None
        self._redis_down_until = 0.0
        if settings.redis_url:
            import redis.asyncio as aioredis  # noqa: PLC0415 -- optional extra `wharfinger[redis]`

            self._redis = aioredis.from_url(
                settings.redis_url,
                socket_timeout=settings.redis_timeout_s,
                socket_connect_timeout=settings.redis_timeout_s,
                retry_on_timeout=False,
            )

    @property
    def redis_state(self) -> str:
        if self._redis is None:
            return "disabled"
        return "down" if self._monotonic() < self._redis_down_until else "up"

    def clear(self) -> None:
        self._local.clear()

    def _get_local(self, key: str) -> ImageFacts | None:
        entry = self._local.get(key)
        if entry is None:
            return None
        expires, facts = entry
        if expires <= self._monotonic():
            del self._local[key]
            return None
        self._local.move_to_end(key)
        return facts

    def _put_local(self, key: str, facts: ImageFacts, ttl: float) -> None:
        self._local[key] = (self._monotonic() + ttl, facts)
        self._local.move_to_end(key)
        while len(self._local) > self.settings.max_entries:
            self._local.popitem(last=False)

    def _redis_error(self, exc: Exception) -> None:
        self.stats.redis_errors += 1
        self._redis_down_until = self._monotonic() + self.settings.redis_retry_s
        log.warning(
            "redis cache unavailable, using the local cache",
            extra={"event": "admission.cache.redis_down", "error": type(exc).__name__},
        )

    async def _get_shared(self, key: str) -> ImageFacts | None:
        if self._redis is None or self.redis_state == "down":
            return None
        try:
            async with asyncio.timeout(self.settings.redis_timeout_s * 2):
                raw = await self._redis.get(self.settings.redis_prefix + key)
        except (OSError, TimeoutError, ConnectionError) as exc:
            self._redis_error(exc)
            return None
        except Exception as exc:  # noqa: BLE001 -- redis-py raises its own tree; any of it means "serve locally"
            self._redis_error(exc)
            return None
        if raw is None:
            return None
        try:
            return parse_image_facts(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            return None  # a corrupt or foreign entry is a miss, never a verdict

    async def _put_shared(self, key: str, facts: ImageFacts, ttl: float) -> None:
        if self._redis is None or self.redis_state == "down":
            return
        try:
            async with asyncio.timeout(self.settings.redis_timeout_s * 2):
                await self._redis.set(
                    self.settings.redis_prefix + key,
                    json.dumps(facts_to_document(facts), default=str),
                    px=int(ttl * 1000),
                )
        except Exception as exc:  # noqa: BLE001 -- see _get_shared
            self._redis_error(exc)

    async def get_or_gather(self, key: str, gather: Callable[[], Awaitable[ImageFacts]]) -> tuple[ImageFacts, str]:
        """The facts for ``key`` and where they came from: "local", "shared", "coalesced" or "gathered"."""
        found = self._get_local(key)
        if found is not None:
            self.stats.hits += 1
            return found, "local"
        inflight = self._inflight.get(key)
        if inflight is not None:
            self.stats.coalesced += 1
            self.stats.hits += 1
            facts, _ = await asyncio.shield(inflight)
            return facts, "coalesced"
        self.stats.misses += 1
        future: asyncio.Future[tuple[ImageFacts, str]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        # the gathering outlives a caller whose time budget ran out: the next request finds the result cached
        task = asyncio.ensure_future(self._fill(key, gather, future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(future)

    async def _fill(
        self, key: str, gather: Callable[[], Awaitable[ImageFacts]], future: asyncio.Future[tuple[ImageFacts, str]]
    ) -> None:
        try:
            shared = await self._get_shared(key)
            if shared is not None:
                self.stats.shared_hits += 1
                self._put_local(key, shared, self.settings.success_ttl_s)
                future.set_result((shared, "shared"))
                return
            facts = await gather()
            ttl = self.settings.success_ttl_s if is_success(facts) else self.settings.failure_ttl_s
            self._put_local(key, facts, ttl)
            future.set_result((facts, "gathered"))
            await self._put_shared(key, facts, ttl)
        except BaseException as exc:  # hand any failure to every waiter, then let it go
            if not future.done():
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._inflight.pop(key, None)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
