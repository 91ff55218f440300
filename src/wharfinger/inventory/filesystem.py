"""A read-only view of an image's root filesystem, as catalogers see it.

Every source (a directory, the squashed layers of an image) is presented through ``ImageFS``.
Paths are absolute POSIX paths inside the image root (``/var/lib/dpkg/status``). Symlinks are
resolved *inside* the root: an absolute target is taken relative to the root and ``..`` stops at
the root, so no path ever escapes it (as the kernel does in a ``chroot``).

Catalogers find their files with ``glob(patterns)``; the patterns are the same globs they declare
in ``Cataloger.patterns`` so the layer walker can keep only those files while streaming::

    fs = DirFS(Path("/srv/rootfs"))
    for path in fs.glob(("/var/lib/dpkg/status", "**/*.dist-info/METADATA")):
        data = fs.read_bytes(path, max_bytes=4 << 20)
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from wharfinger.errors import FileTooLargeError, InputError, UnsafeArchiveError

__all__ = [
    "MAX_SYMLINK_HOPS",
    "DirFS",
    "FileTooLargeError",
    "ImageFS",
    "PathPatterns",
    "below_symlinks",
    "normalize_path",
    "resolve_inside_root",
    "through_symlinks",
]

MAX_SYMLINK_HOPS = 40  # as Linux's MAXSYMLINKS: more is a loop


_EXECUTE_BITS = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


@runtime_checkable
class ImageFS(Protocol):
    """What a cataloger may ask of an image's filesystem. Missing paths raise ``FileNotFoundError``."""

    def exists(self, path: str) -> bool:
        """True if ``path`` (symlinks followed inside the root) exists."""
        ...

    def is_dir(self, path: str) -> bool: ...

    def is_file(self, path: str) -> bool:
        """True for a regular file (symlinks followed)."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names (not paths) in the directory ``path``, sorted."""
        ...

    def open(self, path: str) -> BinaryIO:
        """The contents of a regular file; the caller closes it."""
        ...

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        """The whole file; ``FileTooLargeError`` if it holds more than ``max_bytes``."""
        ...

    def size(self, path: str) -> int: ...

    def mode(self, path: str) -> int:
        """``st_mode`` of the file (symlinks followed): type and permission bits."""
        ...

    def realpath(self, path: str) -> str:
        """``path`` with every symlink resolved, never leaving the root."""
        ...

    def walk(self) -> Iterator[str]:
        """Every regular file's path (not following symlinks), in sorted order."""
        ...

    def glob(self, patterns: Iterable[str]) -> Iterator[str]:
        """Regular files whose path matches any of ``patterns`` (see ``PathPatterns``), sorted; a
        pattern whose directory is literal also names files through a symlink (``through_symlinks``)."""
        ...

    def executables(self) -> Iterator[str]:
        """Regular files with an execute bit whose contents can be read (``walk`` order)."""
        ...

    def layer_of(self, path: str) -> str | None:
        """Digest of the layer that provided the file at ``path``; None for directory sources."""
        ...


def normalize_path(path: str) -> str:
    """``/a/./b//c/`` → ``/a/b/c`` lexically (``..`` is kept for the resolver), always absolute."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in {"", "."}]
    return "/" + "/".join(parts)


def resolve_inside_root(path: str, readlink: Callable[[str], str | None], *, follow_last: bool = True) -> str:
    """Resolve ``path`` component by component; ``readlink(p)`` gives a symlink's target or None.

    Absolute targets restart at the image root and ``..`` never climbs above it.
    """
    pending = [p for p in path.split("/") if p not in {"", "."}]
    pending.reverse()
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = "/" + "/".join([*resolved, part])
        is_last = not pending
        target = None if (is_last and not follow_last) else readlink(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            raise UnsafeArchiveError(
                f"too many levels of symbolic links resolving {path}",
                hint="the image contains a symlink loop; the path is skipped",
            )
        if target.startswith("/"):
            resolved = []
        more = [p for p in target.split("/") if p not in {"", "."}]
        pending.extend(reversed(more))
    return "/" + "/".join(resolved)


def resolve_in_directory(
    directory: str, name: str, readlink: Callable[[str], str | None], resolved: dict[str, str]
) -> str:
    """``directory/name`` resolved inside the root, ``directory``'s own resolution taken from (or
    added to) ``resolved``: catalogers look up thousands of files in a few hundred directories."""
    real_directory = resolved.get(directory)
    if real_directory is None:
        real_directory = resolve_inside_root(directory, readlink)
        resolved[directory] = real_directory
    candidate = f"{real_directory.rstrip('/')}/{name}"
    if readlink(candidate) is None:
        return candidate
    return resolve_inside_root(candidate, readlink)


def _translate_glob(pattern: str) -> str:
    """Glob to regex: ``**/`` any depth (also none), ``*`` and ``?`` within one path segment."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


