"""The port through which matching reads advisories, and an in-memory adapter for it.

``AdvisorySource`` is the one method the matcher needs. vulndb's SQLite database implements it;
``AdvisoryIndex`` implements it over advisories already in memory (tests, a rescan that loads
the database once and matches many SBOMs against it). Names are compared after
``normalize_name`` on both sides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from wharfinger.matching.ecosystem import normalize_name
from wharfinger.vulndb.model import Advisory

__all__ = ["AdvisoryIndex", "AdvisorySource", "CallableSource", "as_source"]


@runtime_checkable
class AdvisorySource(Protocol):
    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        """Every advisory with an ``affected[]`` entry for exactly this OSV ecosystem (with its
        release, e.g. "Debian:12") and package name (as ``normalize_name`` spells it)."""
        ...


class AdvisoryIndex:
    """Advisories grouped by (ecosystem, normalised name): one dict lookup per package."""

    __slots__ = ("_by_key", "count")

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        by_key: defaultdict[tuple[str, str], list[Advisory]] = defaultdict(list)
        count = 0
        for advisory in advisories:
            count += 1
            for key in dict.fromkeys((a.ecosystem, normalize_name(a.ecosystem, a.name)) for a in advisory.affected):
                by_key[key].append(advisory)
        self._by_key: dict[tuple[str, str], tuple[Advisory, ...]] = {k: tuple(v) for k, v in by_key.items()}
        self.count = count

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        return self._by_key.get((ecosystem, name), ())

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
