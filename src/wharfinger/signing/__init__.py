"""Notary Project and Sigstore/cosign signatures, trust stores and key providers (core + edge)."""
