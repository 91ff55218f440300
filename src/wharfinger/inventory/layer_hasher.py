"""Hash plain-tar layers lying in local files in a helper process, one layer after another.

A layer parsed in place (``layers._read_plain_tar``) must still be hashed whole against its digest.
Hashing it in a thread of this process cost the parse dearly although hashing itself releases the
GIL: on deb-min's docker-archive (2 layers, 175 MB) the second layer parsed in 47-57 ms beside the
hash against 21-25 ms without, and the first layer's hash took 95-120 ms against 70 ms alone. Each
layer had a thread of its own, so two hashes and the parser shared two cores; and a thread that
returns from a 8 MiB read or hash waits for the parser to hand over the GIL. One helper process
hashes the layers in turn, on the other core, with no GIL to share (measured in docs/benchmarks.md,
session 7).

The helper is ``python -I -S`` running ``_HELPER``: the standard library only (and, for an
archive, this package's tar reader), no site packages, no environment. It receives each layer's
*open descriptor* over a private socket pair (``SCM_RIGHTS``), never a path: a file swapped on disk
between the parse and the hash cannot pass for the layer, both read the same open file. It answers
each job, in order, with the bytes it read and their hex digest.

Given a whole docker-archive (``prehash``), it also parses the headers of each member that is a
plain tar — a layer — while the command starts up, and hands the entries back as a ``TarIndex`` in
a memory file (``index``): the layer read replays them instead of parsing (deb-min: 42 ms of
headers, 4 ms replayed; the helper's own start and index end before the command's imports do).
The members are hashed after that; an archive over ``_INDEX_FIRST_BYTES`` is hashed first instead.

Where the helper cannot run (no ``sys.executable``, no ``SOCK_SEQPACKET``, a helper that died) the
layer is hashed in this process instead (``layers._Verifier``): slower, never unverified.

For a docker-archive the console script starts the helper first of all (``prestart``), so this
module imports only what starting it needs: the standard library's cheapest modules, no
``subprocess`` (``os.posix_spawn``), ``logging``, ``dataclasses`` or ``typing`` (with ``pathlib``,
~25 ms that the helper's start would otherwise wait for).
"""

from __future__ import annotations

import _thread
import os
import stat
import sys

# typing's constant without importing typing (see above); mypy reads any name TYPE_CHECKING as true
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Final, Protocol, Self

    from wharfinger.inventory.tarstream import TarIndex

    class _Child(Protocol):
        """The helper's process: ``subprocess.Popen`` has these too (the tests start odd helpers so)."""

        pid: int

        def poll(self) -> int | None: ...

        def kill(self) -> None: ...

        def wait(self) -> int: ...


__all__ = ["HashJob", "LayerHasher", "helper_command", "prestart"]


def _debug(message: str, *args: object) -> None:
    import logging  # noqa: PLC0415 -- see the module's docstring

    logging.getLogger(__name__).debug(message, *args)


