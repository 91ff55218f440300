"""Plain files (neither selected nor kept) join the tree only when a query needs them: every answer
must be what the full tree gives, whatever the order of the queries and from the cache too."""

from __future__ import annotations

import tarfile
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_layer_builder import Entry, build_tar, layer

from wharfinger.errors import UnsafeArchiveError
from wharfinger.inventory.layers import LayeredFS, Selection, read_layers

ALL = Selection(patterns=("**",))
NARROW = Selection(patterns=("**/keep*",))
DIR, SYM, LNK = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

_NAMES = ("a", "b", "keep", "keep.txt", "c")
_paths = st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3).map("/".join)


@st.composite
def _layer_entries(draw: st.DrawFn) -> list[Entry]:
    entries: list[Entry] = []
    files: list[str] = list(draw(st.lists(_paths, max_size=2)))  # hardlink targets in lower layers too
    for _ in range(draw(st.integers(1, 8))):
        path = draw(_paths)
        kind = draw(st.sampled_from(("file", "file", "dir", "symlink", "hardlink", "whiteout", "opaque")))
        if kind == "file":
            entries.append(Entry(path, b"x" * draw(st.integers(0, 3)), mode=draw(st.sampled_from((0o644, 0o600)))))
            files.append(path)
        elif kind == "dir":
            entries.append(Entry(path, kind=DIR, mode=0o755))
        elif kind == "symlink":
            entries.append(Entry(path, kind=SYM, link=draw(st.sampled_from(("a", "../keep", "/b/c", "c")))))
        elif kind == "hardlink" and files:
            entries.append(Entry(path, kind=LNK, link=draw(st.sampled_from(files))))
        elif kind == "whiteout":
            head, _, name = path.rpartition("/")
            entries.append(Entry(f"{head}/.wh.{name}" if head else f".wh.{name}"))
        elif kind == "opaque":
            entries.append(Entry(f"{path}/.wh..wh..opq"))
    return entries


def _answers(fs: LayeredFS, order: Callable[[list[str]], list[str]]) -> list[object]:
    probes = sorted({"/", *(f"/{p}" for p in _probe_paths())})
    answers: list[object] = [sorted(fs.executables())]
    for path in order(probes):
        answer: list[object] = [path]
        try:
            answer += [fs.exists(path), fs.is_dir(path), fs.is_file(path), fs.realpath(path), fs.layer_of(path)]
            if fs.is_file(path):
                answer += [fs.size(path), fs.mode(path)]
            if fs.is_dir(path):
                answer.append(fs.listdir(path))
        except UnsafeArchiveError:  # a symlink loop: both trees must meet it at the same step
            answer.append("loop")
        answers.append(answer)
    answers.append(list(fs.walk()))
    return sorted(answers, key=repr)


def _probe_paths() -> list[str]:
    return [f"{a}/{b}" for a in _NAMES for b in _NAMES] + list(_NAMES)


def _all_answers(layers: list[bytes], selection: Selection, order: Callable[[list[str]], list[str]]) -> list[object]:
    inputs = [layer(blob, "application/vnd.oci.image.layer.v1.tar") for blob in layers]
    with read_layers(inputs, selection=selection) as fs:
        views = [fs.at_layer(i) for i in range(len(layers))]
        return [_answers(view, order) for view in views]


@settings(max_examples=300, deadline=None)
@given(st.lists(_layer_entries(), min_size=1, max_size=3), st.booleans())
def test_a_narrow_selection_answers_as_the_whole_tree(layers: list[list[Entry]], reverse: bool) -> None:
    blobs = [build_tar(entries) for entries in layers]
    order: Callable[[list[str]], list[str]] = (lambda p: p[::-1]) if reverse else (lambda p: p)
    assert _all_answers(blobs, NARROW, order) == _all_answers(blobs, ALL, lambda p: p)


def test_plain_files_under_a_directory_without_its_own_entry() -> None:
    blob = build_tar([Entry("opt/app/lib/x.so", b"1"), Entry("opt/app/keep.txt", b"k")])
    with read_layers([layer(blob, "application/vnd.oci.image.layer.v1.tar")], selection=NARROW) as fs:
        assert fs.is_file("/opt/app/keep.txt")
        assert fs.is_dir("/opt/app/lib")
        assert fs.listdir("/opt/app") == ["keep.txt", "lib"]
        assert fs.size("/opt/app/lib/x.so") == 1


def test_a_plain_file_replacing_a_lower_symlink_is_not_followed() -> None:
    base = build_tar([Entry("etc/keep", b"base"), Entry("etc/link", kind=SYM, link="keep")])
    top = build_tar([Entry("etc/link", b"now a file")])
    blobs = [layer(b, "application/vnd.oci.image.layer.v1.tar") for b in (base, top)]
    with read_layers(blobs, selection=NARROW) as fs:
        assert fs.realpath("/etc/link") == "/etc/link"
        assert fs.size("/etc/link") == len(b"now a file")
        assert fs.at_layer(0).realpath("/etc/link") == "/etc/keep"


