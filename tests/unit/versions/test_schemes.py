"""Hand-written ordered tables per scheme (the edges the shared vectors miss), rejections, and
the ecosystem registry."""

from __future__ import annotations

import pytest

from wharfinger.errors import InputError, VersionError
from wharfinger.versions import SCHEMES, apk, composer, deb, gem, go, maven, npm, nuget, pep440, rpm, scheme_for

# Each list is strictly increasing in its scheme.
ORDERED: dict[str, list[str]] = {
    "deb": ["1.0~rc1-1", "1.0-1", "1.0-1+deb12u1", "1.0-2", "1.0a-1", "1.0+dfsg-1", "1.1-1", "1:0.9-1", "2:0.1"],
    "rpm": ["1.0~rc1-1", "1.0-1", "1.0^git1-1", "1.0a-1", "1.0.1-1", "1.1-1.el9", "1.1-2.el9", "1:0.1-1"],
    "apk": [
        "1.0_alpha1-r0",
        "1.0_beta-r0",
        "1.0_pre1-r0",
        "1.0_rc1-r0",
        "1.0-r0",
        "1.0-r1",
        "1.0_p1-r0",
        "1.0a-r0",
        "1.0.1-r0",
    ],
    "pep440": ["1.0.dev0", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0.post1", "1.1", "1!0.1"],
    "semver": [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ],
    "maven": ["1.0-alpha1", "1.0-beta1", "1.0-milestone1", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1"],
    "go": [
        "v0.0.0-20200101000000-abcdefabcdef",
        "v0.1.0",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.2.3",
        "v2.0.0+incompatible",
        "v2.1.0",
    ],
    "gem": ["1.0.a", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1"],
    "nuget": ["1.0.0-alpha", "1.0.0-Beta", "1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.0.1"],
    "composer": ["1.0.0-dev", "1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0", "1.0.0-p1", "1.0.1"],
}

EQUAL: dict[str, list[tuple[str, str]]] = {
    "deb": [("0:1.0", "1.0"), ("1.0-0", "1.0-0")],
    "rpm": [("0:1.0-1", "1.0-1"), ("1.0.0", "1.0..0")],
    "apk": [("1.0", "1.0")],
    "pep440": [("1.0", "1.0.0"), ("1.0-1", "1.0.post1")],
    "semver": [("1.0.0+a", "1.0.0+b"), ("v1.0.0", "1.0.0")],
    "maven": [("1.0.0", "1"), ("1-final", "1"), ("1.0-ga", "1"), ("1-cr1", "1-rc1"), ("1-foo", "1.foo")],
    "go": [("v1.2.3", "1.2.3"), ("go1.21", "1.21.0")],
    "gem": [("1.0", "1"), ("1.0.a1", "1.0a1")],
    "nuget": [("1.0", "1.0.0.0"), ("1.0.0-ALPHA", "1.0.0-alpha"), ("1.0.0+x", "1.0.0")],
    "composer": [("v1.2", "1.2.0.0"), ("1.0-b2", "1.0.0-beta2")],
}

REJECTED: dict[str, list[str]] = {
    "deb": ["", "abc", "1.0 2", "a1:1.0", "1.0_1", "1.0-"],
    "rpm": ["", "   "],
    "apk": ["", "1.0-1", "1.0_foo", "x1", "1.0-r", "1.0~"],
    "pep440": ["", "1.0-foo-bar", "abc"],
    "semver": ["", "1.0", "01.0.0", "1.0.0-01", "1.0.0.0", "9007199254740992.0.0"],
    "maven": ["", "  "],
    "go": ["", "v1.0", "latest", "v1.0.0.0"],
    "gem": ["", "1..0", "abc", "1.0 beta"],
    "nuget": ["", "abc", "1.0.0.0.0"],
    "composer": ["", "dev-main", "latest"],
}


@pytest.mark.parametrize("name", sorted(ORDERED))
def test_tables_are_strictly_increasing(name: str) -> None:
    scheme = SCHEMES[name]
    table = ORDERED[name]
    for i, lower in enumerate(table):
        for higher in table[i + 1 :]:
            assert scheme.compare(lower, higher) == -1, (lower, higher)
            assert scheme.compare(higher, lower) == 1, (higher, lower)


@pytest.mark.parametrize(("name", "a", "b"), [(n, a, b) for n, rows in EQUAL.items() for a, b in rows])
def test_equal_spellings(name: str, a: str, b: str) -> None:
    assert SCHEMES[name].compare(a, b) == 0


@pytest.mark.parametrize(("name", "text"), [(n, t) for n, rows in REJECTED.items() for t in rows])
def test_rejected_versions_raise_a_version_error_with_a_hint(name: str, text: str) -> None:
    with pytest.raises(VersionError) as info:
        SCHEMES[name].parse(text)
    assert isinstance(info.value, InputError)
    assert isinstance(info.value, ValueError)
    assert info.value.message


def test_every_scheme_has_tables() -> None:
    assert set(ORDERED) == set(SCHEMES) == set(EQUAL) == set(REJECTED)


@pytest.mark.parametrize(
    ("ecosystem", "scheme"),
    [
        ("Debian:12", "deb"),
        ("Ubuntu:22.04:LTS", "deb"),
        ("Alpine:v3.19", "apk"),
        ("Wolfi", "apk"),
        ("Red Hat:enterprise_linux:9::appstream", "rpm"),
        ("Azure Linux:3", "rpm"),
        ("Mariner:2.0", "rpm"),
        ("PyPI", "pep440"),
        ("npm", "semver"),
        ("crates.io", "semver"),
        ("Go", "go"),
        ("Maven", "maven"),
        ("RubyGems", "gem"),
        ("NuGet", "nuget"),
        ("Packagist", "composer"),
    ],
)
def test_scheme_for_osv_ecosystems(ecosystem: str, scheme: str) -> None:
    assert scheme_for(ecosystem).name == scheme


def test_unknown_ecosystem_is_an_error_naming_it() -> None:
    with pytest.raises(VersionError, match="Hackage"):
        scheme_for("Hackage")


def test_apk_compare_tokens_is_total_but_compare_validates() -> None:
    assert apk.compare_tokens(">", "<") == 0  # what apk-tools itself answers
    with pytest.raises(VersionError):
        apk.compare(">", "<")


def test_deb_parts() -> None:
    v = deb.parse("2:1.2.3-4-5")
    assert (v.epoch, v.upstream, v.revision) == (2, "1.2.3-4", "5")


def test_rpm_parts_and_missing_release() -> None:
    v = rpm.parse("1:2.3-4.el9")
    assert (v.epoch, v.version, v.release) == ("1", "2.3", "4.el9")
    assert rpm.compare("1.0", "1.0-1") == -1  # rpm 4.18's rpm.ver: an absent release is the empty string


def test_npm_range_prerelease_rule() -> None:
    assert npm.satisfies("1.2.3-beta.2", "^1.2.3-beta.1")
    assert not npm.satisfies("1.3.0-beta.1", "^1.2.3-beta.1")
    assert npm.satisfies("1.3.0", "^1.2.3-beta.1")
    with pytest.raises(VersionError):
        npm.parse_range(">=a.b.c")


def test_pep440_specifier_counts_prereleases() -> None:
    assert pep440.satisfies("2.0rc1", ">=1.0,<2.1")
    with pytest.raises(VersionError):
        pep440.satisfies("1.0", ">>1")


def test_go_toolchain_versions() -> None:
    assert go.compare("go1.22rc1", "go1.22.0") == -1
    assert go.compare("go1.21.10", "go1.21.9") == 1


def test_maven_huge_numbers_and_unknown_qualifiers() -> None:
    assert maven.compare("1.123456789012345678901", "1.123456789012345678900") == 1
    assert maven.compare("1-foo", "1-bar") == 1
    assert maven.compare("1-foo", "1-sp") == 1


def test_gem_nuget_composer_prereleases() -> None:
    assert gem.parse("1.0.rc1").is_prerelease
    assert not gem.parse("1.0.1").is_prerelease
    assert nuget.compare("1.0.0-alpha.2", "1.0.0-alpha.10") == -1
    assert composer.version_compare("1.0", "1.0.0") == -1  # PHP's own answer; normalize() avoids it
