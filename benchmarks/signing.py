"""Notary Project signing and verification figures (issue #6).

1. verify one signature whose bytes are in memory (parse, chain, crypto, policy): target < 2 ms;
2. sign with a file key and push the signature to a local registry: target < 150 ms;
3. verify an image end to end against the local registry (resolve, referrers, fetch, verify): p50 < 30 ms.

Run: ``python benchmarks/signing.py`` from the project root (starts Debian's docker-registry on a
free loopback port; uses tests/testkit for that). Prints one line per figure.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from testkit.registry import start_registry  # noqa: E402
from wharfinger.oci.client import RegistryClient, RegistrySettings  # noqa: E402
from wharfinger.signing.keys.file import open_file_signer  # noqa: E402
from wharfinger.signing.keys.generate import KeyType, generate_identity  # noqa: E402
from wharfinger.signing.notary.model import TargetDescriptor  # noqa: E402
from wharfinger.signing.notary.registry import push_signature, verify_image  # noqa: E402
from wharfinger.signing.notary.revocation import NoRevocationSource  # noqa: E402
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope  # noqa: E402
from wharfinger.signing.notary.trustpolicy import parse_trust_policy  # noqa: E402
from wharfinger.signing.notary.truststore import StoreType, TrustStore  # noqa: E402
from wharfinger.signing.notary.verifier import TrustMaterial, verify_notary_signature  # noqa: E402

NOW = datetime.now(UTC)


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float], target: str) -> None:
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:<52} n={len(samples):<4} p50={p50:7.2f} ms  p95={p95:7.2f} ms  (target {target})")


def pki(key_type: KeyType):
    root = generate_identity(
        subject="CN=Bench Root,O=Acme,ST=WA,C=US", now=NOW - timedelta(days=1), ca=True, key_type=key_type
    )
    ca = generate_identity(subject="CN=Bench CA,O=Acme,ST=WA,C=US", now=NOW - timedelta(days=1), ca=True, issuer=root,
                           key_type=key_type)  # fmt: skip
    leaf = generate_identity(
        subject="CN=bench,O=Acme,ST=WA,C=US", now=NOW - timedelta(days=1), issuer=ca, key_type=key_type
    )
    return root, leaf


def trust(root, scope: str) -> TrustMaterial:
    doc = {"version": "1.0", "trustPolicies": [{"name": "bench", "registryScopes": [scope], "signatureVerification":
           {"level": "strict", "override": {"revocation": "skip"}}, "trustStores": ["ca:bench"],
           "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme, CN=bench"]}]}  # fmt: skip
    store = TrustStore.from_certificates({(StoreType.CA, "bench"): [root.chain[0]]})
    return TrustMaterial(policy=parse_trust_policy(json.dumps(doc).encode()), store=store)


def file_signer(leaf, directory: Path):
    (directory / "key.pem").write_bytes(leaf.private_key_pem(b"bench"))
    (directory / "key.crt").write_bytes(leaf.chain_pem())
    return open_file_signer(f"file:{directory / 'key.pem'}", {"WHARFINGER_KEY_PASSPHRASE": "bench"})


def in_memory() -> None:
    target = TargetDescriptor(
        media_type="application/vnd.oci.image.manifest.v1+json", digest="sha256:" + "a" * 64, size=1
    )
    for key_type in (KeyType.EC_P256, KeyType.RSA_3072):
        root, leaf = pki(key_type)
        with tempfile.TemporaryDirectory() as tmp:
            signer = file_signer(leaf, Path(tmp))
        material = trust(root, "registry.example/app")
        for name, build, mt in (("JWS", build_jws_envelope, "application/jose+json"),
                                ("COSE", build_cose_envelope, "application/cose")):  # fmt: skip
            envelope = build(target, signer, NOW)

            def run(envelope=envelope, mt=mt, material=material) -> None:
                result = verify_notary_signature(envelope, mt, target, material, NOW, repository="registry.example/app",
                                                 revocation=NoRevocationSource())  # fmt: skip
                assert result.verified, result.message

            run()
            report(f"verify in memory, {name}, {key_type}, 3-cert chain", timed(run, 300), "< 2 ms")


def push_image(client: RegistryClient, repository: str, n: int) -> TargetDescriptor:
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": n}).encode()
    layer = f"layer {n}".encode()
    for blob in (config, layer):
        client.push_blob(repository, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob), blob)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}],
    }).encode()  # fmt: skip
    digest = client.push_manifest(repository, manifest, "application/vnd.oci.image.manifest.v1+json", tag=f"v{n}")
    return TargetDescriptor(media_type="application/vnd.oci.image.manifest.v1+json", digest=digest, size=len(manifest))


def against_registry() -> None:
    root, leaf = pki(KeyType.EC_P256)
    with tempfile.TemporaryDirectory() as tmp, start_registry(Path(tmp) / "registry") as registry:
        signer = file_signer(leaf, Path(tmp))
        client = RegistryClient(registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host})))
        from wharfinger.oci.manifest import Descriptor

        images = [push_image(client, "bench/app", n) for n in range(40)]
        chain = signer.key().certificate_chain
        sign_samples = []
        for image in images:
            start = time.perf_counter()
            envelope = build_jws_envelope(image, signer, datetime.now(UTC))
            subject = Descriptor(media_type=image.media_type, digest=image.digest, size=image.size)
            push_signature(client, "bench/app", subject, envelope, media_type="application/jose+json", chain=chain)
            sign_samples.append((time.perf_counter() - start) * 1000)
        report("sign (file key, ECDSA P-256) + push, tag-schema registry", sign_samples, "< 150 ms")
        material = trust(root, f"{registry.host}/bench/app")
        verify_samples = []
        for image in images * 3:
            start = time.perf_counter()
            subject = client.get_manifest("bench/app", image.digest).descriptor()  # resolve
            result = verify_image(client, "bench/app", subject, material, datetime.now(UTC))
            verify_samples.append((time.perf_counter() - start) * 1000)
            assert result.verified, result.message
        report("verify image end to end (resolve, referrers, fetch, verify)", verify_samples, "p50 < 30 ms")
        client.close()


if __name__ == "__main__":
    in_memory()
    against_registry()
