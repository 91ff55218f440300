"""The decision audit log: append-only JSON Lines, each entry chained to the previous one by hash.

Every entry carries ``seq`` (1, 2, 3…), ``prev`` (the previous entry's ``hash``; the genesis
value for the first) and ``hash`` = sha256 over the canonical JSON of the entry without its
``hash``. ``verify_chain`` recomputes it: an edited entry breaks its own hash, a deleted one
breaks ``seq`` and ``prev`` of the next, a reordering breaks both. Truncating the tail is the
one change a chain cannot see by itself; ``verify_chain(expected_head=…)`` checks the last hash
the webhook reported (it is in every audit annotation and in ``/metrics``' info).

``summarise`` turns the log into the monthly report: per namespace and owner label, the denied
attempts and the workloads admitted only because of audit/warn mode or break-glass.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from wharfinger.errors import InputError
from wharfinger.policy.engine import Decision
from wharfinger.policy.request import AdmissionRequest

__all__ = [
    "GENESIS",
    "AuditLog",
    "ChainProblem",
    "ReportRow",
    "entry_for",
    "read_entries",
    "summarise",
    "verify_chain",
]

GENESIS = "sha256:" + "0" * 64


def _canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def entry_for(
    request: AdmissionRequest, decision: Decision, *, at: datetime, policy_fingerprint: str
) -> dict[str, Any]:
    """The audit record of one decision (no secrets: no tokens, no object bodies)."""
    return {
        "time": at.isoformat(),
        "uid": request.uid,
        "operation": request.operation.value,
        "kind": request.kind,
        "namespace": request.namespace,
        "name": request.name,
        "owner": request.owner_label,
        "user": request.username,
        "images": list(request.images),
        "allowed": decision.allowed,
        "outcome": decision.outcome.value,
        "rule": decision.rule,
        "failure": decision.failure,
        "dryRun": request.is_dry_run,  # the API server's dryRun: not a real attempt, left out of reports
        "breakGlass": decision.break_glass_justification,
        "policies": list(decision.policies),
        "policyFingerprint": policy_fingerprint,
        "violations": [
            {
                "policy": v.policy,
                "rule": v.rule,
                "image": v.image,
                "mode": v.mode.value,
                "reason": v.reason,
                "waivedBy": v.waived_by,
                "failure": v.failure,
            }
            for v in decision.violations
        ],
    }


class AuditLog:
    """Appends chained entries to a JSONL file. One writer per file (the webhook process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.seq, self.head = 0, GENESIS
        if path.exists():
            last = None
            with path.open("rb") as f:
                for line in f:
                    if line.strip():
                        last = line
            if last is not None:
                entry = json.loads(last)
                self.seq, self.head = int(entry["seq"]), str(entry["hash"])
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab", buffering=0)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {**record, "seq": self.seq + 1, "prev": self.head}
            entry["hash"] = _digest(entry)
            self._file.write(_canonical(entry) + b"\n")
            self.seq, self.head = entry["seq"], entry["hash"]
            return entry

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def read_entries(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, entry) for each non-empty line; ``None`` for a line that is not a JSON object."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(
            f"cannot read the audit log {path}: {exc.strerror}", hint="pass the webhook's --audit-log"
        ) from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                yield number, None
                continue
            yield number, value if isinstance(value, dict) else None


def verify_chain(
    entries: Iterable[tuple[int, dict[str, Any] | None]], *, expected_head: str | None = None
) -> tuple[int, list[ChainProblem]]:
    """Check every link; return (entries checked, problems). No problems means intact."""
    problems: list[ChainProblem] = []
    prev, seq, count, last_line = GENESIS, 0, 0, 0
    for line, entry in entries:
        count += 1
        last_line = line
        if entry is None:
            problems.append(ChainProblem(line=line, message="not a JSON object: the line was edited or corrupted"))
            continue
        if entry.get("hash") != _digest(entry):
            problems.append(ChainProblem(line=line, message="hash mismatch: the entry was edited after it was written"))
        if entry.get("seq") != seq + 1:
            problems.append(
                ChainProblem(
                    line=line,
                    message=f"sequence {entry.get('seq')} follows {seq}: entries were deleted, inserted or reordered",
                )
            )
        if entry.get("prev") != prev:
            problems.append(
                ChainProblem(line=line, message="prev does not match the previous entry's hash: the chain is broken")
            )
        prev = str(entry.get("hash"))
        found_seq = entry.get("seq")
        seq = found_seq if isinstance(found_seq, int) else seq + 1
    if expected_head is not None and prev != expected_head:
        problems.append(
            ChainProblem(
                line=last_line, message=f"the last hash is {prev}, expected {expected_head}: the tail is missing"
            )
        )
    return count, problems


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRow:
    month: str  # "2026-11"
    namespace: str
    owner: str
    denied: int
    admitted_by_audit: int
    admitted_by_warn: int
    admitted_by_break_glass: int
    admitted: int
    failed_open: int


def summarise(entries: Iterable[tuple[int, dict[str, Any] | None]]) -> list[ReportRow]:
    counts: dict[tuple[str, str, str], Counter[str]] = {}
    for _, entry in entries:
        if entry is None or entry.get("outcome") == "skipped" or entry.get("dryRun") is True:
            continue
        key = (str(entry.get("time", ""))[:7], str(entry.get("namespace", "")), str(entry.get("owner", "")))
        bucket = counts.setdefault(key, Counter())
        bucket[str(entry.get("outcome"))] += 1
        if entry.get("failure") == "fail-open":
            bucket["fail-open"] += 1
    return [
        ReportRow(
            month=month,
            namespace=namespace,
            owner=owner,
            denied=c["denied"],
            admitted_by_audit=c["audited"],
            admitted_by_warn=c["warned"],
            admitted_by_break_glass=c["break-glass"],
            admitted=c["allowed"],
            failed_open=c["fail-open"],
        )
        for (month, namespace, owner), c in sorted(counts.items())
    ]
