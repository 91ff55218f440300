"""Every version pair and range row in ``shared/vectors/versions`` (decided by dpkg, rpm,
apk-tools, packaging, node-semver and Maven itself) must agree with our schemes, 100%.

One test per file collects every disagreement so a failure lists them all at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from wharfinger.errors import VersionError
from wharfinger.versions import apk, deb, maven, npm, pep440, rpm, semver


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    cmp: int  # sign of compare(a, b), as decided by the reference tool
    source: str


@dataclass(frozen=True)
class RangeRow:
    version: str
    range: str
    contains: bool
    source: str


def _rows(shared: Path, name: str) -> list[dict[str, object]]:
    path = shared / "vectors" / "versions" / name
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def pairs(shared: Path, name: str) -> list[Pair]:
    return [Pair(str(r["a"]), str(r["b"]), int(r["cmp"]), str(r["source"])) for r in _rows(shared, name)]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("file", "compare"),
    [
        ("deb.jsonl", deb.compare),
        ("rpm.jsonl", rpm.compare),
        ("pep440.jsonl", pep440.compare),
        ("semver.jsonl", semver.compare),
        ("maven.jsonl", maven.compare),
        ("apk.jsonl", apk.compare_tokens),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_order_matches_reference_tool(shared_dir: Path, file: str, compare) -> None:
    rows = pairs(shared_dir, file)
    assert len(rows) > 1000, f"{file} looks truncated"
    wrong = [(p.a, p.b, p.cmp, compare(p.a, p.b)) for p in rows if compare(p.a, p.b) != p.cmp]
    assert wrong == [], f"{len(wrong)} of {len(rows)} pairs disagree (a, b, expected, got): {wrong[:20]}"


def test_apk_validated_compare_agrees_or_rejects(shared_dir: Path) -> None:
    """``apk.compare`` validates first: rows with a version apk-tools would not validate must raise,
    every other row must agree (the raw algorithm is checked on all rows above)."""
    rejected = agreed = 0
    for p in pairs(shared_dir, "apk.jsonl"):
        if apk.is_valid(p.a) and apk.is_valid(p.b):
            assert apk.compare(p.a, p.b) == p.cmp, p
            agreed += 1
        else:
            with pytest.raises(VersionError):
                apk.compare(p.a, p.b)
            rejected += 1
    assert agreed > 2000
    assert rejected < agreed


def test_deb_empty_version_is_lowest_like_dpkg(shared_dir: Path) -> None:
    rows = [p for p in pairs(shared_dir, "deb.jsonl") if "" in (p.a, p.b)]
    assert rows, "the dpkg vectors carry rows with an empty version"
    for p in rows:
        assert deb.compare(p.a, p.b) == p.cmp


def test_npm_ranges_match_node_semver(shared_dir: Path) -> None:
    rows = [
        RangeRow(str(r["version"]), str(r["range"]), bool(r["contains"]), str(r["source"]))
        for r in _rows(shared_dir, "semver-range.jsonl")
    ]
    assert len(rows) > 2000
    wrong = [(r.version, r.range, r.contains) for r in rows if npm.satisfies(r.version, r.range) != r.contains]
    assert wrong == [], f"{len(wrong)} of {len(rows)} rows disagree (version, range, expected): {wrong[:20]}"


def test_pep440_ranges_match_packaging(shared_dir: Path) -> None:
    rows = [
        RangeRow(str(r["version"]), str(r["range"]), bool(r["contains"]), str(r["source"]))
        for r in _rows(shared_dir, "pep440-range.jsonl")
    ]
    assert len(rows) > 1500
    wrong = [(r.version, r.range, r.contains) for r in rows if pep440.satisfies(r.version, r.range) != r.contains]
    assert wrong == [], f"{len(wrong)} of {len(rows)} rows disagree: {wrong[:20]}"