# Kept to what the standard library does, and short: it runs at every start of the helper. It
# takes ``_socket``, not ``socket`` (whose enum and selectors imports cost ~6 ms before the first hash).
_HELPER: Final = """\
import _socket, hashlib, mmap, os, sys
channel = _socket.socket(fileno=int(sys.argv[1]))
buffer = memoryview(bytearray(8 << 20))

def digest(fd, offset, size, algorithm):
    hasher = hashlib.new(algorithm)
    end = min(offset + size, os.fstat(fd).st_size)
    if end - offset > len(buffer):
        # mapped, the page cache is hashed where it lies, a window at a time: no copy (~12 % of
        # the hash), and no more than a window resident. A file cut short while mapped kills this
        # process (SIGBUS): its jobs are then the caller's
        at = offset - offset % mmap.ALLOCATIONGRANULARITY
        while at < end:
            length = min(len(buffer), end - at)
            with mmap.mmap(fd, length, prot=mmap.PROT_READ, offset=at) as mapped, memoryview(mapped) as view:
                hasher.update(view[max(offset - at, 0) :])
            at += length
        return end - offset, hasher.hexdigest()
    done = 0
    while done < size:
        got = os.preadv(fd, [buffer[: min(len(buffer), size - done)]], offset + done)
        if not got:
            break
        hasher.update(buffer[:got])
        done += got
    return done, hasher.hexdigest()

def members(fd, algorithm):
    # the archive's members, by this package's own tar reader (``tarfile`` costs ~12 ms to import)
    import resource
    try:  # a hostile archive's headers (a pax record of gigabytes) fail here, not in the machine's memory
        resource.setrlimit(resource.RLIMIT_DATA, (256 << 20, 256 << 20))
    except (OSError, ValueError):
        pass
    sys.path.insert(0, ROOT)
    from wharfinger.inventory.tarstream import FileSource, TarReader
    found = []
    source = FileSource(fd, 0, os.fstat(fd).st_size)
    try:
        for count, member in enumerate(TarReader(source)):
            if count >= MAX_MEMBERS:
                break
            if member.isreg() and member.size and member.sparse is None:
                found.append((source.position(), member.size))
    except Exception:  # noqa: BLE001 -- not a plain tar, or unreadable past here: the rest come as jobs
        pass
    if sum(size for _, size in found) <= INDEX_FIRST_BYTES:
        index(fd, found, FileSource, TarReader)
    channel.send(b"indexes-end")
    for offset, size in found:
        done, hex_digest = digest(fd, offset, size, algorithm)
        channel.send(f"member {offset} {done} {hex_digest}".encode())

def index(fd, found, FileSource, TarReader):
    # the layers' entries first, for the parser that starts once the command's imports are done;
    # a member that is not a plain tar, or that the reader refuses, gets none (the parser finds out)
    if not hasattr(os, "memfd_create"):
        return
    sent = 0
    for offset, size in found:
        if sent >= MAX_INDEXES:
            return
        try:
            words, data = TarReader(FileSource(fd, offset, size)).index(MAX_INDEX_ENTRIES).encode()
        except Exception:  # noqa: BLE001 -- not a tar, refused, or too large for this helper's memory
            continue
        memfd = os.memfd_create("wharfinger-tar-index", os.MFD_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(memfd, view) :]
            message = " ".join(["index", str(offset), str(size), *words]).encode()
            channel.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, memfd.to_bytes(4, sys.byteorder))])
            sent += 1
        finally:
            os.close(memfd)

while True:
    message, ancillary, _flags, _address = channel.recvmsg(256, _socket.CMSG_SPACE(4))
    fds = [
        int.from_bytes(data[i : i + 4], sys.byteorder)
        for level, kind, data in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for i in range(0, len(data) - 3, 4)
    ]
    if not message or len(fds) != 1:
        break
    fd = fds[0]
    words = message.decode(errors="replace").split()
    if words[:1] == ["archive"]:
        try:
            members(fd, words[1])
        except Exception:  # noqa: BLE001 -- unreadable: its layers come as jobs
            pass
        finally:
            os.close(fd)
        channel.send(b"archive-end")
        continue
    try:
        offset, size, algorithm = words
        done, hex_digest = digest(fd, int(offset), int(size), algorithm)
        reply = f"ok {done} {hex_digest}"
    except (OSError, ValueError) as exc:
        reply = "error " + (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
    finally:
        os.close(fd)
    channel.send(reply.encode()[:4096])
"""
# members of an archive the helper hashes ahead, at most: past them its layers come as jobs
_MAX_ARCHIVE_MEMBERS: Final = 10_000
# layers of an archive the helper indexes ahead, at most (docker builds at most 127), and their entries
_MAX_INDEXES: Final = 128
_MAX_INDEX_ENTRIES: Final = 500_000  # LayerLimits' default per layer: past it the parser refuses the layer
_MAX_INDEX_BYTES: Final = 256 * 1024 * 1024  # an index the helper says is larger is not read
# An archive larger than this is hashed first and not indexed: its hash (~1.4 GB/s) then outlasts
# the rest of the command, which parses its layers meanwhile (big, 1.3 GB: indexing first put
# ~0.15 s on its end); a smaller one is indexed first, its hash then done before the catalogue is
_INDEX_FIRST_BYTES: Final = 512 * 1024 * 1024
_REPLY_BYTES: Final = 4096


