"""Uncached decisions: every request brings an image the webhook has not seen, with one cosign signature
verified against the real local docker-registry (resolve digest, fetch ``.sig`` manifest and payload, verify).

    python benchmarks/admission/uncached.py [--images 200]

The registry is Debian's ``docker-registry`` on loopback (as in the tests); images and signatures are
pushed and signed with Wharfinger's own client and the signing package. Requests go one at a time, so
each one measures a full verification; the server-side figure is the webhook's own histogram of
decisions whose facts were gathered (``cache="miss"``), the client-side one adds TLS and the client.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from testkit.pushing import push_tiny_image  # noqa: E402
from testkit.registry import start_registry  # noqa: E402
from wharfinger.admission.manifests import self_signed_pair  # noqa: E402
from wharfinger.oci.client import RegistryClient, RegistrySettings  # noqa: E402
from wharfinger.signing.cosign.registry import append_signature  # noqa: E402
from wharfinger.signing.cosign.simplesigning import build_signature_layer  # noqa: E402
from wharfinger.signing.keys.file import open_file_signer  # noqa: E402

POLICY = """apiVersion: wharfinger.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  rules:
    - name: signed-by-ci
      signatures:
        authorities:
          - {name: ci, cosign: {publicKey: ci.pub}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def buckets(text: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for line in text.splitlines():
        m = re.match(
            r'wharfinger_admission_decision_seconds_bucket\{cache="miss",endpoint="validate",le="([^"]+)"\} (\S+)', line
        )
        if m:
            out[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wharfinger-uncached-"))
    key = ec.generate_private_key(ec.SECP256R1())
    (work / "ci.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (work / "trust" / "cosign").mkdir(parents=True)
    (work / "trust" / "cosign" / "ci.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (work / "policy.yaml").write_text(POLICY)
    ca, cert, tls_key = self_signed_pair("127.0.0.1", now=dt.datetime.now(dt.UTC))
    (work / "ca.pem").write_bytes(ca)
    (work / "tls.crt").write_bytes(cert)
    (work / "tls.key").write_bytes(tls_key)
    with start_registry(work / "registry") as registry:
        client = RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))
        signer = open_file_signer(f"file:{work / 'ci.pem'}", {})
        refs = []
        for i in range(args.images):
            repository = f"bench/app{i % 10}"
            tag = f"v{i}"
            digest = push_tiny_image(client, repository, tag, content=f"layer {i} {uuid.uuid4()}".encode())
            payload, layer = build_signature_layer(f"{registry.host}/{repository}", digest, signer)
            append_signature(client, repository, digest, payload, layer)
            refs.append(f"{registry.host}/{repository}:{tag}")
        client.close()
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wharfinger",
                "admission",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--tls-cert",
                str(work / "tls.crt"),
                "--tls-key",
                str(work / "tls.key"),
                "--policy",
                str(work / "policy.yaml"),
                "--trust-dir",
                str(work / "trust"),
                "--insecure-registry",
                registry.host,
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ctx = ssl.create_default_context(cafile=str(work / "ca.pem"))
        url = f"https://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, verify=ctx, timeout=30) as http:
                for _ in range(100):
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                latencies = []
                allowed = 0
                for i, ref in enumerate(refs):
                    body = json.dumps(
                        {
                            "apiVersion": "admission.k8s.io/v1",
                            "kind": "AdmissionReview",
                            "request": {
                                "uid": f"u{i}",
                                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                                "operation": "CREATE",
                                "namespace": "bench",
                                "name": f"p{i}",
                                "object": {
                                    "kind": "Pod",
                                    "metadata": {"name": f"p{i}"},
                                    "spec": {"containers": [{"name": "c", "image": ref}]},
                                },
                            },
                        }
                    )
                    start = time.perf_counter()
                    reply = http.post("/validate", content=body, headers={"Content-Type": "application/json"})
                    latencies.append(time.perf_counter() - start)
                    allowed += reply.json()["response"]["allowed"]
                hist = buckets(http.get("/metrics").text)
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    n = len(latencies)
    total = hist.get(float("inf"), 0)
    share = {b: hist[b] / total for b in sorted(hist)} if total else {}
    p99_bucket = next((b for b, s in share.items() if s >= 0.99), float("inf"))
    p50_bucket = next((b for b, s in share.items() if s >= 0.5), float("inf"))
    print(f"{n} uncached decisions, {allowed} admitted (each: resolve tag, fetch .sig, verify ECDSA P-256)")
    print(
        f"  server-side: p50 <= {p50_bucket * 1000:g} ms, p99 <= {p99_bucket * 1000:g} ms (histogram buckets), "
        f"{share.get(0.1, 0) * 100:.1f} % <= 100 ms"
    )
    print(
        f"  client-side: p50 {latencies[n // 2] * 1000:.1f} ms, p99 {latencies[int(n * 0.99) - 1] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
