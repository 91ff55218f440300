"""End to end through the CLI: credentials from docker's config.json and from a real credential
helper, TLS trust from WHARFINGER_CA_BUNDLE, against the real TLS registries."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from testkit.images import skopeo_copy

pytestmark = pytest.mark.slow


def test_inspect_with_docker_config_auths_and_ca_bundle(registry_basic, small_image, run_cli, tmp_path) -> None:
    ref = skopeo_copy(small_image, registry_basic, "cli/creds", "v1")
    auth = base64.b64encode(f"{registry_basic.username}:{registry_basic.password}".encode()).decode()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {registry_basic.host: {"auth": auth}}}))
    env = {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "WHARFINGER_CA_BUNDLE": str(registry_basic.ca_file),
        "WHARFINGER_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = run_cli("inspect", ref, "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top"]["digest"] == small_image.digest
    # without credentials: exit 4 and the docker login hint, no traceback
    refused = run_cli("inspect", ref, env={**env, "DOCKER_CONFIG": str(tmp_path / "empty")})
    assert refused.returncode == 4
    assert "docker login" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_pull_with_a_credential_helper_from_the_token_registry(registry_token, small_image, run_cli, tmp_path) -> None:
    ref = skopeo_copy(small_image, registry_token, "shared/helper", "v1")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-wharftest"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        f'printf \'{{"ServerURL":"%s","Username":"bob","Secret":"{registry_token.token_service.users["bob"]}"}}\' '
        '"$server"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"credHelpers": {registry_token.host: "wharftest"}}))
    env = {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "WHARFINGER_CA_BUNDLE": str(registry_token.ca_file),
    }
    done = run_cli("pull", ref, f"oci:{tmp_path / 'out'}:v1", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == small_image.digest
    assert registry_token.token_service.users["bob"] not in done.stderr + done.stdout
