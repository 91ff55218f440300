"""Go modules: compiled binaries (build info), ``go.mod`` and ``go.sum``.

* ``parse_go_binary``: the main module, every dependency (a ``=>`` replacement with a version
  reports the replacement, as the binary was built from it) and the toolchain as the ``stdlib``
  package (``pkg:golang/stdlib@1.19.8``). A main module built as ``(devel)`` takes the version
  stamped with ``-ldflags "-X main.version=…"`` (or a ``…ver``/``…version``/``…tag`` variable of
  ``main`` or of the main module's packages, as syft) when there is one, else the pseudo-version of the
  recorded VCS revision (unless the tree was modified), else the first NUL-delimited version
  string in the binary, as syft 1.18 does (it tries that string before the VCS revision). Binaries
  built in GOPATH mode carry no module lines: their main package path stands for the module
  (``github.com/docker/distribution`` for Debian's ``docker-registry``, subpath ``cmd/registry``),
  versioned by that version string too.
* ``parse_go_mod``: the main module (no version) and every ``require``d module; ``replace``
  directives apply when their left-hand version is absent or matches, and a replacement by a
  local path removes the module (its code is in the image, not a released version). Before
  ``go 1.17`` go.mod lists indirect requirements only partially, so, as trivy does, ``// indirect``
  lines of such files are left to ``go.sum`` and not reported from go.mod.
* ``parse_go_sum``: one version per module (the last line go wrote, i.e. the newest).

purls: ``pkg:golang/github.com/x/y@v1.2.3``.
"""

from __future__ import annotations

import re
import shlex

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.catalogers._documents import Parsed, decode_text
from wharfinger.inventory.catalogers.executables import executable_format, section_span
from wharfinger.inventory.catalogers.filecataloger import BinaryData, FileCataloger, FileRule
from wharfinger.inventory.catalogers.gobuildinfo import BuildInfo, Module, read_build_info
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package, purl_for
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["GO_MODULE_FILES", "parse_go_binary", "parse_go_mod", "parse_go_sum"]

# `-ldflags "-X pkg.var=value"` stamps taken for the main module's version: the value must look
# like a version (not "dev", not a commit); first a `version` variable of a package named like
# _VERSION_PACKAGES, else, as syft, any variable named …ver, …version or …tag of `main` or of a
# package of the main module (trivy's `pkg/version/app.ver`, kpt's `run.version`)
_VERSION_PACKAGES = ("main", "version", "cmd", "build", "buildinfo")
_STAMP_VALUE = re.compile(r"v?\d+(?:\.\d+)*(?:[-+][\w.+-]*)?")
_STAMP_VARIABLE = re.compile(r"\w*(?:ver|version|tag)", re.IGNORECASE)

# syft's last resort for a main module without a version: the first version string in the file
# that follows a NUL or a byte Go's regexp reads as U+FFFD (invalid UTF-8), optionally followed by
# one character and "L", and that ends with a NUL (`-X pkg.var=1.2.3` stamps land in read-only data
# like that; plain Go string literals are packed without NULs and are not found). A guess: it comes
# after the ldflags stamp and the VCS revision.
# Speed: the prefix byte is everywhere in a binary, so the search anchors on the dot after the
# first number instead (a literal first character: re skips with a fast scan, ~0.6 ms per MB
# instead of ~15 ms per MB for the regex that starts with the prefix), then checks the few
# candidates with the full pattern in a small window around them.
_VERSION_ANCHOR = re.compile(rb"\.\d+\.\d+[-\w]*[+\w]*\x00")
_RUNE = rb"(?:[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}|[^\n])"  # Go's `.`
_CONTENT_VERSION = re.compile(rb"(?:\x00|[\x80-\xff])(?:" + _RUNE + rb"L)?(v?\d+\.\d+\.\d+[-\w]*[+\w]*)\x00")
_DIGITS = frozenset(b"0123456789")
# the longest first number looked back over, and the widest prefix before it: a NUL or U+FFFD
# (3 bytes), a character of up to 4 bytes, "L" and "v"
_MAX_DIGITS, _MAX_PREFIX = 32, 9
# candidates (a dotted triple ending in NUL) checked before giving up: real binaries have < 100,
# a hostile file full of them would otherwise cost a Python loop turn each
_MAX_CANDIDATES = 4096
# machine code holds no string data, so its section (40-45 % of a Go binary) is not searched: a
# match there would be instruction bytes (syft reads them; the first match in the kit's and this
# machine's Go binaries is in read-only data every time)
_CODE_SECTIONS = {"elf": ".text", "pe": ".text", "macho": "__text"}


