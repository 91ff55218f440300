"""`admission serve` takes the registry flags every registry command takes, and hands them to its client."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wharfinger.admission import runtime
from wharfinger.admission.metrics import WebhookMetrics
from wharfinger.admission.runtime import ServeOptions


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--insecure", "reg:5000", "--ca-bundle", "ca.pem", "--http2"], ({"reg:5000"}, Path("ca.pem"), True)),
        (["--insecure-registry", "reg:5000", "--registry-ca", "ca.pem"], ({"reg:5000"}, Path("ca.pem"), False)),
        ([], (set(), None, False)),
    ],
)
def test_serve_maps_the_registry_flags(
    flags: list[str], expected: tuple[set[str], Path | None, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wharfinger.cli import admission

    for name in ("WHARFINGER_HTTP2", "WHARFINGER_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    seen: list[ServeOptions] = []
    monkeypatch.setattr(runtime, "serve", seen.append)
    app = typer.Typer()
    admission.register(app)
    result = CliRunner().invoke(app, ["admission", "serve", "--policy", "p.yaml", *flags])
    assert result.exit_code == 0, result.output
    (options,) = seen
    assert (set(options.plain_http_registries), options.registry_ca, options.registry_http2) == expected


def test_the_registry_client_gets_them(tmp_path: Path) -> None:
    options = ServeOptions(
        policy_paths=(),
        plain_http_registries=frozenset({"reg:5000"}),
        registry_ca=tmp_path / "ca.pem",
        registry_http2=True,
    )
    provider = runtime._provider(options, WebhookMetrics.create())
    settings = provider._settings  # type: ignore[attr-defined]
    assert (settings.insecure_hosts, settings.ca_bundle, settings.http2) == (
        frozenset({"reg:5000"}),
        tmp_path / "ca.pem",
        True,
    )
