"""Load: 200 Deployment admissions from 20 concurrent clients → 200 correct decisions, none lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from admission_checks import DATA, assert_review
from admission_reviews import review, workload
from admission_server import WebhookServer, start_webhook
from wharfinger.admission.audit import read_entries, verify_chain

FACTS = """images:
  ghcr.io/acme/signed:
    digest: sha256:%s
    signatures: [{authority: ci, kind: cosign, verified: true, identity: ci}]
""" % ("12" * 32)


@pytest.fixture(scope="module")
def load_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    folder = tmp_path_factory.mktemp("load-webhook")
    (folder / "facts.yaml").write_text(FACTS)
    server = start_webhook(
        folder / "srv",
        "--policy",
        str(DATA / "faults.policy.yaml"),
        "--facts",
        str(folder / "facts.yaml"),
        "--audit-log",
        str(folder / "audit.jsonl"),
    )
    yield server
    server.stop()


def test_200_deployments_from_20_clients(load_server: WebhookServer) -> None:
    cases = []
    for i in range(200):
        signed = i % 3 != 0
        image = f"ghcr.io/acme/{'signed' if signed else 'unsigned'}:{i}"
        body = review(workload("Deployment", image, name=f"d{i}", namespace="prod"), uid=f"load-{i}")
        cases.append((f"load-{i}", body, signed))
    results: dict[str, dict] = {}  # type: ignore[type-arg]

    async def client_loop(worker: int) -> None:
        async with load_server.async_client() as client:
            for uid, body, _ in cases[worker::20]:
                reply = await client.post("/validate", content=body, headers={"Content-Type": "application/json"})
                assert reply.status_code == 200, reply.text
                results[uid] = reply.json()

    async def main() -> None:
        await asyncio.gather(*(client_loop(w) for w in range(20)))

    asyncio.run(main())
    assert len(results) == 200
    for uid, _, signed in cases:
        response = assert_review(results[uid], uid)
        assert response["allowed"] is signed, (uid, response)
    entries = list(read_entries(load_server.folder.parent / "audit.jsonl"))
    count, problems = verify_chain(entries)
    assert count >= 200
    assert problems == []
    uids = {e["uid"] for _, e in entries if e}
    assert {uid for uid, _, _ in cases} <= uids


def test_audit_log_tampering_is_detected(load_server: WebhookServer, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    source = load_server.folder.parent / "audit.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 3
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(lines))
    assert run_cli("audit", "verify", str(good)).returncode == 0
    edited = json.loads(lines[1])
    edited["allowed"] = not edited["allowed"]
    variants = {
        "edit": [lines[0], (json.dumps(edited) + "\n").encode(), *lines[2:]],
        "delete": [lines[0], *lines[2:]],
        "reorder": [lines[1], lines[0], *lines[2:]],
    }
    for name, content in variants.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(content))
        result = run_cli("audit", "verify", str(path))
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert "line" in result.stdout + result.stderr
