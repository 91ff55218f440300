"""The hash chain: any edit, deletion, insertion or reordering is found, with its line; restarts continue it."""

from __future__ import annotations

import json
from pathlib import Path

from wharfinger.admission.audit import AuditLog, read_entries, verify_chain


def _log(path: Path, n: int) -> list[bytes]:
    log = AuditLog(path)
    for i in range(n):
        log.append({"uid": f"u{i}", "allowed": i % 2 == 0, "outcome": "allowed", "time": "2026-11-24T00:00:00"})
    log.close()
    return path.read_bytes().splitlines(keepends=True)


def _problems(path: Path, lines: list[bytes], **kw: str) -> list[str]:
    path.write_bytes(b"".join(lines))
    return [str(p) for p in verify_chain(read_entries(path), **kw)[1]]


def test_intact_and_restart_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _log(path, 3)
    log = AuditLog(path)  # a restart: picks up seq and head
    entry = log.append({"uid": "after-restart"})
    log.close()
    assert entry["seq"] == 4
    count, problems = verify_chain(read_entries(path), expected_head=entry["hash"])
    assert (count, problems) == (4, [])


def test_tampering_is_detected(tmp_path: Path) -> None:
    lines = _log(tmp_path / "src.jsonl", 4)
    target = tmp_path / "t.jsonl"
    edited = json.loads(lines[2])
    edited["allowed"] = not edited["allowed"]
    assert any(
        "line 3: hash mismatch" in p
        for p in _problems(target, [*lines[:2], json.dumps(edited).encode() + b"\n", lines[3]])
    )
    assert any("line 3:" in p and "deleted" in p for p in _problems(target, [lines[0], lines[1], lines[3]]))
    assert _problems(target, [lines[1], lines[0], *lines[2:]])
    assert any("not a JSON object" in p for p in _problems(target, [lines[0], b"garbage\n", *lines[2:]]))
    head = json.loads(lines[3])["hash"]
    assert any("tail is missing" in p for p in _problems(target, lines[:3], expected_head=head))
