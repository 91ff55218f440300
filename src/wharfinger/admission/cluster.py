"""Policies and namespace labels from the Kubernetes API (the CRD objects and the Namespaces).

The webhook polls (``--cluster-poll`` seconds) rather than watching: a list of namespaces and
of two custom resources is cheap, and a poll loop has no reconnect states to get wrong. A
failed poll keeps the last good state and logs why; an invalid policy object is rejected with
its ``items[i]`` path, and the previous policy set stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wharfinger.errors import BackendError, InputError
from wharfinger.policy.document import PolicySet, load_policies
from wharfinger.policy.schema import API_GROUP

__all__ = ["ClusterSource", "break_glass_event", "open_cluster"]


@dataclass(slots=True)
class ClusterSource:
    api_client: Any  # kubernetes.client.ApiClient (untyped library)

    def _call(self, what: str, call: Any) -> Any:
        try:
            return self.api_client.sanitize_for_serialization(call())
        except Exception as exc:  # the kubernetes client raises ApiException, urllib3 and socket errors alike
            raise BackendError(
                f"cannot list {what} from the Kubernetes API: {type(exc).__name__}: {exc}",
                hint="check the webhook's RBAC (list namespaces, clusterimagepolicies, imagepolicies) and the API",
            ) from exc

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        from kubernetes import client  # noqa: PLC0415 -- optional extra `wharfinger[kubernetes]`

        listed = self._call("namespaces", client.CoreV1Api(self.api_client).list_namespace)
        return {
            str(item["metadata"]["name"]): {str(k): str(v) for k, v in (item["metadata"].get("labels") or {}).items()}
            for item in listed.get("items", [])
        }

    def policy_documents(self) -> list[dict[str, Any]]:
        from kubernetes import client  # noqa: PLC0415

        api = client.CustomObjectsApi(self.api_client)
        documents: list[dict[str, Any]] = []
        for plural, kind in (("clusterimagepolicies", "ClusterImagePolicy"), ("imagepolicies", "ImagePolicy")):
            listed = self._call(plural, lambda p=plural: api.list_cluster_custom_object(API_GROUP, "v1alpha1", p))
            for item in listed.get("items", []):
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", f"{API_GROUP}/v1alpha1")
                item.pop("status", None)
                documents.append(item)
        return documents

    def emit_event(self, event: dict[str, Any]) -> None:
        from kubernetes import client  # noqa: PLC0415

        namespace = str(event["metadata"]["namespace"])
        api = client.CoreV1Api(self.api_client)
        # the client serialises a plain dict body as is; building a CoreV1Event model would add nothing
        self._call("an event (create)", lambda: api.create_namespaced_event(namespace, event))  # type: ignore[arg-type]

    def policies(self) -> PolicySet | None:
        """The cluster's policy objects as one set (``None`` when there are none)."""
        documents = self.policy_documents()
        if not documents:
            return None
        text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": documents}, sort_keys=False)
        return load_policies(text, source="cluster")


def break_glass_event(
    *, namespace: str, kind: str, name: str, uid: str, user: str, justification: str, rule: str, now: str
) -> dict[str, Any]:
    """A core/v1 Warning Event on the workload: ``kubectl describe`` and event-based alerting see it."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "wharfinger-break-glass-", "namespace": namespace},
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
        "reason": "BreakGlass",
        "type": "Warning",
        "message": f"admitted by break-glass despite {rule} (user {user}, request {uid}): {justification}"[:1024],
        "source": {"component": "wharfinger-admission"},
        "reportingComponent": "wharfinger.io/admission",
        "reportingInstance": "wharfinger-admission",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def open_cluster(kubeconfig: Path | None, *, context: str | None = None) -> ClusterSource:
    """From a kubeconfig file, or the pod's service account when ``kubeconfig`` is None."""
    try:
        from kubernetes import config  # noqa: PLC0415
    except ImportError as exc:
        raise InputError(
            "reading the cluster needs the kubernetes extra", hint="pip install 'wharfinger[kubernetes]'"
        ) from exc
    try:
        if kubeconfig is None:
            config.load_incluster_config()  # type: ignore[no-untyped-call]  # the client ships no types
            from kubernetes import client  # noqa: PLC0415

            return ClusterSource(api_client=client.ApiClient())
        if not kubeconfig.is_file():
            raise InputError(f"kubeconfig {kubeconfig} does not exist", hint="pass the path of a kubeconfig file")
        return ClusterSource(
            api_client=config.new_client_from_config(config_file=str(kubeconfig), context=context)  # type: ignore[no-untyped-call]
        )
    except config.ConfigException as exc:
        raise InputError(
            f"cannot use the Kubernetes configuration: {exc}", hint="check the kubeconfig or run in a pod"
        ) from exc
