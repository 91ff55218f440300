"""One way for commands to reach the registry an image reference names (edge, CLI only).

Credentials come from ``default_credentials`` (environment, docker ``config.json``, Entra ID for
ACR); ``--insecure`` allows plain HTTP / unverified TLS for the reference's own host only.
"""

from __future__ import annotations

import os
from pathlib import Path

from wharfinger.oci.auth import default_credentials
from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.reference import ImageRef

__all__ = ["client_for", "resolve_descriptor"]


def client_for(ref: ImageRef, *, insecure: bool = False) -> RegistryClient:
    settings = RegistrySettings(insecure_hosts=frozenset({ref.api_host}) if insecure else frozenset())
    credentials = default_credentials(os.environ, Path.home())
    return RegistryClient(ref.api_host, settings=settings, credentials=credentials)


def resolve_descriptor(client: RegistryClient, ref: ImageRef) -> Descriptor:
    """The manifest descriptor a reference names: a tag is resolved to its digest, a digest is checked."""
    # GET, not HEAD: the client hashes the bytes itself, so a lying registry cannot make us sign another digest.
    return client.get_manifest(ref.repository, ref.identifier).descriptor()
