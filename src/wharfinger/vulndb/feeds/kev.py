"""CISA Known Exploited Vulnerabilities catalogue, as published (JSON or CSV)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_list, as_mapping, optional_str, required_str

__all__ = ["KevEntry", "is_kev_csv_header", "parse_kev_csv", "parse_kev_json"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KevEntry:
    cve: str
    date_added: date | None = None
    due_date: date | None = None
    ransomware: bool = False  # knownRansomwareCampaignUse == "Known"


def _date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise AdvisoryFormatError(f"{what}: {text!r} is not a date") from exc


def _entry(cve: str, added: str | None, due: str | None, ransomware: str | None) -> KevEntry:
    if not cve.startswith("CVE-"):
        raise AdvisoryFormatError(f"KEV entry {cve!r} is not a CVE id")
    return KevEntry(
        cve=cve,
        date_added=_date(added, f"KEV {cve} dateAdded"),
        due_date=_date(due, f"KEV {cve} dueDate"),
        ransomware=(ransomware or "").strip().lower() == "known",
    )


def parse_kev_json(data: bytes) -> tuple[list[KevEntry], list[str]]:
    try:
        document = as_mapping(json.loads(data), "KEV catalogue")
    except json.JSONDecodeError as exc:
        raise AdvisoryFormatError(f"KEV catalogue is not JSON: {exc}") from exc
    entries: list[KevEntry] = []
    problems: list[str] = []
    for raw in as_list(document.get("vulnerabilities"), "KEV vulnerabilities"):
        try:
            item = as_mapping(raw, "KEV entry")
            entries.append(
                _entry(
                    required_str(item, "cveID", "KEV entry"),
                    optional_str(item, "dateAdded"),
                    optional_str(item, "dueDate"),
                    optional_str(item, "knownRansomwareCampaignUse"),
                )
            )
        except AdvisoryFormatError as exc:
            problems.append(exc.message)
    return entries, problems


def is_kev_csv_header(first_line: str) -> bool:
    return first_line.lstrip("\ufeff").startswith("cveID,")


def parse_kev_csv(data: bytes) -> tuple[list[KevEntry], list[str]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig", errors="replace")))
    if reader.fieldnames is None or "cveID" not in reader.fieldnames:
        raise AdvisoryFormatError("KEV CSV has no cveID column")
    entries: list[KevEntry] = []
    problems: list[str] = []
    for row in reader:
        try:
            entries.append(
                _entry(
                    (row.get("cveID") or "").strip(),
                    row.get("dateAdded"),
                    row.get("dueDate"),
                    row.get("knownRansomwareCampaignUse"),
                )
            )
        except AdvisoryFormatError as exc:
            problems.append(exc.message)
    return entries, problems
