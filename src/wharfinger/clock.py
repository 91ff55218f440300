"""Time is injected: the core takes ``now``; edge code that reads time repeatedly takes a ``Clock``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current instant, timezone-aware UTC."""
        ...


@dataclass(frozen=True, slots=True)
class SystemClock:
    """The only place in Wharfinger that reads the wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock stopped at ``at``: for tests and for replaying decisions."""

    at: datetime

    def now(self) -> datetime:
        return self.at
