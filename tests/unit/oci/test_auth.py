"""Credentials and challenges: docker config.json, credential helpers, environment, Secret."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wharfinger.errors import RegistryAuthError
from wharfinger.oci.auth import (
    Challenge,
    Credentials,
    DockerConfigCredentials,
    EnvironmentCredentials,
    Secret,
    default_credentials,
    normalise_registry_host,
    parse_challenges,
)


def test_secret_never_shows() -> None:
    secret = Secret("hunter2")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "Secret('***')"
    assert "hunter2" not in repr(Credentials(username="u", password=secret))
    assert f"{secret}" == "Secret('***')"
    assert secret.reveal() == "hunter2"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Basic realm="Registry"', [Challenge(scheme="basic", params={"realm": "Registry"})]),
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
            [
                Challenge(
                    scheme="bearer",
                    params={
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:a/b:pull,push",
                    },
                )
            ],
        ),
        (
            'Bearer realm="r", error="insufficient_scope", Basic realm="b"',
            [
                Challenge(scheme="bearer", params={"realm": "r", "error": "insufficient_scope"}),
                Challenge(scheme="basic", params={"realm": "b"}),
            ],
        ),
        ('Bearer realm="with \\"quote\\""', [Challenge(scheme="bearer", params={"realm": 'with "quote"'})]),
        ("Bearer realm=unquoted", [Challenge(scheme="bearer", params={"realm": "unquoted"})]),
        ("", []),
    ],
    ids=["basic", "bearer-with-scope-commas", "two-challenges", "escaped-quote", "token68-ish", "empty"],
)
def test_parse_challenges(header: str, expected: list[Challenge]) -> None:
    assert parse_challenges(header) == expected


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry.example:5000", "registry.example:5000"),
        ("https://Registry.Example/v2/", "registry.example"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_normalise_registry_host(key: str, host: str) -> None:
    assert normalise_registry_host(key) == host


def _write_config(directory: Path, document: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return directory


def test_docker_config_auths_entry(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:pa:ss").decode()  # passwords may contain ':'
    _write_config(tmp_path / "d", {"auths": {"https://reg.example:5000/v1/": {"auth": auth}}})
    provider = default_credentials({"DOCKER_CONFIG": str(tmp_path / "d")}, tmp_path)
    found = provider.credentials_for("reg.example:5000")
    assert found is not None
    assert found.username == "alice"
    assert found.password == Secret("pa:ss")
    assert provider.credentials_for("other.example") is None


def test_docker_config_identity_token(tmp_path: Path) -> None:
    _write_config(tmp_path / ".docker", {"auths": {"reg.example": {"identitytoken": "refresh-xyz"}}})
    found = default_credentials({}, tmp_path).credentials_for("reg.example")
    assert found is not None
    assert found.identity_token == Secret("refresh-xyz")


@pytest.mark.parametrize(
    "document",
    [{"auths": {"reg.example": {"auth": "!!!not base64"}}}, {"auths": {"reg.example": {"auth": "bm9jb2xvbg=="}}}],
    ids=["not-base64", "no-colon"],
)
def test_docker_config_bad_auth_entry(tmp_path: Path, document: object) -> None:
    _write_config(tmp_path, document)
    with pytest.raises(RegistryAuthError) as caught:
        DockerConfigCredentials.load(tmp_path / "config.json").credentials_for("reg.example")
    assert "docker login" in (caught.value.hint or "")
    assert "bm9jb2xvbg" not in caught.value.diagnostics()


def test_docker_config_not_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(RegistryAuthError) as caught:
        DockerConfigCredentials.load(tmp_path / "config.json")
    assert "not valid JSON" in caught.value.message


def _install_helper(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


HELPER = """#!/bin/sh
# A real docker credential helper: `get` reads the server URL on stdin, prints JSON.
[ "$1" = get ] || exit 2
read server
echo "$server" >> "$(dirname "$0")/asked"
case "$server" in
  reg.example:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$server" ;;
  tokens.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"helper-identity"}' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def test_cred_helpers_and_creds_store_run_the_real_protocol(tmp_path: Path, monkeypatch) -> None:
    _install_helper(tmp_path / "bin", "wharftest", HELPER)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _write_config(
        tmp_path / "d",
        {
            "credHelpers": {"reg.example:5000": "wharftest"},
            "credsStore": "wharftest",
            "auths": {"plain.example": {"auth": base64.b64encode(b"u:p").decode()}},
        },
    )
    provider = default_credentials({"DOCKER_CONFIG": str(tmp_path / "d")}, tmp_path)
    found = provider.credentials_for("reg.example:5000")
    assert found is not None
    assert (found.username, found.password) == ("helper-user", Secret("helper-secret"))
    assert found.source == "docker-credential-wharftest"
    token = provider.credentials_for("tokens.example")
    assert token is not None
    assert token.identity_token == Secret("helper-identity")
    assert token.username is None
    # credsStore has nothing for plain.example: the auths entry answers
    plain = provider.credentials_for("plain.example")
    assert plain is not None
    assert plain.username == "u"
    assert (tmp_path / "bin" / "asked").read_text().split() == ["reg.example:5000", "tokens.example", "plain.example"]


