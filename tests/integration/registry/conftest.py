from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from testkit.registry import RunningRegistry
from wharfinger.oci.auth import Credentials, Secret
from wharfinger.oci.client import RegistryClient, RegistrySettings


@pytest.fixture
def client_for(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., RegistryClient]]:
    """Build clients for a ``RunningRegistry`` (its CA trusted; plain ones listed insecure)."""
    made: list[RegistryClient] = []

    def make(
        registry: RunningRegistry,
        *,
        user: str | None = None,
        password: str | None = None,
        anonymous: bool = False,
        **settings: object,
    ) -> RegistryClient:
        credentials = None
        if not anonymous and (user or registry.username):
            credentials = Credentials(
                username=user or registry.username,
                password=Secret(password or registry.password or ""),
                source="test",
            )
        options: dict[str, object] = {"ca_bundle": registry.ca_file}
        if not registry.tls:
            options["insecure_hosts"] = frozenset({registry.host})
        options.update(settings)
        client = RegistryClient(
            registry.host,
            settings=RegistrySettings(**options),  # type: ignore[arg-type]
            credentials=credentials,
            sleep=lambda _s: None,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
