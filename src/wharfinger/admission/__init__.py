"""The Kubernetes admission webhook (edge): facts gathered at the edge, judged by ``wharfinger.policy``.

Modules, in the order a request meets them: ``app`` (starlette routes), ``webhook`` (the request
path: parse, plan, gather within the budget, evaluate, answer, audit), ``cache`` (facts cache with
TTLs, single-flight and Redis), ``providers`` and ``verifiers`` (facts through ``oci.client`` and
``signing``), ``audit`` (the hash-chained decision log), ``runtime`` (files and the cluster,
reloaders, uvicorn with TLS reload), ``cluster`` (policies, namespace labels and events through the
Kubernetes API), ``manifests`` (``admission install``), ``attest`` (attach signed attestations).

Nothing is imported here, so ``import wharfinger.admission.audit`` stays light (no ASGI stack).

    >>> from wharfinger.admission.audit import GENESIS
    >>> GENESIS.startswith("sha256:")
    True
"""

__all__: list[str] = []
