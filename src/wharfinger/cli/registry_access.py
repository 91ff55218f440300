"""One way for signing commands to reach the registry an image reference names (edge, CLI only).

``wharfinger.oci.client.connect`` with ``Settings.from_env()``: credentials from the environment,
docker's ``config.json`` (and Entra ID for ACR); ``--insecure HOST`` (repeatable, explicit hosts
only, as ``inspect`` and ``pull``) allows plain HTTP / unverified TLS; ``--ca-bundle FILE`` adds CAs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from wharfinger.oci.client import RegistryClient, connect
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.reference import ImageRef
from wharfinger.oci.settings import Settings

__all__ = ["client_for", "resolve_descriptor"]


def client_for(
    ref: ImageRef, *, insecure: bool | Sequence[str] = False, ca_bundle: Path | None = None
) -> RegistryClient:
    """A client for ``ref``'s registry. ``insecure``: hosts allowed without TLS (``True``: the reference's own)."""
    hosts = frozenset({ref.api_host}) if insecure is True else frozenset(insecure or ())
    settings = Settings.from_env()
    settings = replace(settings, insecure_hosts=settings.insecure_hosts | hosts)
    if ca_bundle is not None:
        settings = replace(settings, ca_bundle=ca_bundle)
    return connect(ref.api_host, settings=settings)


def resolve_descriptor(client: RegistryClient, ref: ImageRef) -> Descriptor:
    """The manifest descriptor a reference names: a tag is resolved to its digest, a digest is checked."""
    # GET, not HEAD: the client hashes the bytes itself, so a lying registry cannot make us sign another digest.
    return client.get_manifest(ref.repository, ref.identifier).descriptor()
