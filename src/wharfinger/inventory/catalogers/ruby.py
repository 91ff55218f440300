"""Ruby gems: installed ``specifications/[default/]*.gemspec`` and ``Gemfile.lock``.

* ``parse_gemspec`` reads the Ruby source RubyGems writes for each installed gem. It is never
  evaluated: ``name``, ``version`` and ``license``/``licenses`` assignments to the block variable
  of ``Gem::Specification.new do |spec|`` are read as text.
* ``parse_gemfile_lock`` reads the ``specs:`` of the ``GEM``, ``GIT`` and ``PATH`` sections
  (four-space indented ``name (version)`` lines; six-space lines are their dependencies). A
  platform suffix (``nokogiri (1.15.4-x86_64-linux)``) is kept as metadata, not in the version:
  gem versions cannot contain ``-``.

purls: ``pkg:gem/rails@7.1.0`` (``?platform=…`` when one is given).
"""

from __future__ import annotations

import re

from wharfinger.errors import PackageMetadataError
from wharfinger.inventory.catalogers._documents import Parsed, decode_text
from wharfinger.inventory.catalogers.filecataloger import FileCataloger, FileRule
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package, purl_for
from wharfinger.inventory.licenses import to_spdx
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["RUBY_GEMFILE_LOCKS", "RUBY_INSTALLED", "parse_gemfile_lock", "parse_gemspec"]

_QUOTED = r"""(?:%q<([^>]*)>|"([^"]*)"|'([^']*)')"""
_ATTRIBUTE = re.compile(r"^\s*(\w+)\.(name|version|licenses?)\s*=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)
_BLOCK_VARIABLE = re.compile(r"Gem::Specification\.new\s+do\s*\|\s*(\w+)\s*\|")
_STRING = re.compile(_QUOTED)
_SPEC_LINE = re.compile(r"^ {4}(?P<name>[^\s(]+) \((?P<version>[^)]+)\)\s*$")


def _gem(name: str, version: str, location: Location, *, platform: str = "", licenses: tuple[str, ...] = ()) -> Package:
    return language_package(
        name=name,
        version=version,
        type_=PackageType.GEM,
        location=location,
        purl=purl_for(PackageType.GEM, name, version, qualifiers={"platform": platform} if platform else None),
        cpes=(cpe23(name, name, version, target_sw="ruby"),),
        licenses=tuple(to_spdx(lic) for lic in licenses),
        metadata={"platform": platform} if platform else None,
    )


def _strings(expression: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _STRING.finditer(expression)]


def parse_gemspec(data: bytes, location: Location) -> Parsed:
    """One installed gem from its specification file."""
    text = decode_text(data, location)
    block = _BLOCK_VARIABLE.search(text)
    values: dict[str, list[str]] = {}
    for match in _ATTRIBUTE.finditer(text):
        receiver, attribute, expression = match.groups()
        if block is not None and receiver != block.group(1):
            continue  # not the specification being built (trivy rejects such files too)
        if attribute == "licenses" and not expression.startswith("["):
            continue  # `licenses` takes an array; a bare string there is ignored by RubyGems' own validation
        if attribute not in values:  # the first assignment is the real one; later ones sit in fallbacks
            values[attribute] = _strings(expression)
    name = (values.get("name") or [""])[0]
    version = (values.get("version") or [""])[0]
    if not name or not version:
        raise PackageMetadataError(
            f"{location.path} assigns no name or version", hint="the gemspec is malformed; it is skipped"
        )
    licenses = tuple(values.get("licenses") or values.get("license") or ())
    return Parsed(packages=(_gem(name, version, location, licenses=licenses),))


def parse_gemfile_lock(data: bytes, location: Location) -> Parsed:
    """Every locked gem in ``Gemfile.lock``."""
    text = decode_text(data, location)
    found: dict[tuple[str, str, str], Package] = {}
    in_specs = False
    saw_section = False
    for line in text.splitlines():
        if line and not line[0].isspace():
            in_specs = False
            saw_section = saw_section or line.strip() in ("GEM", "GIT", "PATH", "PLATFORMS")
            continue
        if line.strip() == "specs:":
            in_specs = True
            continue
        if not in_specs:
            continue
        match = _SPEC_LINE.match(line)
        if match:
            version, _, platform = match.group("version").partition("-")
            key = (match.group("name"), version, platform)
            found.setdefault(key, _gem(key[0], version, location, platform=platform))
    if not saw_section:
        raise PackageMetadataError(f"{location.path} has no GEM section", hint="the file is not a Gemfile.lock")
    return Parsed(packages=tuple(found.values()))


RUBY_INSTALLED = FileCataloger(
    name="ruby-installed",
    version="2",
    rules=(
        FileRule(pattern="**/specifications/*.gemspec", parse=parse_gemspec),
        # the gems Ruby itself ships (bigdecimal, json, rexml …): their advisories name them too
        FileRule(pattern="**/specifications/default/*.gemspec", parse=parse_gemspec),
    ),
)

RUBY_GEMFILE_LOCKS = FileCataloger(
    name="ruby-gemfile-lock",
    version="1",
    evidence="declared",
    rules=(FileRule(pattern="**/Gemfile.lock", parse=parse_gemfile_lock, skip_inside=("/gems/",)),),
)