def _reads_as_replacement(data: BinaryData, index: int) -> bool:
    """Whether Go, reading ``data`` as UTF-8, sees U+FFFD at ``index``: a byte of 0x80 or more
    that is not part of a valid multi-byte character (or is part of U+FFFD itself)."""
    if data[index] < 0x80:  # noqa: PLR2004 - ASCII
        return False
    for start in range(max(index - 3, 0), index + 1):
        for end in range(max(index + 1, start + 2), min(start + 4, len(data)) + 1):
            try:
                char = data[start:end].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(char) == 1:
                return char == "\ufffd"
    return True


def _searched_spans(data: BinaryData) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``data`` to search: all but the code section."""
    kind = executable_format(data[:4])
    try:
        code = section_span(data, _CODE_SECTIONS[kind]) if kind is not None else None
    except ValueError:  # headers pointing outside the file: search it all
        code = None
    if code is None:
        return [(0, len(data))]
    offset, size = code
    return [(0, offset), (offset + size, len(data))]


def _content_version(data: BinaryData) -> str | None:
    """The first version string syft's ``FromContents`` search finds in ``data`` (outside the
    machine code), or None."""
    checked = 0
    for start, end in _searched_spans(data):
        found = _first_version(data, start, end, _MAX_CANDIDATES - checked)
        if isinstance(found, str):
            return found
        checked += found
        if checked >= _MAX_CANDIDATES:
            return None
    return None


def _first_version(data: BinaryData, start: int, end: int, budget: int) -> str | int:
    """The first version string in ``data[start:end]``, else the number of candidates checked."""
    position = start
    for checked in range(budget):
        anchor = _VERSION_ANCHOR.search(data, position, end)
        if anchor is None:
            return checked
        first = anchor.start()
        while first > 0 and data[first - 1] in _DIGITS and anchor.start() - first < _MAX_DIGITS:
            first -= 1
        window_start, window_end = max(first - _MAX_PREFIX, start), anchor.end()
        while (found := _CONTENT_VERSION.search(data, window_start, window_end)) is not None:
            if data[found.start()] == 0 or _reads_as_replacement(data, found.start()):
                return found.group(1).decode("ascii")
            window_start = found.start() + 1
        # every match ending at this NUL lies in the window; the next one starts at the NUL or later
        position = anchor.end() - 1
    return budget


# code hosts whose module paths are host/owner/repository: the module of a GOPATH-mode package
_THREE_SEGMENT_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "gitee.com")


def _go_package(path: str, version: str, location: Location, *, metadata: dict[str, str] | None = None) -> Package:
    return language_package(
        name=path,
        version=version,
        type_=PackageType.GOLANG,
        location=location,
        metadata=metadata,
    )


def _stdlib(go_version: str, location: Location) -> Package:
    version = go_version.split(maxsplit=1)[0].removeprefix("go")  # "go1.20.1 X:boringcrypto" → "1.20.1"
    return language_package(
        name="stdlib",
        version=version,
        type_=PackageType.GOLANG,
        location=location,
        purl=purl_for(PackageType.GOLANG, "stdlib", version),
        cpes=(cpe23("golang", "go", version),),
        metadata={"go_toolchain": go_version},
    )


def _x_stamps(ldflags: str) -> list[tuple[str, str, str]]:
    """``(package, variable, value)`` of each ``-X package.variable=value`` in ``-ldflags``."""
    try:
        words = shlex.split(ldflags)  # go splits -ldflags with shell-like quoting too
    except ValueError:  # an unbalanced quote
        words = ldflags.split()
    stamps = []
    for index, word in enumerate(words):
        if word in ("-X", "--X"):
            assignment = words[index + 1] if index + 1 < len(words) else ""
        elif word.startswith(("-X=", "--X=")):
            assignment = word.split("=", 1)[1]
        else:
            continue
        key, equals, value = assignment.partition("=")
        package, dot, variable = key.rpartition(".")
        if equals and dot:
            stamps.append((package, variable, value))
    return stamps


def _stamped_version(ldflags: str, main_path: str) -> str | None:
    """The main module's version stamped with ``-ldflags -X`` (see _STAMP_VALUE), or None."""
    stamps = [stamp for stamp in _x_stamps(ldflags) if _STAMP_VALUE.fullmatch(stamp[2])]
    for package, variable, value in stamps:
        if variable in ("version", "Version", "VERSION") and package.rsplit("/", 1)[-1] in _VERSION_PACKAGES:
            return value
    for package, variable, value in stamps:
        ours = package in ("main", main_path) or package.startswith(main_path + "/")
        if ours and _STAMP_VARIABLE.fullmatch(variable):
            return value
    return None