def helper_command(channel_fd: int) -> list[str]:
    """The helper's command line (isolated mode, no site packages: the standard library, and this
    package's own tar reader for ``prehash``'s indexes, are all that run)."""
    # the directory holding the ``wharfinger`` package (pathlib is not imported before the helper starts)
    root = os.path.realpath(__file__).rsplit(os.sep, 3)[0]
    code = (
        f"MAX_MEMBERS = {_MAX_ARCHIVE_MEMBERS}\nMAX_INDEXES = {_MAX_INDEXES}\n"
        f"MAX_INDEX_ENTRIES = {_MAX_INDEX_ENTRIES}\nINDEX_FIRST_BYTES = {_INDEX_FIRST_BYTES}\n"
        f"ROOT = {root!r}\n{_HELPER}"
    )
    return [sys.executable, "-I", "-S", "-c", code, str(channel_fd)]


class _Prestarted:
    hasher: LayerHasher | None = None  # started by ``prestart``, not yet taken by ``LayerHasher.adopt``


def prestart(archive: str | os.PathLike[str] | None = None) -> None:
    """Start a helper now, at the start of the process, for the first ``LayerHasher.adopt()``, and
    have it hash every member of ``archive`` (a plain tar: a docker-archive) ahead (``prehash``).

    The console script calls it when the command line names a docker-archive (``cli.process``):
    the helper's start-up and the layers' hash then overlap the CLI's imports and the reading of
    the archive's manifest instead of following them. A helper nobody adopts ends with the process
    (its socket closes).
    """
    if _Prestarted.hasher is None:
        hasher = LayerHasher()
        hasher.start()
        if archive is not None:
            hasher.prehash(archive)
        _Prestarted.hasher = hasher


class HelperUnavailableError(OSError):
    """The helper could not take, or did not answer, a job: the caller hashes the layer itself."""


class HashJob:
    """One layer handed to the helper; ``result()`` waits for its answer."""

    def __init__(self, hasher: LayerHasher, number: int, *, member: bool = False) -> None:
        self._hasher = hasher
        self.number = number  # the job's place among the helper's jobs, or among the archive's members asked
        self._member = member

    def result(self) -> tuple[int, str]:
        """(bytes read, hex digest); ``OSError`` with the helper's reason if it could not read the layer,
        ``HelperUnavailableError`` if the helper is gone (or, for a member of a pre-hashed archive,
        never reached it: the caller hashes the layer itself)."""
        if self._member:
            return self._hasher._member(self.number)  # noqa: SLF001 -- the job asks its own hasher
        return self._hasher._result(self.number)  # noqa: SLF001


def _file_identity(fd: int) -> tuple[int, int, int, int]:
    """What says two descriptors read the same file, unchanged: device, inode, size, modification time."""
    status = os.fstat(fd)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