@lru_cache(maxsize=256)
def _name_glob(glob: str) -> re.Pattern[str]:
    """One path component's glob, compiled."""
    return re.compile(_translate_glob(glob))


def through_symlinks(fs: ImageFS, patterns: Iterable[str]) -> dict[str, str]:
    """Files a pattern with a literal directory names only through a symlink: ``{path: real path}``.

    With ``/var/lib/dpkg`` a symlink to ``/opt/db``, distroless's ``/var/lib/dpkg/status.d/*``
    matches no real path: the files lie at ``/opt/db/status.d/…``, which ``walk`` lists (it never
    follows symlinks) and the pattern does not match. dpkg, rpm and a container follow the link, so
    a scanner that did not would let one symlink hide an image's OS packages. A ``**`` pattern is
    not followed here (that would walk every symlinked directory, and loops): ``below_symlinks``
    first gives, for an image, the fixed-directory patterns it becomes below the links that matter.

    A path whose real path the pattern also matches is left out (``glob`` lists that one). Costs a
    ``realpath`` per literal pattern when no symlink is on the way, the usual case. A directory that
    many links lead to is listed once (a hostile layer's thousands of links cost a lookup each).
    """
    found: dict[str, str] = {}
    listed: dict[tuple[str, str], list[str]] = {}  # (real directory, name glob) → the names it matches
    for pattern in patterns:
        directory, _, base = pattern.rpartition("/")
        if not pattern.startswith("/") or _is_glob(directory):
            continue
        directory = directory or "/"
        wild = _is_glob(base)
        try:
            if wild:
                real_directory = fs.realpath(directory)
                if real_directory == directory or not fs.is_dir(directory):
                    continue
                names = listed.get((real_directory, base))
                if names is None:
                    glob = _name_glob(base)
                    names = listed[real_directory, base] = [n for n in fs.listdir(directory) if glob.fullmatch(n)]
            else:
                names = [base]
        except (UnsafeArchiveError, OSError):  # a symlink loop; for dir:, a directory gone meanwhile
            continue
        for name in names:  # each matches the pattern below ``directory``
            path = f"{directory.rstrip('/')}/{name}"
            try:
                real = fs.realpath(path)
                if real == path or path in found:
                    continue
                real_parent, _, real_name = real.rpartition("/")
                if (real_parent or "/") == directory and (
                    _name_glob(base).fullmatch(real_name) is not None if wild else real_name == base
                ):
                    continue  # the pattern matches the real path too: that is the one listed
                if fs.is_file(path):
                    found[path] = real
            except (UnsafeArchiveError, OSError):  # this name loops (or is gone): the others may not
                continue
    return found


class _LinkNames:
    """The components a symlink's name must match to matter to ``below_symlinks``: every component
    of a ``**/a/b/c`` pattern but its last, as a set of literal names, suffixes (``*dist-info``)
    and a regex for the rest; an image's thousands of library symlinks meet a set lookup each."""

    __slots__ = ("literal", "others", "suffixes")

    def __init__(self, heads: Iterable[str]) -> None:
        heads = set(heads)
        self.literal = frozenset(h for h in heads if not _is_glob(h))
        self.suffixes = tuple(h[1:] for h in heads if h.startswith("*") and not _is_glob(h[1:]))
        others = sorted(h for h in heads if _is_glob(h) and h[1:] not in self.suffixes)
        self.others = re.compile("|".join(f"(?:{_translate_glob(h)})" for h in others)) if others else None

    def may_matter(self, name: str) -> bool:
        return (
            name in self.literal
            or name.endswith(self.suffixes)
            or (self.others is not None and self.others.fullmatch(name) is not None)
        )


@lru_cache(maxsize=64)
def _anywhere_patterns(patterns: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], ...], _LinkNames]:
    """The ``**/a/b/c`` patterns of ``patterns`` split into components, and what a symlink's name
    must match to matter (``below_symlinks``)."""
    split = tuple(
        tuple(rest.split("/"))
        for pattern in patterns
        if pattern.startswith("**/") and "/" in (rest := pattern[3:]) and "**" not in rest
    )
    return split, _LinkNames(part for parts in split for part in parts[:-1])


def _ends_with(components: list[str], globs: tuple[str, ...]) -> bool:
    """Whether the last ``len(globs)`` path components match ``globs``, one each."""
    if len(components) < len(globs):
        return False
    tail = components[len(components) - len(globs) :]
    return all(_name_glob(glob).fullmatch(part) is not None for glob, part in zip(globs, tail, strict=True))


