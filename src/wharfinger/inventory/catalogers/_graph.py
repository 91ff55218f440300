"""Which packages of a lock file only development needs: reachable from the dev roots and not from
the production roots (so a package both need is production, as in trivy and npm)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["dev_only"]


def _reach(roots: Iterable[str], edges: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:  # iterative: lock files may hold cycles and long chains
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges(node))
    return seen


def dev_only(prod_roots: Iterable[str], dev_roots: Iterable[str], edges: Callable[[str], Iterable[str]]) -> set[str]:
    return _reach(dev_roots, edges) - _reach(prod_roots, edges)
