"""Credentials never reach logs or error messages, whatever the flow (STYLE 2.7)."""

from __future__ import annotations

import base64
import logging

import pytest

from testkit.pushing import push_layout_with_client
from wharfinger.errors import WharfingerError

pytestmark = pytest.mark.slow


def _everything_logged(records: list[logging.LogRecord]) -> str:
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.extend(repr(value) for value in vars(record).values())
    return "\n".join(parts)


def test_no_credentials_in_debug_logs_or_errors(
    caplog, registry_basic, registry_token, small_image, client_for
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    errors: list[str] = []
    push_layout_with_client(client_for(registry_basic), small_image, "leak/basic", "v1")
    push_layout_with_client(client_for(registry_token), small_image, "leak/token", "v1")
    for client in (
        client_for(registry_basic, password="wrong-password-123"),
        client_for(registry_token, password="wrong-password-456"),
        client_for(registry_token, user="bob", password=registry_token.token_service.users["bob"]),
    ):
        try:
            client.get_manifest("leak/token", "v1")
        except WharfingerError as exc:
            errors.append(exc.diagnostics())
            errors.append(repr(exc))
    assert len(errors) == 6
    secrets = [
        registry_basic.password,
        registry_token.password,
        registry_token.token_service.users["bob"],
        "wrong-password-123",
        "wrong-password-456",
        *registry_token.token_service.tokens,
        base64.b64encode(f"alice:{registry_basic.password}".encode()).decode(),
    ]
    assert len(registry_token.token_service.tokens) >= 2
    text = _everything_logged(caplog.records) + "\n".join(errors)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        assert secret
        assert secret not in text