def below_symlinks(fs: ImageFS, patterns: Iterable[str], symlinks: Iterable[str]) -> list[str]:
    """The patterns of a fixed directory that ``**/a/b/c`` patterns become below symlinked directories.

    With ``/app/vendor`` a symlink to ``/opt/php``, ``/app/vendor/composer/installed.json`` lies at
    ``/opt/php/composer/installed.json``, which ``**/vendor/composer/installed.json`` does not match.
    A symlink whose last components match a pattern's first ones (``vendor``) gives the rest of
    the pattern below it, ``/app/vendor/composer/installed.json``: a pattern of a fixed directory,
    which ``through_symlinks`` follows. That is all it takes: a file lying deeper below the link
    than the pattern is long matches at its real path, and so does every file below a link whose
    target ends the same way (``/bin`` → ``/usr/bin``, left alone: following it would list
    ``/usr/bin``, which costs an image's tree every plain file). syft follows these links in images
    (not in ``dir:``); trivy does not. Patterns with ``**`` past their start are not followed. A
    symlink's name is looked up once among the components that could matter (``_LinkNames``).
    """
    split, names = _anywhere_patterns(tuple(patterns))
    if not split:
        return []
    may_matter = names.may_matter
    below: list[str] = []
    for link in symlinks:
        if not may_matter(link[link.rfind("/") + 1 :]):
            continue
        components = link.split("/")[1:]
        real: list[str] | None = None
        for parts in split:
            for taken in range(1, len(parts)):
                if not _ends_with(components, parts[:taken]):
                    continue
                if real is None:
                    try:
                        real = fs.realpath(link).split("/")[1:]
                    except UnsafeArchiveError:  # a loop: nothing lies below it
                        real = []
                if not _ends_with(real, parts[:taken]):  # otherwise the real paths match already
                    below.append("/".join((link, *parts[taken:])))
    return list(dict.fromkeys(below))