def test_missing_helper_is_a_clear_error(tmp_path: Path) -> None:
    _write_config(tmp_path, {"credHelpers": {"reg.example": "does-not-exist-wharfinger"}})
    with pytest.raises(RegistryAuthError) as caught:
        DockerConfigCredentials.load(tmp_path / "config.json").credentials_for("reg.example")
    assert "docker-credential-does-not-exist-wharfinger" in caught.value.message


def test_failing_helper_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    _install_helper(tmp_path / "bin", "broken", "#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _write_config(tmp_path, {"credsStore": "broken"})
    with pytest.raises(RegistryAuthError) as caught:
        DockerConfigCredentials.load(tmp_path / "config.json").credentials_for("reg.example")
    assert "exit 3" in caught.value.message


def test_environment_credentials_and_host_restriction(tmp_path: Path) -> None:
    env = {"WHARFINGER_REGISTRY_USERNAME": "ci", "WHARFINGER_REGISTRY_PASSWORD": "pw"}
    assert EnvironmentCredentials.from_env(env).credentials_for("any.example") is not None
    limited = EnvironmentCredentials.from_env({**env, "WHARFINGER_REGISTRY_HOST": "reg.example"})
    assert limited.credentials_for("reg.example") is not None
    assert limited.credentials_for("other.example") is None
    # the environment wins over config.json
    _write_config(tmp_path / ".docker", {"auths": {"reg.example": {"auth": base64.b64encode(b"cfg:x").decode()}}})
    found = default_credentials(env, tmp_path).credentials_for("reg.example")
    assert found is not None
    assert found.username == "ci"


def test_entra_id_is_offered_only_for_acr_hosts(tmp_path: Path) -> None:
    provider = default_credentials({}, tmp_path)
    assert provider.credentials_for("reg.example") is None
    acr = provider.credentials_for("contoso.azurecr.io")
    assert acr is not None
    assert acr.entra_token is not None
    assert acr.password is None
    assert default_credentials({}, tmp_path, entra_id=False).credentials_for("contoso.azurecr.io") is None


_param_names = st.sampled_from(["realm", "service", "scope", "error", "x-extra"])
_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(
    challenges=st.lists(
        st.tuples(st.sampled_from(["Bearer", "Basic"]), st.dictionaries(_param_names, _values, min_size=1)),
        min_size=1,
        max_size=3,
    )
)
def test_parse_challenges_reads_back_any_quoted_header(challenges) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    header = ", ".join(
        f"{scheme} " + ",".join(f"{name}={quote(value)}" for name, value in params.items())
        for scheme, params in challenges
    )
    parsed = parse_challenges(header)
    assert [(c.scheme, dict(c.params)) for c in parsed] == [(s.lower(), p) for s, p in challenges]