def _main_version(info: BuildInfo, main: Module, data: BinaryData) -> str:
    """The main module's version: as recorded, else an ``-ldflags -X`` stamp (``v`` prefixed, as
    syft does), else the pseudo-version Go would give the VCS revision it recorded
    (``v0.0.0-20240102150405-abcdef123456``), else a version string found in the binary ``data``
    (syft's ``FromContents``), else ``(devel)``."""
    if main.version and main.version != "(devel)":
        return main.version
    settings = dict(info.settings)
    stamped = _stamped_version(settings.get("-ldflags", ""), main.path)
    if stamped is not None:
        return stamped if stamped.startswith("v") else f"v{stamped}"
    revision, when = settings.get("vcs.revision", ""), settings.get("vcs.time", "")
    stamp = re.sub(r"\D", "", when)[:14]
    if len(revision) >= 12 and len(stamp) == 14 and settings.get("vcs.modified") != "true":  # noqa: PLR2004
        return f"v0.0.0-{stamp}-{revision[:12]}"
    found = _content_version(data)
    if found is not None:
        return found if found.startswith("v") else f"v{found}"
    return main.version


def _gopath_main(path: str, version: str, location: Location, meta: dict[str, str]) -> Package:
    """The main package of a binary built in GOPATH mode (no module lines, only ``path``), named
    after the module it most likely belongs to: ``github.com/docker/distribution/cmd/registry`` is
    the module ``github.com/docker/distribution`` with ``cmd/registry`` as the purl subpath, as syft
    reports it; elsewhere the package path stands for the module."""
    segments = path.split("/")
    module, subpath = path, None
    if segments[0] in _THREE_SEGMENT_HOSTS and len(segments) > 3:  # noqa: PLR2004 - host/owner/repository
        module, subpath = "/".join(segments[:3]), "/".join(segments[3:])
    return language_package(
        name=module,
        version=version,
        type_=PackageType.GOLANG,
        location=location,
        purl=purl_for(PackageType.GOLANG, module, version, subpath=subpath),
        metadata={**meta, "main_module": "true", "main_package": path},
    )


def parse_go_binary(data: BinaryData, location: Location) -> Parsed:
    """The modules compiled into a Go binary; nothing for a file that is not one."""
    try:
        info = read_build_info(data)
    except ValueError as exc:
        raise PackageMetadataError(
            f"{location.path} has a Go build-info header that cannot be read: {exc}",
            hint="the binary is truncated or corrupt; it is skipped",
        ) from exc
    if info is None:
        return Parsed()
    meta = {"go_toolchain": info.go_version}
    packages: list[Package] = []
    if info.main is not None and info.main.path:
        packages.append(
            _go_package(
                info.main.path,
                _main_version(info, info.main, data),
                location,
                metadata={**meta, "main_module": "true"},
            )
        )
    elif info.main is None and info.path and info.path != "command-line-arguments":  # GOPATH mode
        version = _main_version(info, Module(path=info.path, version="(devel)"), data)
        packages.append(_gopath_main(info.path, version, location, meta))
    for dep in info.deps:
        replaced = dep.replaced_by
        if replaced is not None and replaced.version not in ("", "(devel)") and not _is_local_path(replaced.path):
            extra = {**meta, "replaces": f"{dep.path}@{dep.version}"}
            packages.append(_go_package(replaced.path, replaced.version, location, metadata=extra))
        elif replaced is not None:
            packages.append(
                _go_package(dep.path, dep.version, location, metadata={**meta, "replaced_by": replaced.path})
            )
        else:
            packages.append(_go_package(dep.path, dep.version, location, metadata=meta))
    packages.append(_stdlib(info.go_version, location))
    return Parsed(packages=tuple(packages))


