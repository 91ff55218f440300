"""The shared registry flags end to end: ``--ca-bundle`` and ``--http2`` against the real TLS registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.images import BuiltImage, skopeo_copy
from testkit.registry import RunningRegistry

pytestmark = pytest.mark.slow


def _env(registry: RunningRegistry, tmp_path: Path) -> dict[str, str]:
    """Credentials through docker's config.json; no CA from the environment (the flag under test brings it)."""
    return {
        "DOCKER_CONFIG": str(registry.docker_config(tmp_path / "docker")),
        "WHARFINGER_CACHE_DIR": str(tmp_path / "cache"),
        "WHARFINGER_CA_BUNDLE": "",
        "WHARFINGER_HTTP2": "",
    }


def _protocols(stderr: str) -> list[str]:
    """The protocols the client recorded (its ``oci.client.protocol`` log events), in order."""
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e["http_version"] for e in events if e.get("event") == "oci.client.protocol"]


def test_inspect_ca_bundle_flag(registry_basic, small_image: BuiltImage, run_cli, tmp_path: Path) -> None:
    ref = skopeo_copy(small_image, registry_basic, "flags/inspect", "v1")
    env = _env(registry_basic, tmp_path)
    done = run_cli("inspect", ref, "--ca-bundle", str(registry_basic.ca_file), "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top"]["digest"] == small_image.digest


def test_inspect_without_the_ca_is_a_clear_backend_error(registry_basic, small_image, run_cli, tmp_path) -> None:
    ref = skopeo_copy(small_image, registry_basic, "flags/untrusted", "v1")
    done = run_cli("inspect", ref, env=_env(registry_basic, tmp_path))
    assert done.returncode == 4, done.stderr  # README: a backend failed
    assert f"the TLS certificate of {registry_basic.host} is not trusted" in done.stderr
    assert "--ca-bundle" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_missing_ca_bundle_file_is_named(registry_basic, run_cli, tmp_path: Path) -> None:
    ref = registry_basic.ref("flags/whatever", "v1")
    done = run_cli("inspect", ref, "--ca-bundle", str(tmp_path / "nope.pem"), env=_env(registry_basic, tmp_path))
    assert done.returncode == 4, done.stderr
    assert "nope.pem" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_pull_over_http2(registry_basic, small_image: BuiltImage, run_cli, tmp_path: Path, how: str) -> None:
    ref = skopeo_copy(small_image, registry_basic, "flags/h2", "v1")
    env = _env(registry_basic, tmp_path)
    args = ["-vv", "--log-format", "json", "pull", ref, f"oci:{tmp_path / 'out'}:v1"]
    args += ["--ca-bundle", str(registry_basic.ca_file)]
    if how == "flag":
        args.append("--http2")
    else:
        env["WHARFINGER_HTTP2"] = "1"
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == small_image.digest
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == small_image.digest
    assert _protocols(done.stderr) == ["HTTP/2"]  # docker-registry speaks h2 over TLS when offered


def test_pull_stays_on_http1_by_default(registry_basic, small_image: BuiltImage, run_cli, tmp_path: Path) -> None:
    ref = skopeo_copy(small_image, registry_basic, "flags/h1", "v1")
    args = ["-vv", "--log-format", "json", "pull", ref, f"oci:{tmp_path / 'out'}:v1"]
    done = run_cli(*args, "--ca-bundle", str(registry_basic.ca_file), env=_env(registry_basic, tmp_path))
    assert done.returncode == 0, done.stderr
    assert _protocols(done.stderr) == ["HTTP/1.1"]


def test_a_bad_http2_setting_is_bad_input(run_cli, tmp_path: Path) -> None:
    done = run_cli("inspect", "127.0.0.1:1/x:1", env={"WHARFINGER_HTTP2": "maybe"})
    assert done.returncode == 3, done.stderr
    assert "WHARFINGER_HTTP2" in done.stderr
    assert "Traceback" not in done.stderr
