"""One way for signing commands to reach the registry an image reference names (edge, CLI only).

``wharfinger.oci.client.connect`` with ``Settings.from_env()``: credentials from the environment,
docker's ``config.json`` (and Entra ID for ACR); the shared flags of ``cli.options``: ``--insecure HOST``
(repeatable, explicit hosts only) allows plain HTTP / unverified TLS, ``--ca-bundle FILE`` adds CAs,
``--http2`` offers HTTP/2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wharfinger.cli.options import registry_settings
from wharfinger.oci.client import RegistryClient, connect
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.reference import ImageRef

__all__ = ["client_for", "resolve_descriptor"]


def client_for(
    ref: ImageRef, *, insecure: bool | Sequence[str] = False, ca_bundle: Path | None = None, http2: bool = False
) -> RegistryClient:
    """A client for ``ref``'s registry. ``insecure``: hosts allowed without TLS (``True``: the reference's own)."""
    hosts = [ref.api_host] if insecure is True else list(insecure or ())
    return connect(ref.api_host, settings=registry_settings(hosts, ca_bundle, http2=http2))


def resolve_descriptor(client: RegistryClient, ref: ImageRef) -> Descriptor:
    """The manifest descriptor a reference names: a tag is resolved to its digest, a digest is checked."""
    # GET, not HEAD: the client hashes the bytes itself, so a lying registry cannot make us sign another digest.
    return client.get_manifest(ref.repository, ref.identifier).descriptor()
