"""Faults while serving: registry down or slow, certificate rotated, trust swapped, Redis down, hostile requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from admission_checks import DATA, assert_review
from admission_reviews import review, workload
from admission_server import WebhookServer, free_port, start_webhook
from wharfinger.admission.audit import read_entries

POST = {"headers": {"Content-Type": "application/json"}}


def _post(server: WebhookServer, body: bytes) -> httpx.Response:
    with server.client() as client:
        return client.post("/validate", content=body, **POST)  # type: ignore[arg-type]


def _metric(server: WebhookServer, name: str, **labels: str) -> float:
    with server.client() as client:
        text = client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class DelayingProxy:
    """A TCP proxy that waits ``delay_s`` before forwarding each new connection: a slow registry."""

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(self.delay_s)
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def main() -> None:
            self._server = await asyncio.start_server(handle, "127.0.0.1", self.port)
            self._started.set()
            await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(main())

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture(scope="module")
def registry_fault_server(
    tmp_path_factory: pytest.TempPathFactory, registry_plain
) -> Iterator[tuple[WebhookServer, str, str]]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("faults-webhook")
    down = f"127.0.0.1:{_closed_port()}"
    proxy = DelayingProxy(int(registry_plain.host.rsplit(":", 1)[1]), delay_s=4.0)
    slow = f"127.0.0.1:{proxy.port}"
    server = start_webhook(
        folder,
        "--policy",
        str(DATA / "faults.policy.yaml"),
        "--audit-log",
        str(folder / "audit.jsonl"),
        "--insecure-registry",
        down,
        "--insecure-registry",
        slow,
        "--insecure-registry",
        registry_plain.host,
        "--timeout-seconds",
        "3",
        "--budget",
        "1.0",
    )
    yield server, down, slow
    server.stop()
    proxy.close()


def test_registry_down_fails_closed_in_enforce(registry_fault_server) -> None:  # type: ignore[no-untyped-def]
    server, down, _ = registry_fault_server
    body = review(workload("Deployment", f"{down}/app:1.0", namespace="prod"))
    reply = _post(server, body)
    response = assert_review(reply.json(), json.loads(body)["request"]["uid"])
    assert response["allowed"] is False
    assert "could not be" in response["status"]["message"] or "failed" in response["status"]["message"]
    assert response["auditAnnotations"]["failure-mode"] == "fail-closed"
    assert _metric(server, "wharfinger_admission_registry_errors_total", registry=down) >= 1
    assert _metric(server, "wharfinger_admission_failure_mode_total", failure="fail-closed") >= 1
    entries = [e for _, e in read_entries(server.folder / "audit.jsonl") if e]
    assert any(e["failure"] == "fail-closed" and e["uid"] == json.loads(body)["request"]["uid"] for e in entries)


def test_registry_down_fails_open_in_audit(registry_fault_server) -> None:  # type: ignore[no-untyped-def]
    server, down, _ = registry_fault_server
    body = review(workload("Deployment", f"{down}/app:1.0", namespace="dev"))
    response = assert_review(_post(server, body).json(), json.loads(body)["request"]["uid"])
    assert response["allowed"] is True
    assert response["auditAnnotations"]["failure-mode"] == "fail-open"
    assert response["auditAnnotations"]["decision"] == "audited"


def test_slow_registry_is_cut_by_the_time_budget(registry_fault_server) -> None:  # type: ignore[no-untyped-def]
    server, _, slow = registry_fault_server
    body = review(workload("Deployment", f"{slow}/app:1.0", namespace="prod"))
    started = time.monotonic()
    reply = _post(server, body)
    elapsed = time.monotonic() - started
    response = assert_review(reply.json(), json.loads(body)["request"]["uid"])
    assert elapsed < 2.5  # budget 1 s, well under the API server's 3 s timeout; the registry takes 4 s
    assert response["allowed"] is False
    assert "time budget" in response["status"]["message"]
    assert response["auditAnnotations"]["failure-mode"] == "fail-closed"
    assert _metric(server, "wharfinger_admission_failure_mode_total", cause="budget") >= 1


def test_healthy_registry_resolves_the_digest(registry_fault_server, registry_plain, small_image) -> None:  # type: ignore[no-untyped-def]
    from testkit.images import skopeo_copy

    server, _, _ = registry_fault_server
    skopeo_copy(small_image, registry_plain, "faults/app", "1.0")
    body = review(workload("Deployment", f"{registry_plain.host}/faults/app:1.0", namespace="prod"))
    response = assert_review(_post(server, body).json(), json.loads(body)["request"]["uid"])
    # resolved, then judged on signatures: no outage, so no failure mode
    assert "failure-mode" not in response["auditAnnotations"]
    assert response["allowed"] is False
    assert "ci (cosign)" in response["status"]["message"]


# --- certificate rotation, trust swap ------------------------------------------------------------


FACTS_SIGNED = """# {nonce}
images:
  ghcr.io/acme/api:
    digest: sha256:{digest}
    signatures: [{{authority: ci, kind: cosign, verified: true, identity: ci}}]
