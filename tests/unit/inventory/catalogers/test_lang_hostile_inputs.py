"""Hostile and broken inputs: every parser turns them into a ``WharfingerError`` with a message
naming the file (the cataloger then warns and goes on), never a traceback."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from wharfinger.errors import PackageMetadataError, UnsafeArchiveError, WharfingerError
from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers import dotnet, golang, javascript, php, python, ruby, rust
from wharfinger.inventory.catalogers._documents import Parsed
from wharfinger.inventory.catalogers.gobuildinfo import read_build_info
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Location

Parser = Callable[[bytes, Location], Parsed]
DEEP = 100_000  # nesting levels: past every recursive parser's limit

CASES: list[tuple[str, Parser, bytes]] = [
    ("package-lock truncated", javascript.parse_package_lock, b'{"lockfileVersion": 2, "packages": {'),
    ("package-lock array", javascript.parse_package_lock, b"[1, 2, 3]"),
    ("package-lock deep", javascript.parse_package_lock, b"[" * DEEP + b"]" * DEEP),
    ("package.json not utf-8", javascript.parse_package_json, b'{"name": "\xff\xfe\xfa"}'),
    ("yarn garbage", javascript.parse_yarn_lock, b"this is not\na yarn lock\n"),
    ("pnpm bad yaml", javascript.parse_pnpm_lock, b"lockfileVersion: '9.0'\npackages: [unclosed\n"),
    ("pnpm deep yaml", javascript.parse_pnpm_lock, b"[" * DEEP + b"]" * DEEP),
    ("pnpm no version", javascript.parse_pnpm_lock, b"packages: {}\n"),
    ("bun truncated", javascript.parse_bun_lock, b'{"lockfileVersion": 1, "packages": {"a": ["a@1"'),
    ("poetry bad toml", python.parse_poetry_lock, b"[[package]]\nname = \n"),
    ("uv deep toml", python.parse_uv_lock, b"x = " + b"[" * DEEP + b"]" * DEEP),
    ("pdm package not array", python.parse_pdm_lock, b'package = "x"\n'),
    ("Pipfile.lock truncated", python.parse_pipfile_lock, b'{"default": {"a": {"version": "==1'),
    ("METADATA without name", python.parse_core_metadata, b"Metadata-Version: 2.1\nVersion: 1.0\n"),
    ("egg not a zip", python.parse_egg, b"PK\x03\x04garbage"),
    ("go.mod without module", golang.parse_go_mod, b"require x v1.0.0\n"),
    ("go.sum malformed", golang.parse_go_sum, b"only-two fields\n"),
    ("gemspec without version", ruby.parse_gemspec, b'Gem::Specification.new do |s|\n  s.name = "x"\nend\n'),
    ("Gemfile.lock not one", ruby.parse_gemfile_lock, b"hello\n"),
    ("Cargo.lock no packages", rust.parse_cargo_lock, b"version = 3\n"),
    ("deps.json truncated", dotnet.parse_deps_json, b'{"libraries": {'),
    ("composer.lock array", php.parse_composer_lock, b"[]"),
    ("installed.json string", php.parse_installed_json, b'"x"'),
]


@pytest.mark.parametrize(("parser", "data"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_broken_documents_raise_a_named_error(parser: Parser, data: bytes) -> None:
    with pytest.raises(WharfingerError) as caught:
        parser(data, Location(path="/srv/app/broken-file"))
    assert "/srv/app/broken-file" in caught.value.message
    assert caught.value.hint


def test_huge_lock_file_is_refused_before_parsing() -> None:
    with pytest.raises(PackageMetadataError, match="bytes, more than"):
        javascript.parse_package_lock(b" " * (65 * 1024 * 1024), Location(path="/huge/package-lock.json"))


def test_cataloger_warns_and_continues_past_bad_and_oversized_files(tmp_path: Path) -> None:
    good = tmp_path / "good" / "package-lock.json"
    good.parent.mkdir()
    good.write_text(json.dumps({"lockfileVersion": 3, "packages": {"node_modules/ms": {"version": "2.1.3"}}}))
    bad = tmp_path / "bad" / "package-lock.json"
    bad.parent.mkdir()
    bad.write_text("{")
    big = tmp_path / "big" / "yarn.lock"
    big.parent.mkdir()
    big.write_text("a@^1:\n  version 1.0.0\n" * 10_000)
    warnings: list[str] = []
    context = CatalogContext(distro=None, warn=warnings.append, max_file_bytes=100_000)
    found = javascript.JAVASCRIPT_LOCKS.catalog(DirFS(tmp_path), context)
    assert [p.purl for p in found] == ["pkg:npm/ms@2.1.3"]
    assert any("/bad/package-lock.json" in w and "not valid JSON" in w for w in warnings)
    assert any("/big/yarn.lock" in w and "larger than" in w for w in warnings)


def test_yaml_alias_bomb_does_not_expand() -> None:
    lines = ["lockfileVersion: '9.0'", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
        for i in range(20)
    ]
    lines.append("packages: {}")
    parsed = javascript.parse_pnpm_lock("\n".join(lines).encode(), Location(path="/pnpm-lock.yaml"))
    assert parsed.packages == ()  # aliases are shared references, never materialised


# --- binaries --------------------------------------------------------------------------------


def _minimal_elf(sections: dict[str, bytes]) -> bytes:
    """A 64-bit little-endian ELF holding only the named sections (enough for section lookup)."""
    names = b"\x00" + b"".join(name.encode() + b"\x00" for name in [*sections, ".shstrtab"])
    body = b""
    offsets = []
    for data in sections.values():
        offsets.append(64 + len(body))
        body += data
    shstr_offset = 64 + len(body)
    body += names
    shoff = 64 + len(body)
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(sections) + 2, len(sections) + 1
    )
    table = b"\x00" * 64
    name_offset = 1
    for (name, data), offset in zip(sections.items(), offsets, strict=True):
        table += struct.pack("<IIQQQQIIQQ", name_offset, 1, 0, 0, offset, len(data), 0, 0, 1, 0)
        name_offset += len(name) + 1
    table += struct.pack("<IIQQQQIIQQ", name_offset, 3, 0, 0, shstr_offset, len(names), 0, 0, 1, 0)
    return header + body + table


def test_minimal_elf_helper_is_read_like_cargo_auditable_output() -> None:
    audit = {"packages": [{"name": "serde", "version": "1.0.190", "source": "crates.io"}]}
    elf = _minimal_elf({".dep-v0": zlib.compress(json.dumps(audit).encode())})
    parsed = rust.parse_rust_binary(elf, Location(path="/bin/app"))
    assert [p.purl for p in parsed.packages] == ["pkg:cargo/serde@1.0.190"]


def test_rust_audit_section_bomb_is_refused() -> None:
    bomb = zlib.compress(b'{"packages": [' + b" " * (64 * 1024 * 1024) + b"]}", 9)
    with pytest.raises(UnsafeArchiveError, match="inflates past"):
        rust.parse_rust_binary(_minimal_elf({".dep-v0": bomb}), Location(path="/bin/app"))


def test_rust_audit_section_that_is_not_zlib() -> None:
    with pytest.raises(PackageMetadataError, match="not zlib"):
        rust.parse_rust_binary(_minimal_elf({".dep-v0": b"plain text"}), Location(path="/bin/app"))


def test_elf_whose_section_table_points_outside_the_file() -> None:
    elf = bytearray(_minimal_elf({".dep-v0": b"x"}))
    struct.pack_into("<Q", elf, 0x28, 10**12)  # e_shoff far past the end
    with pytest.raises(PackageMetadataError, match="/bin/app"):
        rust.parse_rust_binary(bytes(elf), Location(path="/bin/app"))


def test_go_buildinfo_truncated_after_the_header() -> None:
    blob = b"\x00" * 16 + b"\xff Go buildinf:\x08\x02" + b"\x00" * 16 + b"\xff\xff\xff"
    with pytest.raises(ValueError, match=r"truncated|past the end"):
        read_build_info(blob)
    with pytest.raises(PackageMetadataError, match="/bin/app"):
        golang.parse_go_binary(blob, Location(path="/bin/app"))


def test_go_buildinfo_pointer_outside_segments() -> None:
    elf = bytearray(_minimal_elf({".go.buildinfo": b"\xff Go buildinf:\x08\x00" + b"\x00" * 16 + b"\xff" * 16}))
    with pytest.raises(PackageMetadataError, match="cannot be read"):
        golang.parse_go_binary(bytes(elf), Location(path="/bin/app"))


def test_go_magic_inside_a_non_go_file_is_not_a_crash() -> None:
    assert golang.parse_go_binary(b"random \xff Go buildinf: text", Location(path="/x")).packages == ()
