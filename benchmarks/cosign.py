"""cosign verification in memory: parse a .sig manifest and verify its signature with a key.

Inputs are connaisseur's real vectors (read in place from ../shared). Target (issue #6): < 2 ms
for one signature whose bytes are in memory. Run: python benchmarks/cosign.py
"""

from __future__ import annotations

import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
SHARED = Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared"))
BASE = SHARED / "vectors/cosign/connaisseur/test/testdata/cosign"
DIGEST = "sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81"
KEYLESS = "sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee"
GO = SHARED / "vectors/cosign/sigstore-go/pkg/testing/data"
PY = SHARED / "vectors/cosign/sigstore-python/test/assets"


def main() -> None:
    import yaml
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from wharfinger.signing.cosign.bundle import IdentityPolicy, load_trusted_root, verify_bundle
    from wharfinger.signing.cosign.bundle_key import TrustedPublicKey, verify_bundle_with_key
    from wharfinger.signing.cosign.keyless import KeylessTrust, verify_keyless_layer
    from wharfinger.signing.cosign.keypolicy import CosignKeyPolicy, verify_with_key_policy
    from wharfinger.signing.cosign.simplesigning import CosignKey, parse_signature_manifest, signature_tag

    image = BASE / "securesystemsengineering/testimage"
    blobs = {p.name.removesuffix(".json"): p.read_bytes() for p in (image / "blobs").iterdir()}
    key = CosignKey(name="alice", public_key=load_pem_public_key((BASE / "alice.key").read_bytes()))
    policy = CosignKeyPolicy(keys=(key,))
    manifest = (image / "manifests" / f"{signature_tag(DIGEST)}.json").read_bytes()
    host = yaml.safe_load((BASE / "11_keyless.yaml").read_text())["host"]
    trust = KeylessTrust(
        fulcio_roots=(x509.load_pem_x509_certificate(host["fulcioCert"].encode()),),
        rekor_keys=(load_pem_public_key(host["rekorPubkey"].encode()),),
    )
    keyless_manifest = (image / "manifests" / f"{signature_tag(KEYLESS)}.json").read_bytes()
    identity = IdentityPolicy(subject_regex="philipp", issuer_regex="github")

    def by_key() -> None:
        assert verify_with_key_policy(DIGEST, parse_signature_manifest(manifest, blobs), policy).verified

    def keyless() -> None:
        (layer,) = parse_signature_manifest(keyless_manifest, blobs)
        assert verify_keyless_layer(layer, KEYLESS, trust, identity).verified

    logging.getLogger("sigstore").setLevel(logging.ERROR)  # its "unsafe no-op policy" warning on every call
    public_good = load_trusted_root(GO / "trusted-roots/public-good.json")
    npm_bundle = (GO / "bundles/sigstore.js@2.0.0-provenance.sigstore.json").read_bytes()
    npm_identity = IdentityPolicy(
        subject_regex="^https://github.com/sigstore/sigstore-js/", issuer="https://token.actions.githubusercontent.com"
    )
    staging = load_trusted_root(
        PY / "staging-tuf/targets/ed6a9cf4e7c2e3297a4b5974fce0d17132f03c63512029d7aa3a402b43acab49.trusted_root.json"
    )
    v3_bundle, v3_artifact = (PY / "bundle_v3.txt.sigstore").read_bytes(), (PY / "bundle_v3.txt").read_bytes()
    tsa_root = load_trusted_root(GO / "trusted-roots/public-key-validity.json")
    key_bundle = (GO / "bundles/public-key-validity.sigstore.json").read_bytes()
    bundle_key = TrustedPublicKey(
        name="k", public_key=load_pem_public_key((GO / "public-keys/public-key-validity.pem").read_bytes())
    )
    key_digest = "6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72"

    def intoto_bundle() -> None:
        assert verify_bundle(npm_bundle, artifact=None, trusted_root=public_good, identity=npm_identity).verified

    def library_bundle() -> None:
        assert verify_bundle(
            v3_bundle, artifact=v3_artifact, trusted_root=staging, identity=IdentityPolicy.unsafe_any()
        ).verified

    def key_bundle_with_timestamp() -> None:
        assert verify_bundle_with_key(
            key_bundle, artifact=None, artifact_sha256=key_digest, key=bundle_key, trusted_root=tsa_root
        ).verified

    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    for name, fn in (
        ("cosign key (parse manifest + ECDSA P-256 verify)", by_key),
        ("cosign keyless (parse + Fulcio chain + SET + entry + identity)", keyless),
        ("Sigstore bundle v0.3, hashedrekord (sigstore library)", library_bundle),
        ("Sigstore bundle, intoto v0.0.2 (own path: chain + DSSE + SET + Merkle + checkpoint)", intoto_bundle),
        ("Sigstore bundle by key + RFC 3161 timestamp", key_bundle_with_timestamp),
    ):
        for _ in range(20):
            fn()
        samples = []
        for _ in range(500):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(f"{name}: p50 {statistics.median(samples):.3f} ms, p99 {samples[int(len(samples) * 0.99)]:.3f} ms")


if __name__ == "__main__":
    main()
