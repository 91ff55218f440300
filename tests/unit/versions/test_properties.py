"""Ordering laws for every scheme (Hypothesis): reflexive, antisymmetric, transitive.

Strategies build tricky strings from each scheme's alphabet (epochs, ``~``/``^``, suffixes,
leading zeros, prereleases); strings the scheme rejects are discarded, not compared.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wharfinger.versions import SCHEMES, Scheme

_NUMBERS = st.sampled_from(["0", "1", "2", "9", "10", "01", "00", "99", "100", "4294967296"])


def _joined(parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return parts.map("".join)


_TAILS: dict[str, list[str]] = {
    "deb": ["", "~", "~rc1", "+dfsg", "a", "-1", "-1ubuntu1", "-2+deb12u1", "-1~bpo11+1", "+b1", ".post1"],
    "rpm": ["", "~", "~rc1", "^", "^git1", "a", "_1", "+1", "-1", "-1.el9", "-0.1.rc1", ".beta"],
    "apk": ["", "a", "_alpha", "_beta2", "_pre1", "_rc1", "_p1", "_git20200101", "_cvs", "~abc123", "-r0", "-r10"],
    "pep440": ["", "a1", "b2", "rc1", ".post1", ".dev0", "+local", "+ubuntu.1", "-1", "post2"],
    "semver": ["", "-alpha", "-beta.1", "-rc.10", "-0", "-x.y", "+build", "-1.2", "-alpha1"],
    "maven": ["", "-SNAPSHOT", "-alpha1", "-beta", "-rc1", "-cr2", ".Final", "-sp1", "-ga", "-jre", "a1", ".foo"],
    "go": ["", "-0.20210101120000-abcdef123456", "+incompatible", "-rc.1", "-pre"],
    "gem": ["", ".a", ".rc1", ".pre", "-x", "a1", ".0", ".beta.2"],
    "nuget": ["", ".0", ".4", "-alpha", "-Beta.2", "-rc.1", "+meta", "-preview.1"],
    "composer": ["", "-beta2", "-RC1", "-alpha", "-p1", "-dev", "-patch2", ".0", "-stable"],
}


def versions(scheme: str) -> st.SearchStrategy[str]:
    prefix = {"deb": ["", "1:", "2:"], "rpm": ["", "1:"], "go": ["v"], "composer": ["", "v"]}.get(scheme, [""])
    dots = st.integers(min_value=1, max_value=4)
    if scheme in ("semver", "go"):
        core = st.tuples(*(st.sampled_from(["0", "1", "2", "10", "99"]) for _ in range(3))).map(".".join)
    else:
        core = dots.flatmap(lambda n: st.lists(_NUMBERS, min_size=n, max_size=n)).map(".".join)
    tails = st.lists(st.sampled_from(_TAILS[scheme]), max_size=2).map("".join)
    return _joined(st.tuples(st.sampled_from(prefix), core, tails).map(list))


def _check_laws(scheme: Scheme, a: str, b: str, c: str) -> None:
    for v in (a, b, c):
        assume(scheme.is_valid(v))
    assert scheme.compare(a, a) == 0
    assert scheme.compare(a, b) == -scheme.compare(b, a)
    ab, bc, ac = scheme.compare(a, b), scheme.compare(b, c), scheme.compare(a, c)
    if ab <= 0 and bc <= 0:
        assert ac <= 0
    if ab == 0 and bc == 0:
        assert ac == 0
    if ab < 0 and bc <= 0:
        assert ac < 0


def _law_test(name: str):  # type: ignore[no-untyped-def]
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
    @given(versions(name), versions(name), versions(name))
    def test(a: str, b: str, c: str) -> None:
        _check_laws(SCHEMES[name], a, b, c)

    test.__name__ = f"test_{name}_ordering_laws"
    return test


test_deb_ordering_laws = _law_test("deb")
test_rpm_ordering_laws = _law_test("rpm")
test_apk_ordering_laws = _law_test("apk")
test_pep440_ordering_laws = _law_test("pep440")
test_semver_ordering_laws = _law_test("semver")
test_maven_ordering_laws = _law_test("maven")
test_go_ordering_laws = _law_test("go")
test_gem_ordering_laws = _law_test("gem")
test_nuget_ordering_laws = _law_test("nuget")
test_composer_ordering_laws = _law_test("composer")


def test_every_scheme_has_a_law_test() -> None:
    assert {n for n in SCHEMES if f"test_{n}_ordering_laws" in globals()} == set(SCHEMES)
