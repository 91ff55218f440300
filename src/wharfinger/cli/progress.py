"""Progress on a terminal's stderr, never in pipes or logs: transfer bars and step status lines.

Both stay silent when stderr is not a terminal or ``-q`` is given, so CI logs and
``wharfinger … -o json | jq`` see only what was asked for.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["status_steps", "transfer_bar"]

log = logging.getLogger(__name__)


def _interactive() -> bool:
    return sys.stderr.isatty() and logging.getLogger("wharfinger").getEffectiveLevel() <= logging.WARNING


class _RichTransfer:
    """``oci.pull.PullProgress`` drawn by rich (its ``advance`` is thread-safe)."""

    def __init__(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._description = description
        self._task: TaskID | None = None

    def start(self, total_bytes: int, blobs: int) -> None:
        self._task = self._progress.add_task(f"{self._description} ({blobs} blobs)", total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, nbytes)


@contextmanager
def transfer_bar(description: str) -> Iterator[_RichTransfer | None]:
    """A byte progress bar for a download, or None when nobody is watching."""
    if not _interactive():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _RichTransfer(progress, description)


@contextmanager
def status_steps() -> Iterator[Callable[[str], None]]:
    """A status line with the current step on a terminal's stderr; the steps go to the log (-v) otherwise."""
    if not _interactive():
        yield log.info
        return
    from rich.console import Console

    with Console(stderr=True).status("starting") as status:

        def step(message: str) -> None:
            log.info(message)
            status.update(message)

        yield step
