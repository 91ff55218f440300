"""``scan -o table``: findings grouped by package, worst first, with fix versions and the layer.

Plain text (no terminal library) so a CI log shows the same thing a terminal does. KEV-listed
vulnerabilities carry ``[KEV]``; suppressed findings, expired exceptions and skipped packages
are listed under the table so nothing disappears silently. The last line is the gate summary.
"""

from __future__ import annotations

from collections import defaultdict

from wharfinger.matching.finding import Finding
from wharfinger.scan.result import ScanResult

__all__ = ["render_scan_table"]

_SHOWN = 20  # rows of each secondary list before "and N more"


def _layer(digest: str | None) -> str:
    return digest.split(":", 1)[-1][:12] if digest else ""


def _rows(findings: tuple[Finding, ...]) -> list[tuple[str, ...]]:
    by_package: defaultdict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_package[(finding.package.name, finding.package.version, finding.package.purl)].append(finding)
    groups = sorted(by_package.values(), key=lambda fs: (-max(f.severity for f in fs), fs[0].package.name))
    rows: list[tuple[str, ...]] = []
    for group in groups:
        first = True
        for f in sorted(group, key=lambda f: (-f.severity, f.advisory_id)):
            rows.append(
                (
                    f.package.name if first else "",
                    f.package.version if first else "",
                    f.advisory_id + (" [KEV]" if f.kev else ""),
                    f.severity.name.lower(),
                    ", ".join(f.fixed_versions) or f.fix_state.value,
                    _layer(f.layer_digest) if first else "",
                )
            )
            first = False
    return rows


def _more(items: list[str]) -> list[str]:
    return items[:_SHOWN] + ([f"  … and {len(items) - _SHOWN} more"] if len(items) > _SHOWN else [])


def render_scan_table(result: ScanResult) -> str:
    lines: list[str] = []
    rows = _rows(result.findings)
    if rows:
        header = ("PACKAGE", "INSTALLED", "VULNERABILITY", "SEVERITY", "FIXED IN", "LAYER")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines.extend("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in [header, *rows])
    else:
        lines.append("No vulnerabilities found")
    if result.kev:
        lines += ["", "Known exploited (CISA KEV):"]
        lines += _more([f"  {f.advisory_id} in {f.package.name} {f.package.version}" for f in result.kev])
    if result.suppressed:
        lines += ["", f"Suppressed ({len(result.suppressed)}):"]
        lines += _more(
            [f"  {s.finding.advisory_id} in {s.finding.package.name}: {s.reason}" for s in result.suppressed]
        )
    if result.expired_exceptions:
        lines += ["", "Expired exceptions (no longer applied):"]
        lines += _more([f"  {e.describe()}" for e in result.expired_exceptions])
    if result.match.skipped:
        lines += ["", f"Not matched ({len(result.match.skipped)} packages):"]
        lines += _more([f"  {s.package.name} {s.package.version}: {s.reason}" for s in result.match.skipped])
    if result.match.problems:
        lines += ["", f"Advisories that could not be evaluated ({len(result.match.problems)}):"]
        lines += _more([f"  {p.advisory_id} for {p.package.name}: {p.reason}" for p in result.match.problems])
    lines += ["", result.gate.summary]
    return "\n".join(lines) + "\n"