@pytest.mark.parametrize("links_to", ["opt/data.bin", "opt/copy.bin"], ids=["the file", "the other link"])
def test_a_hardlink_to_a_plain_file_is_a_plain_file_and_a_selected_one_has_its_content(links_to: str) -> None:
    """A hand-made tar may link to a link: the selected one shares the file the first one shares
    (the narrow tree said it did not exist; found by the property over symlinked directories)."""
    blob = build_tar(
        [
            Entry("opt/data.bin", b"payload"),
            Entry("opt/copy.bin", kind=LNK, link="opt/data.bin"),
            Entry("opt/keep.bin", kind=LNK, link=links_to),
        ]
    )
    with read_layers([layer(blob, "application/vnd.oci.image.layer.v1.tar")], selection=NARROW) as fs:
        assert fs.size("/opt/copy.bin") == len(b"payload")
        assert fs.size("/opt/keep.bin") == len(b"payload")
        assert fs.read_bytes("/opt/keep.bin", 100) == b"payload"  # selected: the layer was read again for it
        assert fs.warnings == []


def test_plain_files_come_back_from_the_layer_cache(tmp_path) -> None:
    from wharfinger.inventory.cache import InventoryCache

    blob = build_tar([Entry("usr/lib/x.so", b"12"), Entry("usr/keep", b"k"), Entry("usr/lib/.wh.y")])
    store = InventoryCache(tmp_path / "cache")
    first_layer = layer(blob, "application/vnd.oci.image.layer.v1.tar")
    with read_layers([first_layer], selection=NARROW, store=store) as fs:
        first = _answers(fs, lambda p: p)

    def refuse() -> None:
        raise AssertionError("the cached layer must not be opened")

    from wharfinger.inventory.layer_input import LayerInput

    cached = LayerInput(digest=first_layer.digest, media_type=first_layer.media_type, open=refuse)
    with read_layers([cached], selection=NARROW, store=store) as fs:
        assert fs.size("/usr/lib/x.so") == 2
        assert _answers(fs, lambda p: p) == first


# patterns of the shapes followed through symlinked directories: a fixed directory, a fixed path,
# and a `**` pattern with a directory (``through_symlinks``, ``below_symlinks``)
_THROUGH_LINKS = Selection(patterns=("/a/keep*", "/b/keep", "**/c/keep.txt"))


@st.composite
def _linked_directories(draw: st.DrawFn) -> list[Entry]:
    """Files, symlinks that mostly lead to directories (``_layer_entries`` rarely makes those), and
    whiteouts, which may lie below those links."""
    entries: list[Entry] = []
    for _ in range(draw(st.integers(1, 8))):
        path = draw(_paths)
        kind = draw(st.sampled_from(("file", "file", "symlink", "symlink", "whiteout", "opaque")))
        if kind == "file":
            entries.append(Entry(path, path.encode()))
        elif kind == "symlink":
            entries.append(
                Entry(path, kind=SYM, link=draw(st.sampled_from(("b", "/c", "a/b", "../c", "c", "/", "keep"))))
            )
        elif kind == "whiteout":
            head, _, name = path.rpartition("/")
            entries.append(Entry(f"{head}/.wh.{name}" if head else f".wh.{name}"))
        else:
            entries.append(Entry(f"{path}/.wh..wh..opq"))
    return entries


@settings(max_examples=500, deadline=None)
@given(st.lists(_linked_directories(), min_size=1, max_size=3))
def test_a_selected_file_behind_a_symlinked_directory_is_read(layers: list[list[Entry]]) -> None:
    """Every probe path a pattern names whose directory leads through a symlink to a regular file
    (not itself a link) reads as in the whole tree, and ``glob`` lists it or a path to the same file."""
    from wharfinger.inventory.filesystem import PathPatterns

    patterns = PathPatterns(_THROUGH_LINKS.patterns)
    inputs = [layer(build_tar(entries), "application/vnd.oci.image.layer.v1.tar") for entries in layers]
    with read_layers(inputs, selection=ALL) as whole, read_layers(inputs, selection=_THROUGH_LINKS) as narrow:
        listed = set()
        for path in narrow.glob(_THROUGH_LINKS.patterns):
            try:
                listed.add(narrow.realpath(path))
            except UnsafeArchiveError:  # a file entry below a directory a later entry made a looping link
                continue
        for probe in sorted(f"/{p}" for p in _probe_paths()):
            directory, _, name = probe.rpartition("/")
            try:
                followed = (
                    patterns.matches(probe)
                    and whole.is_file(probe)
                    and whole.realpath(directory or "/") != (directory or "/")
                    and whole.realpath(probe) == f"{whole.realpath(directory or '/').rstrip('/')}/{name}"
                )
            except UnsafeArchiveError:  # a loop
                continue
            real = whole.realpath(probe) if followed else ""
            if any(whole.is_file(real[:cut]) for cut in range(1, len(real)) if real[cut] == "/"):
                # below a file: containerd cannot unpack such an image (ENOTDIR); the entry is kept as written
                continue
            if followed:
                assert narrow.read_bytes(probe, 100) == whole.read_bytes(probe, 100), probe
                assert whole.realpath(probe) in listed, probe
