"""``scan -o html``: one self-contained page (inline CSS, no script, no external fetch).

Every piece of text that came from outside (advisory summaries, package names, exception
reasons) is escaped with ``html.escape``; links are only emitted for ``http(s)`` URLs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape

from wharfinger import __version__
from wharfinger.matching.finding import Finding
from wharfinger.report.scan_json import ScanSubject
from wharfinger.scan.result import ScanResult
from wharfinger.vulndb.model import Severity

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem}
.meta{color:#57606a;font-size:.9rem}.gate{padding:.6rem 1rem;border-radius:6px;margin:1rem 0;font-weight:600}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #d0d7de;vertical-align:top}th{background:#f6f8fa}
.sev{font-weight:600;border-radius:4px;padding:0 .4rem}.critical{background:#a40e26;color:#fff}
.high{background:#d1242f;color:#fff}.medium{background:#d4a72c}.low{background:#ddf4ff}
.negligible,.unknown{background:#eaeef2}.kev{background:#000;color:#fff;border-radius:4px;padding:0 .3rem;
font-size:.75rem;margin-left:.3rem}.pkg{font-weight:600}code{font-size:.85rem}.explain{color:#57606a;font-size:.8rem}
"""


def _link(url: str, text: str) -> str:
    """A link only for http(s) URLs (never ``javascript:``); the text is escaped either way."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url, quote=True)}" rel="noreferrer">{escape(text)}</a>'
    return escape(text)


def _severity(severity: Severity) -> str:
    name = severity.name.lower()
    return f'<span class="sev {name}">{name}</span>'


def _finding_rows(findings: tuple[Finding, ...]) -> list[str]:
    by_package: defaultdict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_package[(finding.package.name, finding.package.version, finding.package.purl)].append(finding)
    groups = sorted(by_package.values(), key=lambda fs: (-max(f.severity for f in fs), fs[0].package.name))
    rows: list[str] = []
    for group in groups:
        ordered = sorted(group, key=lambda f: (-f.severity, f.advisory_id))
        for i, f in enumerate(ordered):
            package = (
                f'<td rowspan="{len(ordered)}"><span class="pkg">{escape(f.package.name)}</span><br>'
                f"<code>{escape(f.package.version)}</code><br><code>{escape((f.layer_digest or '')[:19])}</code></td>"
                if i == 0
                else ""
            )
            kev = '<span class="kev">KEV</span>' if f.kev else ""
            link = next((u for u in f.advisory.references if u.startswith(("https://", "http://"))), "")
            title = _link(link, f.advisory_id)
            fixed = escape(", ".join(f.fixed_versions)) or escape(f.fix_state.value)
            rows.append(
                f"<tr>{package}<td>{title}{kev}<br><span class='explain'>{escape(f.advisory.summary)}</span></td>"
                f"<td>{_severity(f.severity)}</td><td><code>{fixed}</code></td>"
                f"<td class='explain'>{escape(f.explanation)}</td></tr>"
            )
    return rows


def render_html(result: ScanResult, subject: ScanSubject) -> str:
    counts = Counter(f.severity for f in result.findings)
    summary = " · ".join(f"{counts[s]} {s.name.lower()}" for s in sorted(Severity, reverse=True) if counts[s])
    gate_class = "pass" if result.gate.passed else "fail"
    scanned = result.scanned_at.strftime("%Y-%m-%d %H:%M UTC") if result.scanned_at else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>wharfinger scan: {escape(subject.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Vulnerability report for {escape(subject.name)}</h1>",
        (
            f'<p class="meta">{escape(subject.kind)}'
            + (f" · <code>{escape(subject.digest)}</code>" if subject.digest else "")
            + (f" · {escape(subject.distro)}" if subject.distro else "")
            + f" · scanned {escape(scanned)} by wharfinger {escape(__version__)}</p>"
        ),
        f'<div class="gate {gate_class}">{escape(result.gate.summary)}</div>',
        (
            f"<p>{len(result.findings)} vulnerabilities ({escape(summary or 'none')}), "
            f"{len(result.suppressed)} suppressed, {result.match.packages_total} packages, "
            f"{len(result.kev)} known exploited.</p>"
        ),
    ]
    if result.findings:
        parts += [
            (
                "<h2>Vulnerabilities</h2><table><thead><tr><th>package</th><th>vulnerability</th><th>severity</th>"
                "<th>fixed in</th><th>why</th></tr></thead><tbody>"
            ),
            *_finding_rows(result.findings),
            "</tbody></table>",
        ]
    if result.suppressed:
        parts.append(
            "<h2>Suppressed</h2><table><thead><tr><th>vulnerability</th><th>package</th><th>by</th>"
            "<th>reason</th></tr></thead><tbody>"
        )
        parts += [
            f"<tr><td>{escape(s.finding.advisory_id)}</td><td>{escape(s.finding.package.name)}</td>"
            f"<td>{escape(s.kind.value)}</td><td>{escape(s.reason)}</td></tr>"
            for s in result.suppressed
        ]
        parts.append("</tbody></table>")
    if result.expired_exceptions:
        parts.append("<h2>Expired exceptions (no longer applied)</h2><ul>")
        parts += [f"<li>{escape(e.describe())}</li>" for e in result.expired_exceptions]
        parts.append("</ul>")
    if result.match.skipped:
        parts.append("<h2>Packages that could not be matched</h2><ul>")
        parts += [
            f"<li>{escape(s.package.name)} {escape(s.package.version)}: {escape(s.reason)}</li>"
            for s in result.match.skipped
        ]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
