"""Renderers (core, pure): a ``ScanResult`` in, ``str`` out; the caller writes it.

>>> from wharfinger.report import REPORT_FORMATS, render_report
>>> text = render_report("sarif", result, subject)  # doctest: +SKIP

Formats: ``table`` (grouped by package, fix versions, introducing layer), ``json``
(``docs/scan-json.md``), ``sarif`` (SARIF 2.1.0), ``cyclonedx-vex`` (CycloneDX 1.6 with VEX
analysis), ``openvex`` (OpenVEX 0.2.0) and ``html`` (self-contained page).
"""

from __future__ import annotations

from typing import Any

from wharfinger.report.scan_json import ScanSubject
from wharfinger.scan.result import ScanResult

__all__ = ["REPORT_FORMATS", "ScanSubject", "render_report"]

REPORT_FORMATS: tuple[str, ...] = ("table", "json", "sarif", "cyclonedx-vex", "openvex", "html")


# Renderers are imported on demand: cyclonedx-python-lib alone takes ~150 ms to import, and a CI
# `scan -o table` should not pay for it.
def render_report(fmt: str, result: ScanResult, subject: ScanSubject, *, database: dict[str, Any] | None = None) -> str:
    """Render ``result`` in ``fmt`` (one of ``REPORT_FORMATS``); raises ``ValueError`` for anything else."""
    if fmt == "table":
        from wharfinger.report.scan_table import render_scan_table  # noqa: PLC0415 -- load only the asked format

        return render_scan_table(result)
    if fmt == "json":
        from wharfinger.report.scan_json import render_scan_json  # noqa: PLC0415 -- load only the asked format

        return render_scan_json(result, subject, database=database)
    if fmt == "sarif":
        from wharfinger.report.sarif import render_sarif  # noqa: PLC0415 -- load only the asked format

        return render_sarif(result, subject)
    if fmt == "cyclonedx-vex":
        from wharfinger.report.cyclonedx_vex import render_cyclonedx_vex  # noqa: PLC0415 -- load only the asked format

        return render_cyclonedx_vex(result, subject)
    if fmt == "openvex":
        from wharfinger.report.openvex import render_openvex  # noqa: PLC0415 -- load only the asked format

        return render_openvex(result, subject)
    if fmt == "html":
        from wharfinger.report.html import render_html  # noqa: PLC0415 -- load only the asked format

        return render_html(result, subject)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(REPORT_FORMATS)}")