# --- go.mod ------------------------------------------------------------------------------------


def _lists_all_indirect(go_directive: str) -> bool:
    """Module graph pruning (go 1.17+) makes go.mod list every indirect requirement."""
    match = re.match(r"^1\.(\d+)", go_directive)
    return match is None or int(match.group(1)) >= 17  # noqa: PLR2004 - go 1.17


def _tokens(line: str) -> list[str]:
    line = line.split("//", 1)[0]
    return [t.strip('"`') for t in line.split()]


def _is_local_path(path: str) -> bool:
    return path.startswith(("./", "../", "/")) or path in (".", "..")


def parse_go_mod(data: bytes, location: Location, *, apply_replaces: bool = True) -> Parsed:
    """The main module and its required modules, with ``replace`` directives applied unless told not to."""
    text = decode_text(data, location)
    module = ""
    requires: dict[str, str] = {}
    indirect: set[str] = set()
    go_directive = ""
    replaces: list[tuple[str, str, str, str]] = []  # old path, old version or "", new path, new version or ""
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = _tokens(raw)
        if not tokens:
            continue
        if block is not None:
            if tokens == [")"]:
                block = None
                continue
            directive, args = block, tokens
        elif tokens[-1] == "(" and len(tokens) == 2:  # noqa: PLR2004 - "require (" opens a block
            block = tokens[0]
            continue
        else:
            directive, args = tokens[0], tokens[1:]
        if directive == "module" and args:
            module = args[0]
        elif directive == "go" and args:
            go_directive = args[0]
        elif directive == "require" and len(args) >= 2:  # noqa: PLR2004
            requires[args[0]] = args[1]
            if re.search(r"//\s*indirect", raw):
                indirect.add(args[0])
        elif directive == "replace" and "=>" in args:
            arrow = args.index("=>")
            old, new = args[:arrow], args[arrow + 1 :]
            if not old or not new:
                raise PackageMetadataError(
                    f"{location.path}:{number}: malformed replace directive", hint="fix the go.mod; it is skipped"
                )
            replaces.append((old[0], old[1] if len(old) > 1 else "", new[0], new[1] if len(new) > 1 else ""))
    if not module:
        raise PackageMetadataError(f"{location.path} has no module directive", hint="the file is not a go.mod")
    if not _lists_all_indirect(go_directive):
        requires = {path: version for path, version in requires.items() if path not in indirect}
    resolved = dict(requires)
    for old_path, old_version, new_path, new_version in replaces if apply_replaces else ():
        if old_path not in resolved or (old_version and old_version != requires.get(old_path)):
            continue
        del resolved[old_path]
        if not _is_local_path(new_path) and new_version:
            resolved[new_path] = new_version
    packages = [_go_package(module, "", location, metadata={"main_module": "true"})]
    packages.extend(_go_package(path, version, location) for path, version in resolved.items())
    return Parsed(packages=tuple(packages))


def parse_go_sum(data: bytes, location: Location) -> Parsed:
    """One package per module in ``go.sum`` at the last (newest) version listed."""
    versions: dict[str, str] = {}
    for number, raw in enumerate(decode_text(data, location).splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 3:  # noqa: PLR2004 - module, version, hash
            raise PackageMetadataError(
                f"{location.path}:{number}: expected `module version hash`", hint="the file is not a go.sum"
            )
        versions[fields[0]] = fields[1].removesuffix("/go.mod")
    return Parsed(packages=tuple(_go_package(path, version, location) for path, version in versions.items()))


# go.sum is not catalogued: it keeps checksums of versions the build no longer uses, so it would
# report modules that are not in the program; go.mod (or better, the binary) is the truth.
GO_MODULE_FILES = FileCataloger(
    name="go-module-file",
    version="1",
    evidence="declared",
    rules=(FileRule(pattern="**/go.mod", parse=parse_go_mod, skip_inside=("/pkg/mod/", "/vendor/")),),
)