class LayerHasher:
    """A helper process started at the first job and stopped by ``close()``. Threads may submit and
    wait at the same time: one waiting for an answer does not hold up another's submit."""

    def __init__(self, *, spawn: Callable[[list[str], int], _Child] | None = None) -> None:
        self._spawn = spawn or _spawn
        self._sending = _thread.allocate_lock()
        self._receiving = _thread.allocate_lock()
        self._channel: _socket.socket | None = None
        self._process: _Child | None = None
        self._broken = False
        self._submitted = 0
        self._answers: dict[int, tuple[int, str] | OSError] = {}
        self._received = 0
        self._archive: tuple[int, int, int, int] | None = None  # the archive hashed ahead (``prehash``)
        self._members: dict[int, tuple[int, str]] = {}  # its members: data offset -> (size, hex digest)
        self._archive_done = False
        self._member_jobs: dict[int, tuple[int, int]] = {}  # member job number -> (offset, size)
        # its members' tar indexes not yet taken: data offset -> (size, the index's words, its memfd)
        self._indexes: dict[int, tuple[int, list[str], int]] = {}
        self._indexes_done = False

    @classmethod
    def adopt(cls) -> LayerHasher:
        """The helper ``prestart`` started, if it is still untaken; a new (unstarted) one otherwise."""
        hasher, _Prestarted.hasher = _Prestarted.hasher, None
        return hasher if hasher is not None else cls()

    def start(self) -> None:
        """Start the helper now, ahead of the first job (its start-up then overlaps the caller's
        work); where it cannot start, the jobs are hashed in the caller's process."""
        with self._sending:
            try:
                self._started()
            except HelperUnavailableError as exc:
                _debug("%s", exc)

    def prehash(self, archive: str | os.PathLike[str]) -> None:
        """Have the helper index and hash every member of ``archive`` now, before anyone asks: a later
        job for a member's exact bytes of the same file, unchanged (``_file_identity``), is answered
        from them, and ``index`` gives the entries of the members that are plain tars (layers).
        Nothing happens if the file cannot be opened or the helper cannot start."""
        try:  # non-blocking: a FIFO named as the archive must not hold the command up here
            fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            identity = _file_identity(fd)
            with self._sending:
                if self._archive is not None:
                    return
                self._send(self._started(), "archive sha256", fd)
                self._archive = identity
        except (OSError, HelperUnavailableError) as exc:
            _debug("no archive hashed ahead: %s", exc)
        finally:
            os.close(fd)

    def submit(self, fd: int, offset: int, size: int, algorithm: str) -> HashJob:
        """Queue the bytes ``[offset, offset + size)`` of ``fd`` (the helper gets its own copy of the
        descriptor); ``HelperUnavailableError`` if the helper cannot be started or reached."""
        if self._archive is not None and algorithm == "sha256" and _file_identity(fd) == self._archive:
            with self._receiving:  # a member of the archive hashed ahead: its answer is (or will be) there
                number = len(self._member_jobs) + 1
                self._member_jobs[number] = (offset, size)
            return HashJob(self, number, member=True)
        with self._sending:
            channel = self._started()
            self._send(channel, f"{offset} {size} {algorithm}", fd)
            self._submitted += 1
            return HashJob(self, self._submitted)

    def index(self, fd: int, offset: int, size: int) -> TarIndex | None:
        """The entries of the tar at ``[offset, offset + size)`` of ``fd`` as the helper parsed them
        ahead (``prehash``), when ``fd`` reads the archive it was given, unchanged, and that is one of
        its members; waits for the helper if it has not got there yet. None otherwise: the caller
        parses the tar itself (as it does where the helper refused it: the caller's parse then
        says why)."""
        from wharfinger.inventory.tarstream import TarIndex  # noqa: PLC0415 -- see the module's docstring

        if self._archive is None or _file_identity(fd) != self._archive:
            return None
        with self._receiving:
            try:
                while offset not in self._indexes and not (self._indexes_done or self._archive_done):
                    self._receive()
            except HelperUnavailableError:
                pass
            found = self._indexes.pop(offset, None)
        if found is None:
            return None
        member_size, words, memfd = found
        try:
            length = os.fstat(memfd).st_size
            if member_size != size or length > _MAX_INDEX_BYTES:
                return None
            data = os.pread(memfd, length, 0)
            return TarIndex.decode(words, data) if len(data) == length else None
        except (OSError, ValueError) as exc:  # not what the helper writes: the caller parses
            _debug("no tar index from the helper: %s", exc)
            return None
        finally:
            os.close(memfd)

    def _send(self, channel: _socket.socket, message: str, fd: int) -> None:
        import _socket  # noqa: PLC0415 -- loaded with the helper

        try:
            channel.sendmsg(
                [message.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fd.to_bytes(4, sys.byteorder))]
            )
        except OSError as exc:
            self._broken = True
            raise HelperUnavailableError(f"the hashing helper cannot be reached: {exc}") from exc

    def _started(self) -> _socket.socket:
        import _socket  # noqa: PLC0415 -- `socket` itself costs ~6 ms of imports; only a pair is made here

        if self._broken:
            raise HelperUnavailableError("the hashing helper is not running")
        if self._channel is not None:
            return self._channel
        if not sys.executable or not hasattr(os, "preadv") or not hasattr(_socket, "SCM_RIGHTS"):
            self._broken = True
            raise HelperUnavailableError("no interpreter or descriptor passing to run the hashing helper with")
        try:
            ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        except (OSError, AttributeError) as exc:
            self._broken = True
            raise HelperUnavailableError(f"no socket pair for the hashing helper: {exc}") from exc
        try:
            self._process = self._spawn(helper_command(theirs.fileno()), theirs.fileno())
        except OSError as exc:
            ours.close()
            self._broken = True
            raise HelperUnavailableError(f"the hashing helper cannot start: {exc}") from exc
        finally:
            theirs.close()
        self._channel = ours
        return ours

    def _result(self, number: int) -> tuple[int, str]:
        with self._receiving:
            while number not in self._answers:
                self._receive()
            answer = self._answers.pop(number)
        if isinstance(answer, OSError):
            raise answer
        return answer

    def _member(self, number: int) -> tuple[int, str]:
        with self._receiving:
            offset, size = self._member_jobs[number]
            while offset not in self._members and not self._archive_done:
                self._receive()
            found = self._members.get(offset)
        if found is None or found[0] != size:  # not a member (or not one of this size): hashed by the caller
            raise HelperUnavailableError(f"no member of the archive lies at {offset}, {size} bytes long")
        return found

    def _receive(self) -> None:
        """Take one answer from the helper (a job's, in order, or a member's of the archive)."""
        import _socket  # noqa: PLC0415 -- loaded with the helper

        if self._channel is None or self._broken:
            raise HelperUnavailableError("the hashing helper stopped before answering")
        fds: list[int] = []
        try:
            reply, ancillary, _flags, _address = self._channel.recvmsg(_REPLY_BYTES, _socket.CMSG_SPACE(4))
            fds = _passed_fds(ancillary)
        except OSError as exc:
            reply = b""
            _debug("hashing helper: %s", exc)
        try:
            self._take(reply, fds)
        finally:
            for fd in fds:  # a descriptor kept (an index's) was taken off the list
                os.close(fd)

    def _take(self, reply: bytes, fds: list[int]) -> None:
        if not reply:  # the helper exited (killed, out of memory): its jobs are the caller's
            self._broken = True
            raise HelperUnavailableError("the hashing helper exited before answering")
        if reply == b"archive-end":
            self._archive_done = True
        elif reply == b"indexes-end":
            self._indexes_done = True
        elif reply.startswith((b"member ", b"index ")):
            words = reply.decode(errors="replace").split()
            well_formed = True
            try:
                if words[0] == "member":
                    offset, size, hex_digest = words[1:4]
                    self._members[int(offset)] = (int(size), hex_digest)
                elif len(words) == 7 and len(fds) == 1:  # noqa: PLR2004 -- "index", offset, size, 4 words
                    self._indexes[int(words[1])] = (int(words[2]), words[3:], fds.pop())
                else:
                    well_formed = False
            except ValueError:
                well_formed = False
            if not well_formed:  # not what the helper writes: trust none of its answers
                self._broken = True
                raise HelperUnavailableError(f"the hashing helper answered {reply[:80]!r}")
        else:
            self._received += 1
            self._answers[self._received] = _parse_reply(reply)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helper (a job still hashing is dropped: its layer is not used)."""
        with self._sending:
            channel, process = self._channel, self._process
            self._process = None
            self._broken = True
        if process is not None:
            if process.poll() is None:
                process.kill()  # it may be in the middle of a 1 GB layer nobody waits for
            process.wait()
        if channel is not None:
            with self._receiving:  # a thread still waiting has seen the helper's end by now
                self._channel = None
                channel.close()
                indexes, self._indexes = self._indexes, {}
            for _size, _words, memfd in indexes.values():
                os.close(memfd)


def _passed_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    import _socket  # noqa: PLC0415 -- loaded with the helper

    return [
        int.from_bytes(data[i : i + 4], sys.byteorder)
        for level, kind, data in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for i in range(0, len(data) - 3, 4)
    ]


def _parse_reply(reply: bytes) -> tuple[int, str] | OSError:
    status, _, rest = reply.decode(errors="replace").partition(" ")
    if status == "ok":
        done, _, hex_digest = rest.partition(" ")
        if done.isdigit() and hex_digest.isalnum():
            return int(done), hex_digest
    elif status == "error":
        return OSError(rest or "unknown error")
    return HelperUnavailableError(f"the hashing helper answered {reply[:80]!r}")


class _Spawned:
    """A process started by ``os.posix_spawn``: what ``LayerHasher`` needs of ``subprocess.Popen``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None

    def poll(self) -> int | None:
        if self._status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def kill(self) -> None:
        if self._status is None:
            os.kill(self.pid, 9)  # SIGKILL, without importing signal

    def wait(self) -> int:
        if self._status is None:
            self._status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self._status


def _spawn(command: list[str], channel_fd: int) -> _Child:
    """``command`` with ``channel_fd`` kept open (``dup2`` onto itself clears close-on-exec in the
    child alone; a C library that does not leaves the helper without its channel: it exits, and its
    jobs are the caller's), standard streams on ``/dev/null``, an empty environment."""
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, channel_fd, channel_fd),
    ]
    return _Spawned(os.posix_spawn(command[0], command, {}, file_actions=actions))
