"""Hash plain-tar layers lying in local files in a helper process, one layer after another.

A layer parsed in place (``layers._read_plain_tar``) must still be hashed whole against its digest.
Hashing it in a thread of this process cost the parse dearly although hashing itself releases the
GIL: on deb-min's docker-archive (2 layers, 175 MB) the second layer parsed in 47-57 ms beside the
hash against 21-25 ms without, and the first layer's hash took 95-120 ms against 70 ms alone. Each
layer had a thread of its own, so two hashes and the parser shared two cores; and a thread that
returns from a 8 MiB read or hash waits for the parser to hand over the GIL. One helper process
hashes the layers in turn, on the other core, with no GIL to share (measured in docs/benchmarks.md,
session 7).

The helper is ``python -I -S`` running ``_HELPER``: the standard library only, no site packages,
no environment. It receives each layer's *open descriptor* over a private socket pair (``SCM_RIGHTS``),
never a path: a file swapped on disk between the parse and the hash cannot pass for the layer, both
read the same open file. It answers each job, in order, with the bytes it read and their hex digest.

Where the helper cannot run (no ``sys.executable``, no ``SOCK_SEQPACKET``, a helper that died) the
layer is hashed in this process instead (``layers._Verifier``): slower, never unverified.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    import _socket

__all__ = ["HashJob", "LayerHasher", "helper_command", "prestart"]

log = logging.getLogger(__name__)

# Kept to what the standard library does, and short: it runs at every start of the helper. It
# takes ``_socket``, not ``socket`` (whose enum and selectors imports cost ~6 ms before the first hash).
_HELPER: Final = """\
import _socket, hashlib, os, sys
channel = _socket.socket(fileno=int(sys.argv[1]))
buffer = memoryview(bytearray(8 << 20))

def digest(fd, offset, size, algorithm):
    hasher = hashlib.new(algorithm)
    done = 0
    while done < size:
        got = os.preadv(fd, [buffer[: min(len(buffer), size - done)]], offset + done)
        if not got:
            break
        hasher.update(buffer[:got])
        done += got
    return done, hasher.hexdigest()

def members(fd, algorithm):
    import resource, tarfile
    try:  # a hostile archive's headers (a pax record of gigabytes) fail here, not in the machine's memory
        resource.setrlimit(resource.RLIMIT_DATA, (256 << 20, 256 << 20))
    except (OSError, ValueError):
        pass
    with os.fdopen(os.dup(fd), "rb") as file, tarfile.open(fileobj=file, mode="r:") as archive:
        for count, member in enumerate(archive):
            if count >= MAX_MEMBERS:
                return
            if member.isreg() and member.size:
                done, hex_digest = digest(fd, member.offset_data, member.size, algorithm)
                channel.send(f"member {member.offset_data} {done} {hex_digest}".encode())

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
        except Exception:  # noqa: BLE001 -- not a plain tar, or unreadable: its layers come as jobs
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
_REPLY_BYTES: Final = 4096


def helper_command(channel_fd: int) -> list[str]:
    """The helper's command line (isolated mode, no site packages: only the standard library runs)."""
    code = f"MAX_MEMBERS = {_MAX_ARCHIVE_MEMBERS}\n{_HELPER}"
    return [sys.executable, "-I", "-S", "-c", code, str(channel_fd)]


class _Prestarted:
    hasher: LayerHasher | None = None  # started by ``prestart``, not yet taken by ``LayerHasher.adopt``


def prestart(archive: Path | None = None) -> None:
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


@dataclass(frozen=True, slots=True)
class _FileIdentity:
    """What says two descriptors read the same file, unchanged: device, inode, size, modification time."""

    device: int
    inode: int
    size: int
    modified_ns: int

    @classmethod
    def of(cls, fd: int) -> _FileIdentity:
        status = os.fstat(fd)
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


class LayerHasher:
    """A helper process started at the first job and stopped by ``close()``. Threads may submit and
    wait at the same time: one waiting for an answer does not hold up another's submit."""

    def __init__(self, *, spawn: Callable[[list[str], int], subprocess.Popen[bytes]] | None = None) -> None:
        self._spawn = spawn or _spawn
        self._sending = threading.Lock()
        self._receiving = threading.Lock()
        self._channel: _socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False
        self._submitted = 0
        self._answers: dict[int, tuple[int, str] | OSError] = {}
        self._received = 0
        self._archive: _FileIdentity | None = None  # the archive being hashed ahead (``prehash``)
        self._members: dict[int, tuple[int, str]] = {}  # its members: data offset -> (size, hex digest)
        self._archive_done = False
        self._member_jobs: dict[int, tuple[int, int]] = {}  # member job number -> (offset, size)

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
                log.debug("%s", exc)

    def prehash(self, archive: Path) -> None:
        """Have the helper hash every member of ``archive`` now, before anyone asks: a later job for
        a member's exact bytes of the same file, unchanged (``_FileIdentity``), is answered from them.
        Nothing happens if the file cannot be opened or the helper cannot start."""
        try:  # non-blocking: a FIFO named as the archive must not hold the command up here
            fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return
            identity = _FileIdentity.of(fd)
            with self._sending:
                if self._archive is not None:
                    return
                self._send(self._started(), "archive sha256", fd)
                self._archive = identity
        except (OSError, HelperUnavailableError) as exc:
            log.debug("no archive hashed ahead: %s", exc)
        finally:
            os.close(fd)

    def submit(self, fd: int, offset: int, size: int, algorithm: str) -> HashJob:
        """Queue the bytes ``[offset, offset + size)`` of ``fd`` (the helper gets its own copy of the
        descriptor); ``HelperUnavailableError`` if the helper cannot be started or reached."""
        if self._archive is not None and algorithm == "sha256" and _FileIdentity.of(fd) == self._archive:
            with self._receiving:  # a member of the archive hashed ahead: its answer is (or will be) there
                number = len(self._member_jobs) + 1
                self._member_jobs[number] = (offset, size)
            return HashJob(self, number, member=True)
        with self._sending:
            channel = self._started()
            self._send(channel, f"{offset} {size} {algorithm}", fd)
            self._submitted += 1
            return HashJob(self, self._submitted)

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
        if self._channel is None or self._broken:
            raise HelperUnavailableError("the hashing helper stopped before answering")
        try:
            reply = self._channel.recv(_REPLY_BYTES)
        except OSError as exc:
            reply = b""
            log.debug("hashing helper: %s", exc)
        if not reply:  # the helper exited (killed, out of memory): its jobs are the caller's
            self._broken = True
            raise HelperUnavailableError("the hashing helper exited before answering")
        if reply == b"archive-end":
            self._archive_done = True
        elif reply.startswith(b"member "):
            try:
                offset, size, hex_digest = reply.decode(errors="replace").split()[1:4]
                self._members[int(offset)] = (int(size), hex_digest)
            except ValueError:  # not what the helper writes: trust none of its answers
                self._broken = True
                raise HelperUnavailableError(f"the hashing helper answered {reply[:80]!r}") from None
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


def _parse_reply(reply: bytes) -> tuple[int, str] | OSError:
    status, _, rest = reply.decode(errors="replace").partition(" ")
    if status == "ok":
        done, _, hex_digest = rest.partition(" ")
        if done.isdigit() and hex_digest.isalnum():
            return int(done), hex_digest
    elif status == "error":
        return OSError(rest or "unknown error")
    return HelperUnavailableError(f"the hashing helper answered {reply[:80]!r}")


def _spawn(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        pass_fds=(channel_fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={},
    )
