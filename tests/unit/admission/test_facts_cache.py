"""The facts cache: TTLs for success and failure, single-flight, invalidation by key, Redis fallback."""

from __future__ import annotations

import asyncio
import contextlib

from wharfinger.admission.cache import CacheSettings, FactsCache, cache_key
from wharfinger.policy.facts import Authority, FactNeeds, ImageFacts, SignatureKind, Unverifiable

GOOD = ImageFacts(reference="r", digest="sha256:" + "a" * 64)
BAD = ImageFacts(reference="r", digest=Unverifiable(reason="registry down", is_outage=True))


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_success_and_failure_ttls_differ() -> None:
    clock = Clock()
    cache = FactsCache(CacheSettings(success_ttl_s=300, failure_ttl_s=10), monotonic=clock)
    calls: list[str] = []

    async def gather_good() -> ImageFacts:
        calls.append("good")
        return GOOD

    async def gather_bad() -> ImageFacts:
        calls.append("bad")
        return BAD

    async def run() -> None:
        assert (await cache.get_or_gather("g", gather_good))[1] == "gathered"
        assert (await cache.get_or_gather("b", gather_bad))[1] == "gathered"
        clock.t += 11
        assert (await cache.get_or_gather("g", gather_good))[1] == "local"
        assert (await cache.get_or_gather("b", gather_bad))[1] == "gathered"  # failure expired
        clock.t += 300
        assert (await cache.get_or_gather("g", gather_good))[1] == "gathered"

    asyncio.run(run())
    assert calls == ["good", "bad", "bad", "good"]


def test_single_flight_shares_one_gathering() -> None:
    cache = FactsCache(CacheSettings())
    started = 0

    async def slow() -> ImageFacts:
        nonlocal started
        started += 1
        await asyncio.sleep(0.05)
        return GOOD

    async def run() -> list[tuple[ImageFacts, str]]:
        return await asyncio.gather(*(cache.get_or_gather("k", slow) for _ in range(20)))

    results = asyncio.run(run())
    assert started == 1
    assert all(facts is GOOD for facts, _ in results)
    assert sorted(origin for _, origin in results).count("coalesced") == 19
    assert cache.stats.coalesced == 19


def test_a_waiter_that_gives_up_does_not_cancel_the_gathering() -> None:
    cache = FactsCache(CacheSettings())

    async def slow() -> ImageFacts:
        await asyncio.sleep(0.05)
        return GOOD

    async def run() -> str:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cache.get_or_gather("k", slow), timeout=0.01)
        await asyncio.sleep(0.1)
        return (await cache.get_or_gather("k", slow))[1]

    assert asyncio.run(run()) == "local"


def test_keys_change_with_policy_trust_and_needs() -> None:
    needs = FactNeeds(authorities=(Authority(name="ci", kind=SignatureKind.COSIGN, public_key="ci.pub"),))
    base = cache_key("img", needs, policy_fingerprint="p1", trust_generation="t1")
    assert base == cache_key("img", needs, policy_fingerprint="p1", trust_generation="t1")
    assert base != cache_key("img", needs, policy_fingerprint="p2", trust_generation="t1")
    assert base != cache_key("img", needs, policy_fingerprint="p1", trust_generation="t2")
    assert base != cache_key("img", FactNeeds(), policy_fingerprint="p1", trust_generation="t1")
    assert base != cache_key("img2", needs, policy_fingerprint="p1", trust_generation="t1")


def test_redis_down_serves_locally_and_backs_off() -> None:
    cache = FactsCache(CacheSettings(redis_url="redis://127.0.0.1:1/0", redis_retry_s=60))

    async def gather() -> ImageFacts:
        return GOOD

    async def run() -> list[str]:
        out = [(await cache.get_or_gather(f"k{i}", gather))[1] for i in range(3)]
        await cache.close()
        return out

    assert asyncio.run(run()) == ["gathered"] * 3
    assert cache.redis_state == "down"
    assert cache.stats.redis_errors == 1  # then it stops trying until redis_retry_s has passed


def test_lru_bound() -> None:
    cache = FactsCache(CacheSettings(max_entries=2))

    async def gather() -> ImageFacts:
        return GOOD

    async def run() -> None:
        for key in ("a", "b", "c"):
            await cache.get_or_gather(key, gather)

    asyncio.run(run())
    assert cache.peek("a") is None
    assert cache.peek("c") is GOOD


def test_negative_facts_get_the_short_ttl() -> None:
    from wharfinger.admission.cache import is_success
    from wharfinger.policy.facts import SignatureFact, Unscannable

    signed = ImageFacts(
        reference="r",
        digest="sha256:" + "a" * 64,
        signatures=(SignatureFact(authority="ci", kind=SignatureKind.COSIGN, verified=True),),
    )
    unsigned = ImageFacts(
        reference="r",
        digest="sha256:" + "a" * 64,
        signatures=(SignatureFact(authority="ci", kind=SignatureKind.COSIGN, verified=False),),
    )
    assert is_success(signed)
    assert not is_success(unsigned)
    assert not is_success(BAD)
    assert not is_success(signed, FactNeeds(vulnerabilities=True))  # no scan yet: ask again soon
    assert isinstance(signed.vulnerabilities, Unscannable)
