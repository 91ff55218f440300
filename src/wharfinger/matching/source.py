"""The port through which matching reads advisories, and an in-memory adapter for it.

``AdvisorySource`` is the one method the matcher needs. vulndb's ``VulnDatabase`` implements
it (one SQL query per package) and so does its ``AdvisoryIndex`` (the whole database in memory,
for rescans of many SBOMs); ``MemorySource`` implements it over advisories already in memory
(records read by a test, a demo). Ecosystems and names are compared with vulndb's
``ecosystem_key``/``name_key`` on both sides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from wharfinger.vulndb.ecosystems import ecosystem_key, name_key
from wharfinger.vulndb.model import Advisory

__all__ = ["AdvisorySource", "BatchAdvisorySource", "CallableSource", "MemorySource", "as_source"]


@runtime_checkable
class AdvisorySource(Protocol):
    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        """Every advisory with an ``affected[]`` entry for exactly this OSV ecosystem (with its
        release, e.g. "Debian:12") and package name (as ``normalize_name`` spells it)."""
        ...


@runtime_checkable
class BatchAdvisorySource(AdvisorySource, Protocol):
    """A source that answers many packages at once (``VulnDatabase``: one SQL statement, not one per package)."""

    def advisories_for_many(self, packages: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], Sequence[Advisory]]:
        """``advisories_for(ecosystem, name)`` for every pair, keyed by the pairs as given."""
        ...


class MemorySource:
    """Advisories grouped by (ecosystem key, name key): one dict lookup per package."""

    __slots__ = ("_by_key", "count")

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        by_key: defaultdict[tuple[str, str], list[Advisory]] = defaultdict(list)
        count = 0
        for advisory in advisories:
            count += 1
            for key in dict.fromkeys(
                (ecosystem_key(a.ecosystem), name_key(a.ecosystem, a.name)) for a in advisory.affected
            ):
                by_key[key].append(advisory)
        self._by_key: dict[tuple[str, str], tuple[Advisory, ...]] = {k: tuple(v) for k, v in by_key.items()}
        self.count = count

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        return self._by_key.get((ecosystem_key(ecosystem), name_key(ecosystem, name)), ())

    def __len__(self) -> int:
        return self.count


class CallableSource:
    """Adapts a plain ``(ecosystem, name) -> Iterable[Advisory]`` function to the protocol."""

    __slots__ = ("_lookup",)

    def __init__(self, lookup: Callable[[str, str], Iterable[Advisory]]) -> None:
        self._lookup = lookup

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        return tuple(self._lookup(ecosystem, name))


def as_source(source: AdvisorySource | Callable[[str, str], Iterable[Advisory]]) -> AdvisorySource:
    if isinstance(source, AdvisorySource):
        return source
    return CallableSource(source)
