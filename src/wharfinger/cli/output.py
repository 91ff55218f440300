"""``-o/--output FORMAT[=FILE]``, repeatable, as syft does: where each rendering goes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from wharfinger.errors import InputError

__all__ = ["OutputTarget", "parse_outputs", "write_outputs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputTarget:
    format: str
    path: Path | None = None  # None: standard output


def parse_outputs(values: Iterable[str] | None, *, allowed: Iterable[str], default: str) -> list[OutputTarget]:
    allowed_set = set(allowed)
    targets: list[OutputTarget] = []
    for value in values or [default]:
        fmt, _, path = value.partition("=")
        if fmt not in allowed_set:
            raise InputError(
                f"unknown output format {fmt!r}",
                hint=f"choose one of: {', '.join(sorted(allowed_set))}",
            )
        targets.append(OutputTarget(format=fmt, path=Path(path) if path else None))
    if sum(1 for t in targets if t.path is None) > 1:
        raise InputError(
            "only one output format can go to standard output",
            hint="write the others to files: -o json=report.json",
        )
    return targets


def write_outputs(targets: Iterable[OutputTarget], render: Callable[[str], str | bytes]) -> None:
    for target in targets:
        data = render(target.format)
        raw = data.encode() if isinstance(data, str) else data
        if target.path is None:
            sys.stdout.buffer.write(raw)
            if not raw.endswith(b"\n"):
                sys.stdout.buffer.write(b"\n")
            sys.stdout.flush()
        else:
            target.path.write_bytes(raw)
