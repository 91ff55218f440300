"""Demo data shipped in the package: ``image/`` is a tiny OCI layout made by ``scripts/make-demo-image``."""
