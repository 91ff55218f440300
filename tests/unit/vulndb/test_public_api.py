from __future__ import annotations

import wharfinger.report
import wharfinger.vulndb


def test_vulndb_exports_exactly_its_public_names() -> None:
    assert sorted(wharfinger.vulndb.__all__) == sorted(dir(wharfinger.vulndb))
    for name in wharfinger.vulndb.__all__:
        assert getattr(wharfinger.vulndb, name).__name__ == name


def test_report_exports() -> None:
    assert wharfinger.report.__all__ == ["REPORT_FORMATS", "ScanSubject", "render_report"]
    assert wharfinger.report.REPORT_FORMATS == ("table", "json", "sarif", "cyclonedx-vex", "openvex", "html")
