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
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from run import histogram, percentile_bucket, share_below  # noqa: E402 -- benchmarks/admission/run.py, beside this script

from admission_server import start_webhook  # noqa: E402 -- the test suite's webhook launcher
from testkit.pushing import push_tiny_image  # noqa: E402
from testkit.registry import start_registry  # noqa: E402
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
        server = start_webhook(
            work / "webhook",
            "--policy", str(work / "policy.yaml"),
            "--trust-dir", str(work / "trust"),
            "--insecure-registry", registry.host,
            verbose=False,
        )  # fmt: skip
        try:
            with server.client() as http:
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
                hist = histogram(http.get("/metrics").text, cache="miss")
        finally:
            server.stop()
    latencies.sort()
    n = len(latencies)
    p99_bucket, p50_bucket = percentile_bucket({}, hist, 0.99), percentile_bucket({}, hist, 0.5)
    print(f"{n} uncached decisions, {allowed} admitted (each: resolve tag, fetch .sig, verify ECDSA P-256)")
    print(
        f"  server-side: p50 <= {p50_bucket * 1000:g} ms, p99 <= {p99_bucket * 1000:g} ms (histogram buckets), "
        f"{share_below({}, hist, 0.1) * 100:.1f} % <= 100 ms"
    )
    print(
        f"  client-side: p50 {latencies[n // 2] * 1000:.1f} ms, p99 {latencies[int(n * 0.99) - 1] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
