"""FIRST EPSS scores, as published daily (``epss_scores-YYYY-MM-DD.csv``).

The file starts with a comment line ``#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000``
and a header ``cve,epss,percentile``; each row is one CVE with two probabilities in 0..1.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from wharfinger.errors import AdvisoryFormatError

__all__ = ["EpssScore", "is_epss_csv", "parse_epss_csv"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EpssScore:
    cve: str
    epss: float  # probability of exploitation activity in the next 30 days, 0..1
    percentile: float  # 0..1


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig", errors="replace").splitlines()


def is_epss_csv(data: bytes) -> bool:
    head = [line for line in _lines(data[:4096]) if not line.startswith("#")][:1]
    return bool(head) and head[0].replace(" ", "").lower().startswith("cve,epss")


def parse_epss_csv(data: bytes) -> tuple[list[EpssScore], list[str]]:
    rows = [line for line in _lines(data) if line and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(rows)))
    if reader.fieldnames is None or not {"cve", "epss"} <= {f.strip().lower() for f in reader.fieldnames}:
        raise AdvisoryFormatError("EPSS CSV has no cve,epss header", hint="expected FIRST's cve,epss,percentile")
    scores: list[EpssScore] = []
    problems: list[str] = []
    for number, row in enumerate(reader, start=2):
        cve = (row.get("cve") or "").strip()
        try:
            epss = float(row.get("epss") or "")
            percentile = float(row.get("percentile") or "0")
        except ValueError:
            problems.append(f"EPSS row {number}: {cve or '?'} has a score that is not a number")
            continue
        if not cve.startswith("CVE-") or not (0.0 <= epss <= 1.0) or not (0.0 <= percentile <= 1.0):
            problems.append(f"EPSS row {number}: {cve or '?'} is not a CVE with scores in 0..1")
            continue
        scores.append(EpssScore(cve=cve, epss=epss, percentile=percentile))
    return scores, problems
