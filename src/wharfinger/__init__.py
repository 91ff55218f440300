"""Wharfinger: decide which container images may land on a Kubernetes cluster.

Importing this package is cheap on purpose: it imports nothing. The packages below it are
the architecture (see ``docs/architecture.md``): ``oci`` (references, manifests, registry
client), ``inventory`` and ``sbom`` (what is inside an image), ``versions``, ``vulndb`` and
``matching`` (what is vulnerable), ``scan`` and ``report`` (the CI gate), ``signing`` (is it
ours and unaltered), ``policy`` and ``admission`` (the cluster guardrail), ``cli``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