"""
FACTS_UNSIGNED = "# {nonce}\nimages:\n  ghcr.io/acme/api:\n    digest: sha256:{digest}\n"


def _signed_facts(folder: Path, digest: str) -> tuple[str, ...]:
    """Write ``folder/facts.yaml`` (ghcr.io/acme/api at ``digest``, signed by ci, under a fresh nonce) and return
    the webhook options that judge those facts under faults.policy.yaml."""
    facts = folder / "facts.yaml"
    facts.write_text(FACTS_SIGNED.format(nonce=uuid.uuid4(), digest=digest))
    return ("--policy", str(DATA / "faults.policy.yaml"), "--facts", str(facts))


@pytest.fixture
def facts_server(tmp_path: Path) -> Iterator[WebhookServer]:
    """A webhook of its own, for tests that change its files."""
    server = start_webhook(tmp_path / "srv", *_signed_facts(tmp_path, "ab" * 32), "--success-ttl", "3600")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    """One webhook for the read-only tests."""
    folder = tmp_path_factory.mktemp("shared-webhook")
    server = start_webhook(folder / "srv", *_signed_facts(folder, "ab" * 32))
    yield server
    server.stop()


def _peer_serial(server: WebhookServer) -> int:
    context = ssl.create_default_context(cafile=str(server.pki.ca_path))
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


def test_certificate_rotated_while_serving(facts_server: WebhookServer) -> None:
    before = _peer_serial(facts_server)
    with facts_server.client() as kept_alive:
        assert kept_alive.get("/healthz").status_code == 200
        new = facts_server.pki.issue("127.0.0.1", facts_server.folder / "tls.crt", facts_server.folder / "tls.key")
        deadline = time.monotonic() + 10
        while _peer_serial(facts_server) != new.serial_number:
            assert time.monotonic() < deadline, "the new certificate was not picked up"
            time.sleep(0.1)
        assert before != new.serial_number
        # the connection opened before the rotation keeps working
        assert kept_alive.get("/healthz").status_code == 200
    body = review(workload("Pod", "ghcr.io/acme/api:1", namespace="prod"))
    assert _post(facts_server, body).status_code == 200


def test_trust_material_swapped_while_serving_invalidates_cached_facts(
    facts_server: WebhookServer, tmp_path: Path
) -> None:
    body = lambda: review(workload("Pod", "ghcr.io/acme/api:1", namespace="prod"))  # noqa: E731
    assert _post(facts_server, body()).json()["response"]["allowed"] is True
    assert _post(facts_server, body()).json()["response"]["allowed"] is True  # cached now (TTL 1 h)
    assert _metric(facts_server, "wharfinger_admission_cache_lookups_total", outcome="local") >= 1
    (tmp_path / "facts.yaml").write_text(FACTS_UNSIGNED.format(nonce=uuid.uuid4(), digest="ab" * 32))
    deadline = time.monotonic() + 10
    while _post(facts_server, body()).json()["response"]["allowed"]:
        assert time.monotonic() < deadline, "the swapped trust material was not used"
        time.sleep(0.1)
    denied = _post(facts_server, body()).json()["response"]
    assert "no signature found" in denied["status"]["message"]


def test_invalid_new_policy_keeps_the_old_one(facts_server: WebhookServer, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text((DATA / "faults.policy.yaml").read_text())
    server = start_webhook(tmp_path / "srv2", "--policy", str(policy), "--facts", str(tmp_path / "facts.yaml"))
    try:
        policy.write_text(
            "apiVersion: wharfinger.io/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec: {rules: []}\n"
        )
        deadline = time.monotonic() + 10
        while "admission.policy.rejected" not in server.logs():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        response = _post(server, review(workload("Pod", "ghcr.io/acme/api:1", namespace="prod"))).json()["response"]
        assert response["auditAnnotations"]["policies"] == "prod-signed"
    finally:
        server.stop()


# --- Redis -----------------------------------------------------------------------------------------


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_redis_down_falls_back_to_the_local_cache(tmp_path: Path) -> None:
    server = start_webhook(
        tmp_path / "srv", *_signed_facts(tmp_path, "cd" * 32), "--redis-url", f"redis://127.0.0.1:{_closed_port()}/0"
    )
    try:
        for _ in range(3):
            response = _post(server, review(workload("Pod", "ghcr.io/acme/api:1", namespace="prod"))).json()["response"]
            assert response["allowed"] is True
        assert _metric(server, "wharfinger_admission_cache_lookups_total", outcome="local") >= 1
        assert "admission.cache.redis_down" in server.logs()
    finally:
        server.stop()


def test_replicas_share_facts_through_redis(tmp_path: Path) -> None:
    assert _redis_up(), "the suite needs the local Redis at 127.0.0.1:6379"
    args = (*_signed_facts(tmp_path, "ef" * 32), "--redis-url", "redis://127.0.0.1:6379/0")
    first = start_webhook(tmp_path / "a", *args)
    second = start_webhook(tmp_path / "b", *args)
    try:
        body = lambda: review(workload("Pod", "ghcr.io/acme/api:1", namespace="prod"))  # noqa: E731
        assert _post(first, body()).json()["response"]["allowed"] is True
        assert _post(second, body()).json()["response"]["allowed"] is True
        assert _metric(second, "wharfinger_admission_cache_lookups_total", outcome="shared") == 1
        assert _metric(second, "wharfinger_admission_cache_lookups_total", outcome="gathered") == 0
    finally:
        first.stop()
        second.stop()


# --- hostile requests ------------------------------------------------------------------------------


def _envelope(**changes: object) -> bytes:
    doc = json.loads(review(workload("Pod", "nginx:1", namespace="prod"), uid="u-1"))
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "text"),
    [
        (b"{broken", "application/json", 400, "not valid JSON"),
        (b"null", "application/json", 400, "not an AdmissionReview"),
        (_envelope(kind="Pod"), "application/json", 400, "kind is 'Pod'"),
        (_envelope(apiVersion="admission.k8s.io/v9"), "application/json", 400, "not supported"),
        (_envelope(request={"operation": "CREATE"}), "application/json", 400, "no uid"),
        (b"{}", "text/plain", 415, "application/json"),
        (b"{" + b" " * (7 * 1024 * 1024) + b"}", "application/json", 413, "limit"),
    ],
    ids=["invalid-json", "null", "wrong-kind", "wrong-apiversion", "missing-uid", "content-type", "huge"],
)
def test_malformed_requests_get_an_explained_4xx(
    shared_server: WebhookServer, body: bytes, content_type: str, status: int, text: str
) -> None:
    with shared_server.client() as client:
        reply = client.post("/validate", content=body, headers={"Content-Type": content_type})
    assert reply.status_code == status
    assert text in reply.json()["error"]
    assert reply.json()["hint"]


@pytest.mark.parametrize(
    ("request_changes", "text"),
    [
        ({"kind": {"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "Role"}}, "not a workload"),
        ({"object": None}, "no object"),
        ({"object": {"kind": "Pod", "spec": {"containers": [{"name": "x"}]}}}, "has no image"),
        ({"kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": {"kind": "Secret", "data": {}}}, "Secret"),
    ],
)
def test_forged_requests_are_denied_with_an_admission_review(
    shared_server: WebhookServer, request_changes: dict[str, object], text: str
) -> None:
    doc = json.loads(review(workload("Pod", "nginx:1", namespace="prod"), uid="u-2"))
    doc["request"].update(request_changes)
    reply = _post(shared_server, json.dumps(doc).encode())
    response = assert_review(reply.json(), "u-2")
    assert response["allowed"] is False
    assert text in response["status"]["message"]


def test_get_on_validate_is_405_not_500(shared_server: WebhookServer) -> None:
    with shared_server.client() as client:
        assert client.get("/validate").status_code == 405


def test_readyz_and_healthz(shared_server: WebhookServer) -> None:
    with shared_server.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").text == "ready"
        assert _metric(shared_server, "wharfinger_admission_ready") == 1


def test_logs_are_json_and_carry_no_object_bodies(shared_server: WebhookServer) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    obj = workload("Pod", "ghcr.io/acme/api:1", namespace="prod")
    obj["spec"]["containers"][0]["env"] = [{"name": "PASSWORD", "value": secret}]
    _post(shared_server, review(obj))
    lines = [json.loads(line) for line in shared_server.logs().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "admission.decision" for line in lines)
    assert secret not in shared_server.logs()
