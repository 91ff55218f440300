"""Adapters from the signing package's verifiers to ``SignatureVerifier`` (one per signature kind).

TODO(signing-notary, signing-cosign): wire ``wharfinger.signing`` here once those branches are
merged; until then no kind has a verifier, and a signature rule reports exactly that.
"""

from __future__ import annotations

from pathlib import Path

from wharfinger.admission.providers import SignatureVerifier
from wharfinger.policy.facts import SignatureKind

__all__ = ["load_verifiers"]


def load_verifiers(trust_dir: Path | None) -> dict[SignatureKind, SignatureVerifier]:
    _ = trust_dir
    return {}
