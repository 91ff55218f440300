"""Fixtures of the Notary Project tests; the PKI helpers live in ``notary_testpki``."""

from __future__ import annotations

from notary_testpki import pki, trust_for

__all__ = ["pki", "trust_for"]
