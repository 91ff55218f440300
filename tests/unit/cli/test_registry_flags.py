"""Every command that talks to a registry takes the same ``--insecure``, ``--ca-bundle`` and ``--http2``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import typer
import typer.main

from wharfinger.cli.options import registry_settings
from wharfinger.errors import InputError
from wharfinger.oci.client import RegistrySettings
from wharfinger.oci.settings import Settings

# command path -> module (`admission serve` keeps its older names too: --insecure-registry, --registry-ca)
REGISTRY_COMMANDS = {
    ("admission", "serve"): "wharfinger.cli.admission",
    ("inspect",): "wharfinger.cli.inspect",
    ("pull",): "wharfinger.cli.pull",
    ("sbom",): "wharfinger.cli.sbom",
    ("scan",): "wharfinger.cli.scan",
    ("sign",): "wharfinger.cli.sign",
    ("verify",): "wharfinger.cli.verify",
    ("attest",): "wharfinger.cli.attest",
    ("verify-attestation",): "wharfinger.cli.verify_attestation",
    ("db", "push"): "wharfinger.cli.db",
    ("db", "pull"): "wharfinger.cli.db",
}
SHARED = {"--insecure", "--ca-bundle", "--http2"}


@pytest.mark.parametrize("path", sorted(REGISTRY_COMMANDS), ids=" ".join)
def test_registry_commands_share_the_flags(path: tuple[str, ...]) -> None:
    app = typer.Typer()
    importlib.import_module(REGISTRY_COMMANDS[path]).register(app)
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name] if hasattr(command, "commands") else command  # type: ignore[attr-defined]
    options = {opt for param in command.params for opt in param.opts}
    assert options >= SHARED, f"{' '.join(path)} lacks {SHARED - options}"


def test_flags_add_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WHARFINGER_CA_BUNDLE", str(tmp_path / "env.pem"))
    monkeypatch.delenv("WHARFINGER_HTTP2", raising=False)
    plain = registry_settings()
    assert plain.ca_bundle == tmp_path / "env.pem"
    assert not plain.http2
    flagged = registry_settings(["a:5000", "b"], tmp_path / "flag.pem", http2=True)
    assert flagged.insecure_hosts == {"a:5000", "b"}
    assert flagged.ca_bundle == tmp_path / "flag.pem"
    assert RegistrySettings.from_settings(flagged).http2


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("off", False)]
)
def test_http2_from_the_environment(value: str, expected: bool) -> None:
    assert Settings.from_env({"WHARFINGER_HTTP2": value}).http2 is expected


def test_a_bad_http2_value_is_refused() -> None:
    with pytest.raises(InputError, match="WHARFINGER_HTTP2"):
        Settings.from_env({"WHARFINGER_HTTP2": "maybe"})
