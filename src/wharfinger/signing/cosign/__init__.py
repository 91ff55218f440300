"""Sigstore/cosign signatures: key-based simple signing, Sigstore bundles, DSSE attestations.

Pure: verification takes bytes, trust material and a time, and returns results that say, for
each signature, whether it verified and exactly why not.
"""
