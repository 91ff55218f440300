from __future__ import annotations

from collections.abc import Iterator

import pytest

from admission_checks import DATA
from admission_server import WebhookServer, start_webhook


@pytest.fixture(scope="module")
def vectors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    folder = tmp_path_factory.mktemp("vectors-webhook")
    server = start_webhook(
        folder,
        "--policy",
        str(DATA / "connaisseur-mutate-test.policy.yaml"),
        "--facts",
        str(DATA / "connaisseur-mock.facts.yaml"),
        "--audit-log",
        str(folder / "audit.jsonl"),
        "--mutate",
    )
    yield server
    server.stop()
