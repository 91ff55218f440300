"""A stand-in for the Kubernetes API server (none can be installed here): list endpoints only, following the
public API's paths and list shapes, so the real ``kubernetes`` client can talk to it. Tests change ``lists``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PATHS = {
    "/api/v1/namespaces": ("v1", "NamespaceList"),
    "/api/v1/pods": ("v1", "PodList"),
    "/apis/apps/v1/deployments": ("apps/v1", "DeploymentList"),
    "/apis/apps/v1/statefulsets": ("apps/v1", "StatefulSetList"),
    "/apis/apps/v1/daemonsets": ("apps/v1", "DaemonSetList"),
    "/apis/batch/v1/jobs": ("batch/v1", "JobList"),
    "/apis/batch/v1/cronjobs": ("batch/v1", "CronJobList"),
    "/apis/wharfinger.io/v1alpha1/clusterimagepolicies": ("wharfinger.io/v1alpha1", "ClusterImagePolicyList"),
    "/apis/wharfinger.io/v1alpha1/imagepolicies": ("wharfinger.io/v1alpha1", "ImagePolicyList"),
}


@dataclass
class FakeApi:
    port: int
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
                    "users": [{"name": "tester", "user": {"token": "not-a-secret"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
                    "current-context": "fake",
                }
            )
        )
        return path


@contextmanager
def fake_api() -> Iterator[FakeApi]:
    state = FakeApi(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append(path)
            if path not in PATHS:
                self.send_response(404)
                self.end_headers()
                return
            api_version, kind = PATHS[path]
            body = json.dumps(
                {
                    "apiVersion": api_version,
                    "kind": kind,
                    "metadata": {"resourceVersion": "1"},
                    "items": state.lists.get(path, []),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append(f"POST {path}")
            document = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if not (path.startswith("/api/v1/namespaces/") and path.endswith("/events")):
                self.send_response(404)
                self.end_headers()
                return
            state.created.append(document)
            body = json.dumps({**document, "metadata": {**document.get("metadata", {}), "name": "ev-1"}}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