class PathPatterns:
    """A compiled set of globs over absolute image paths.

    ``**/`` matches any number of directories (``**/*.jar`` matches ``/a.jar`` and ``/x/y/a.jar``);
    a pattern without a leading ``/`` is anchored anywhere, as if prefixed with ``**/``.

    Matching runs once per layer entry and once per file for every cataloger's glob, so it is
    indexed by the last path segment: a literal basename is a dictionary lookup, wildcard
    basenames share one small regex, and only the candidates' full patterns are tried.
    """

    __slots__ = ("_by_basename", "_by_dirname", "_deep", "_wild", "_wild_basenames", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        index = _index_patterns(self.patterns)
        self._by_basename, self._by_dirname, self._wild_basenames, self._wild, self._deep = index

    def matches(self, path: str) -> bool:
        cut = path.rfind("/")
        base = path[cut + 1 :]
        literal = self._by_basename.get(base)
        if literal is not None and literal.fullmatch(path) is not None:
            return True
        in_directory = self._by_dirname.get(path[:cut] or "/")
        if in_directory is not None and in_directory.fullmatch(path) is not None:
            return True
        if (
            self._wild_basenames is not None
            and self._wild is not None
            and self._wild_basenames.fullmatch(base) is not None
            and self._wild.fullmatch(path) is not None
        ):
            return True
        return self._deep is not None and self._deep.fullmatch(path) is not None


_Index = tuple[
    dict[str, re.Pattern[str]],
    dict[str, re.Pattern[str]],
    re.Pattern[str] | None,
    re.Pattern[str] | None,
    re.Pattern[str] | None,
]


def _either(regexes: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None


@lru_cache(maxsize=256)
def _index_patterns(patterns: tuple[str, ...]) -> _Index:
    literal: dict[str, list[str]] = {}
    directories: dict[str, list[str]] = {}  # wildcard basename in a literal directory: "/var/lib/dpkg/status.d/*"
    wild_full: list[str] = []
    wild_base: list[str] = []
    deep: list[str] = []
    for pattern in patterns:
        anchored = pattern if pattern.startswith("/") else "/**/" + pattern
        full = _translate_glob(anchored)  # "/**/x" matches "/x": "**/" allows zero directories
        cut = anchored.rfind("/")
        base, directory = anchored[cut + 1 :], anchored[:cut] or "/"
        if "**" in base or not base:
            deep.append(full)
        elif _is_glob(base) and not _is_glob(directory):
            directories.setdefault(directory, []).append(full)
        elif _is_glob(base):
            wild_full.append(full)
            wild_base.append(_translate_glob(base))
        else:
            literal.setdefault(base, []).append(full)

    def grouped(groups: dict[str, list[str]]) -> dict[str, re.Pattern[str]]:
        return {key: re.compile("|".join(f"(?:{r})" for r in regexes)) for key, regexes in groups.items()}

    return grouped(literal), grouped(directories), _either(wild_base), _either(wild_full), _either(deep)


class DirFS:
    """``dir:PATH``: a root filesystem unpacked in a directory, read in place.

    The directory is taken as a snapshot: every path is ``lstat``-ed at most once (symlink targets
    and file types are remembered), the resolved parent directory of a path is remembered, and a
    file ``walk`` found (no symlink on its way, as ``os.walk`` does not follow them) is its own real
    path. Resolving ``/usr/lib/x/METADATA`` a second time, or its sibling, costs no system call."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise InputError(f"{root} is not a directory", hint="dir: sources take a root filesystem folder")
        self.root = root.resolve()
        self._files: list[str] | None = None  # walk() computed once: catalogers glob many times
        self._walked: frozenset[str] = frozenset()  # the same, for lookups
        self._lstats: dict[str, os.stat_result | None] = {}  # image path (not resolved) -> its lstat
        self._links: dict[str, str] = {}  # image path of a symlink -> its target
        self._directories: dict[str, str] = {}  # image directory (no "..") -> its real path

    def _host(self, path: str) -> Path:
        return self.root / normalize_path(path).lstrip("/")

    def _lstat(self, path: str) -> os.stat_result | None:
        try:
            return self._lstats[path]
        except KeyError:
            pass
        try:
            result: os.stat_result | None = os.lstat(self._host(path))
        except OSError:
            result = None
        self._lstats[path] = result
        return result

    def _readlink(self, path: str) -> str | None:
        st = self._lstat(path)
        if st is None or not stat.S_ISLNK(st.st_mode):
            return None
        if path not in self._links:
            try:
                self._links[path] = str(self._host(path).readlink())
            except OSError:
                return None
        return self._links[path]

    def realpath(self, path: str) -> str:
        normalized = normalize_path(path)
        if normalized in self._walked:
            return normalized
        if "/.." in normalized:  # ".." applies to the resolved parent: the general resolver handles it
            return resolve_inside_root(normalized, self._readlink)
        parent, _, name = normalized.rpartition("/")
        if not name:
            return "/"
        return resolve_in_directory(parent, name, self._readlink, self._directories)

    def _resolved_host(self, path: str) -> Path:
        return self._host(self.realpath(path))

    def _stat(self, path: str) -> os.stat_result | None:
        try:
            return self._lstat(self.realpath(path))
        except UnsafeArchiveError:
            return None

    def exists(self, path: str) -> bool:
        return self._stat(path) is not None

    def is_dir(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def is_file(self, path: str) -> bool:
        st = self._stat(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def listdir(self, path: str) -> list[str]:
        if not self.is_dir(path):
            raise FileNotFoundError(path)
        return sorted(p.name for p in self._resolved_host(path).iterdir())

    def size(self, path: str) -> int:
        st = self._stat(path)
        if st is None or not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(path)
        return st.st_size

    def mode(self, path: str) -> int:
        st = self._stat(path)
        if st is None:
            raise FileNotFoundError(path)
        return st.st_mode

    def open(self, path: str) -> BinaryIO:
        if not self.is_file(path):
            raise FileNotFoundError(path)
        return self._resolved_host(path).open("rb")

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        with self.open(path) as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLargeError(f"{path} is larger than {max_bytes} bytes", hint="the file is skipped")
        return data

    def walk(self) -> Iterator[str]:
        if self._files is None:
            self._files = list(self._walk_host())
            self._walked = frozenset(self._files)
        return iter(self._files)

    def _walk_host(self) -> Iterator[str]:
        root_len = len(str(self.root))
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            rel = dirpath[root_len:] or "/"
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)  # noqa: PTH118 -- os.walk hands out str paths
                try:
                    if stat.S_ISREG(os.lstat(full).st_mode):
                        yield normalize_path(f"{rel}/{name}")
                except OSError:
                    continue

    def glob(self, patterns: Iterable[str]) -> Iterator[str]:
        compiled = PathPatterns(patterns)
        found = [p for p in self.walk() if compiled.matches(p)]
        if aliased := through_symlinks(self, compiled.patterns):
            found = sorted({*found, *aliased})
        yield from found

    def executables(self) -> Iterator[str]:
        for path in self.walk():
            st = self._stat(path)
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_mode & _EXECUTE_BITS:
                yield path

    def layer_of(self, path: str) -> str | None:  # noqa: ARG002 -- directories have no layers
        return None
