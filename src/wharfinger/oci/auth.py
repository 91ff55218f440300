"""Registry credentials and the authentication handshake (edge).

How a request gets authorised, step by step:

1. ``CredentialProvider.credentials_for(host)`` finds what the user configured for the registry:
   ``WHARFINGER_REGISTRY_USERNAME`` / ``_PASSWORD`` (optionally limited to
   ``WHARFINGER_REGISTRY_HOST``), then docker's ``config.json`` (``credHelpers`` → ``credsStore`` →
   ``auths``), each credential helper run with the real ``docker-credential-<name> get`` protocol.
   Azure Container Registry's Entra ID exchange lives in ``wharfinger.oci.acr`` and plugs in here as
   one more provider. No credentials at all means anonymous.
2. The registry answers ``401`` with ``WWW-Authenticate``: ``parse_challenges`` reads it.
3. ``HostAuth`` answers the challenge: ``Basic`` sends the username/password; ``Bearer`` asks the
   token service named by ``realm`` for a token covering the request's scopes (distribution's token
   spec: ``GET realm?service&scope`` with Basic credentials or anonymously, or the OAuth2
   ``POST realm`` with ``grant_type=refresh_token`` when an identity / refresh token is known).
4. Tokens are cached per scope set until shortly before they expire (``expires_in``, 60 s when the
   service does not say), and the scheme is remembered so later requests carry credentials up front.

Secrets travel as ``Secret`` (``repr`` is ``Secret('***')``); nothing here logs a secret, a header or
a token, and error messages name hosts and repositories only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from wharfinger.clock import Clock, SystemClock
from wharfinger.errors import RegistryAuthError, RegistryUnavailableError
from wharfinger.secret import Secret  # re-exported: registry credentials are Secrets

__all__ = [
    "ENV_HOST",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "ChainedCredentials",
    "Challenge",
    "CredentialProvider",
    "Credentials",
    "DockerConfigCredentials",
    "EnvironmentCredentials",
    "HostAuth",
    "Secret",
    "StaticCredentials",
    "default_credentials",
    "normalise_registry_host",
    "parse_challenges",
]

log = logging.getLogger(__name__)

ENV_USERNAME = "WHARFINGER_REGISTRY_USERNAME"
ENV_PASSWORD = "WHARFINGER_REGISTRY_PASSWORD"  # noqa: S105 -- the name of a variable, not a password
ENV_HOST = "WHARFINGER_REGISTRY_HOST"

DEFAULT_TOKEN_LIFETIME = timedelta(seconds=60)  # the token spec's default when expires_in is absent
TOKEN_EXPIRY_MARGIN = timedelta(seconds=10)  # renew a little early: requests take time
MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024  # a token reply is a few KiB; refuse anything absurd
CLIENT_ID = "wharfinger"
_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT = 30.0  # seconds a credential helper may take (it may prompt a keychain)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What to present to one registry. ``identity_token`` is an OAuth2 refresh token (docker's
    ``identitytoken``, an ACR refresh token); it is used instead of the password with token services."""

    username: str | None = None
    password: Secret | None = None
    identity_token: Secret | None = None
    # Azure Container Registry: a source of Entra ID access tokens, exchanged at the registry's
    # /oauth2/exchange for an ACR refresh token when the registry first asks (see oci/acr.py).
    entra_token: Callable[[], Secret] | None = field(default=None, compare=False)
    tenant: str | None = None  # the Entra tenant of ``entra_token``, passed on to the exchange
    source: str = "unknown"  # where they came from, for error messages ("docker config.json", "env")

    def basic_header(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password.reveal()}".encode()
        return "Basic " + base64.b64encode(raw).decode()


class CredentialProvider(Protocol):
    def credentials_for(self, host: str) -> Credentials | None:
        """Credentials for ``host`` (``registry.example:5000``), or None for anonymous access."""
        ...


def normalise_registry_host(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``http://reg:5000/x`` → ``reg:5000``."""
    text = key.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.split("/", 1)[0].lower()
    if text in _DOCKER_HUB_KEYS:
        return "docker.io"
    return text


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """Fixed credentials per host (tests, and callers that got them elsewhere)."""

    by_host: Mapping[str, Credentials]

    def credentials_for(self, host: str) -> Credentials | None:
        return self.by_host.get(normalise_registry_host(host))


@dataclass(frozen=True, slots=True)
class EnvironmentCredentials:
    """``WHARFINGER_REGISTRY_USERNAME``/``_PASSWORD``, for every host or only ``WHARFINGER_REGISTRY_HOST``."""

    credentials: Credentials | None
    host: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EnvironmentCredentials:
        username, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
        host = env.get(ENV_HOST) or None
        if not username or password is None:
            return cls(credentials=None, host=None)
        found = Credentials(username=username, password=Secret(password), source=f"${ENV_USERNAME}")
        return cls(credentials=found, host=normalise_registry_host(host) if host else None)

    def credentials_for(self, host: str) -> Credentials | None:
        if self.credentials is None:
            return None
        if self.host is not None and self.host != normalise_registry_host(host):
            return None
        return self.credentials


HelperRunner = Callable[[str, str], "str | None"]  # (helper name, server URL) -> helper stdout or None


def run_credential_helper(name: str, server: str) -> str | None:
    """Run ``docker-credential-<name> get`` with the server on stdin (docker's helper protocol)."""
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(
            [program, "get"], input=server, capture_output=True, text=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise RegistryAuthError(
            f"the docker credential helper {program} configured for {server} is not installed",
            hint=f"install {program}, or remove it from credHelpers/credsStore in your docker config.json",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise RegistryAuthError(
            f"the docker credential helper {program} did not answer within {_HELPER_TIMEOUT:.0f} s",
            hint="unlock the keychain it uses, or run `docker login` again",
        ) from exc
    if done.returncode != 0:
        # "credentials not found in native keychain" is the protocol's way of saying "none".
        if "not found" in (done.stdout + done.stderr).lower():
            return None
        raise RegistryAuthError(
            f"the docker credential helper {program} failed for {server} (exit {done.returncode})",
            hint=f"run `{program} get` by hand to see why, or `docker login {server}` again",
        )
    return done.stdout


@dataclass(frozen=True, slots=True)
class DockerConfigCredentials:
    """Docker's ``config.json``: ``credHelpers`` per host, then ``credsStore``, then ``auths``."""

    path: Path
    document: Mapping[str, Any]
    run_helper: HelperRunner = run_credential_helper

    @classmethod
    def load(cls, path: Path, run_helper: HelperRunner = run_credential_helper) -> DockerConfigCredentials:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path=path, document={}, run_helper=run_helper)
        except OSError as exc:
            raise RegistryAuthError(
                f"cannot read the docker config {path}: {exc.strerror}",
                hint="fix its permissions or point $DOCKER_CONFIG elsewhere",
            ) from exc
        try:
            document = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise RegistryAuthError(
                f"the docker config {path} is not valid JSON (line {exc.lineno})",
                hint="fix the file or run `docker login` to rewrite it",
            ) from exc
        if not isinstance(document, dict):
            raise RegistryAuthError(f"the docker config {path} is not a JSON object", hint="run `docker login`")
        return cls(path=path, document=document, run_helper=run_helper)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], home: Path, run_helper: HelperRunner = run_credential_helper
    ) -> DockerConfigCredentials:
        directory = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"
        return cls.load(directory / "config.json", run_helper)

    def _section(self, name: str) -> Mapping[str, Any]:
        value = self.document.get(name)
        return value if isinstance(value, dict) else {}

    def credentials_for(self, host: str) -> Credentials | None:
        wanted = normalise_registry_host(host)
        helpers = {normalise_registry_host(k): v for k, v in self._section("credHelpers").items()}
        helper = helpers.get(wanted)
        if isinstance(helper, str) and helper:
            return self._from_helper(helper, host)
        store = self.document.get("credsStore")
        if isinstance(store, str) and store:
            found = self._from_helper(store, host)
            if found is not None:
                return found
        for key, entry in self._section("auths").items():
            if normalise_registry_host(key) == wanted and isinstance(entry, dict):
                return self._from_auths_entry(entry, host)
        return None

    def _from_helper(self, helper: str, host: str) -> Credentials | None:
        server = "https://index.docker.io/v1/" if normalise_registry_host(host) == "docker.io" else host
        output = self.run_helper(helper, server)
        if output is None:
            return None
        try:
            reply = json.loads(output)
            username, secret = str(reply["Username"]), str(reply["Secret"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RegistryAuthError(
                f"the docker credential helper docker-credential-{helper} gave an unreadable answer for {host}",
                hint="the helper must print JSON with Username and Secret",
            ) from exc
        source = f"docker-credential-{helper}"
        if username == "<token>":  # the helper protocol's marker for an identity token
            return Credentials(identity_token=Secret(secret), source=source)
        return Credentials(username=username, password=Secret(secret), source=source)

    def _from_auths_entry(self, entry: Mapping[str, Any], host: str) -> Credentials | None:
        source = f"docker config {self.path}"
        identity = entry.get("identitytoken")
        username: str | None = None
        password: str | None = None
        auth = entry.get("auth")
        if isinstance(auth, str) and auth:
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise RegistryAuthError(
                    f"the auth entry for {host} in {self.path} is not base64 of user:password",
                    hint=f"run `docker login {host}` to rewrite it",
                ) from exc
            username, sep, password = decoded.partition(":")
            if not sep:
                raise RegistryAuthError(
                    f"the auth entry for {host} in {self.path} has no ':' between user and password",
                    hint=f"run `docker login {host}` to rewrite it",
                )
        elif isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            username, password = entry["username"], entry["password"]
        if isinstance(identity, str) and identity:
            return Credentials(username=username, identity_token=Secret(identity), source=source)
        if username is None or password is None:
            return None
        return Credentials(username=username, password=Secret(password), source=source)


@dataclass(frozen=True, slots=True)
class ChainedCredentials:
    """The first provider with an answer wins."""

    providers: Sequence[CredentialProvider]

    def credentials_for(self, host: str) -> Credentials | None:
        for provider in self.providers:
            found = provider.credentials_for(host)
            if found is not None:
                return found
        return None


def default_credentials(
    env: Mapping[str, str], home: Path, run_helper: HelperRunner = run_credential_helper, *, entra_id: bool = True
) -> CredentialProvider:
    """Environment, then docker's config.json, then (ACR hosts only) Entra ID via azure-identity.

    Built once by the CLI or the service. Entra ID is tried only for ``*.azurecr.io`` (and the
    sovereign clouds' suffixes) and only when nothing else answered, so other hosts never import Azure.
    """
    providers: list[CredentialProvider] = [
        EnvironmentCredentials.from_env(env),
        DockerConfigCredentials.from_env(env, home, run_helper),
    ]
    if entra_id:
        from wharfinger.oci.acr import EntraIdCredentials  # noqa: PLC0415 -- acr imports this module

        providers.append(EntraIdCredentials(tenant=env.get("AZURE_TENANT_ID") or None))
    return ChainedCredentials(tuple(providers))


# --- challenges ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    scheme: str  # lower-case: "basic", "bearer"
    params: Mapping[str, str]


_RFC7230_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_RFC7230_TCHARS})\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_QUOTED_PAIR = re.compile(r"\\(.)")  # RFC 7230 quoted-pair: backslash escapes the next character
_SCHEME = re.compile(rf"\s*({_RFC7230_TCHARS})(?:\s+|$)")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` (RFC 7235): several challenges, quoted values with commas."""
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        while position < len(header) and header[position] in ", ":
            position += 1
        scheme_match = _SCHEME.match(header, position)
        if scheme_match is None:
            break
        scheme = scheme_match.group(1).lower()
        position = scheme_match.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM.match(header, position)
            if param is None:
                break
            # A bare token followed by "=" is a parameter; a token followed by space is the next scheme.
            name, raw = param.group(1).lower(), param.group(2)
            value = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
            params[name] = value
            position = param.end()
        challenges.append(Challenge(scheme=scheme, params=params))
    return challenges


# --- the per-host handshake ---------------------------------------------------------------------


@dataclass(slots=True)
class _Token:
    value: Secret
    expires: datetime


@dataclass
class HostAuth:
    """Authentication state for one registry host: scheme, credentials, cached tokens.

    Thread-safe: parallel layer downloads share it. ``http`` is the registry client's own
    ``httpx.Client`` (one client per registry), so token requests get the same TLS settings.
    """

    host: str
    credentials: Credentials | None
    http: httpx.Client
    clock: Clock = field(default_factory=SystemClock)
    allow_plain_http: bool = False  # an --insecure host may name an http:// token realm
    scheme: str | None = None  # "basic" / "bearer" once a challenge was seen
    realm: str | None = None
    service: str | None = None
    _tokens: dict[tuple[str, ...], _Token] = field(default_factory=dict)
    _refresh_token: Secret | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fetch_lock: threading.Lock = field(default_factory=threading.Lock)
    _entra_failure: RegistryAuthError | None = None  # why Entra ID sign-in failed (we fell back to anonymous)

    def header_for(self, scopes: Iterable[str]) -> str | None:
        """The ``Authorization`` value to send up front, or None (anonymous / not challenged yet)."""
        if self.scheme == "basic":
            return self.credentials.basic_header() if self.credentials else None
        if self.scheme == "bearer":
            key = _scope_key(scopes)
            cached = self._cached(key)
            if cached is not None:
                return f"Bearer {cached.reveal()}"
            # Parallel layer downloads start together: one of them fetches, the others reuse it.
            with self._fetch_lock:
                cached = self._cached(key)
                if cached is not None:
                    return f"Bearer {cached.reveal()}"
                return f"Bearer {self._fetch_token(key).value.reveal()}"
        return None

    def _cached(self, key: tuple[str, ...]) -> Secret | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.expires > self.clock.now():
                return token.value
        return None

    def answer(self, challenge_header: str | None, scopes: Iterable[str], *, what: str) -> str:
        """Answer a 401: return the ``Authorization`` value to retry with, or raise ``RegistryAuthError``."""
        challenges = parse_challenges(challenge_header or "")
        by_scheme = {c.scheme: c for c in challenges}
        if "bearer" in by_scheme:
            challenge = by_scheme["bearer"]
            realm = challenge.params.get("realm")
            if not realm:
                raise RegistryAuthError(
                    f"{self.host} asked for a bearer token without naming a token service (no realm)",
                    hint="the registry is misconfigured; report it to its operator",
                )
            if urlsplit(realm).scheme != "https" and not (self.allow_plain_http and urlsplit(realm).scheme == "http"):
                # Credentials go to the realm: never in clear text unless the user listed the host insecure.
                raise RegistryAuthError(
                    f"{self.host} sent its token service as {_origin(realm)}, which is not HTTPS",
                    hint=f"list {self.host} with --insecure only if you trust this network; otherwise report it",
                )
            self.scheme, self.realm, self.service = "bearer", realm, challenge.params.get("service")
            wanted = set(scopes)
            if challenge.params.get("scope"):
                wanted |= set(challenge.params["scope"].split(" "))
            key = _scope_key(wanted)
            with self._lock:
                self._tokens.pop(key, None)  # the one we sent (if any) was refused
            return f"Bearer {self._fetch_token(key).value.reveal()}"
        if "basic" in by_scheme:
            self.scheme = "basic"
            header = self.credentials.basic_header() if self.credentials else None
            if header is None:
                raise self._refused(what, 401, "it needs a username and password and none are configured")
            return header
        raise RegistryAuthError(
            f"{self.host} refused {what} (HTTP 401) with no challenge Wharfinger understands "
            f"({', '.join(c.scheme for c in challenges) or 'none'})",
            hint=f"run `docker login {self.host}`; only Basic and Bearer authentication are supported",
        )

    def _refused(self, what: str, status: int, why: str) -> RegistryAuthError:
        source = f" from {self.credentials.source}" if self.credentials else ""
        return RegistryAuthError(
            f"{self.host} refused {what} (HTTP {status}): {why}{source}",
            hint=f"run `docker login {self.host}` (Wharfinger reads the same config.json) or set "
            f"{ENV_USERNAME}/{ENV_PASSWORD}",
        )

    def refused(self, what: str, status: int) -> RegistryAuthError:
        """The error for a request the registry still refuses after authenticating (401/403)."""
        if self._entra_failure is not None:
            return RegistryAuthError(
                f"{self.host} refused {what} (HTTP {status}) to anonymous access, and {self._entra_failure.message}",
                hint=self._entra_failure.hint,
            )
        if status == 403:  # noqa: PLR2004 -- HTTP status
            why = "access denied for these credentials"
        elif self.credentials is None:
            why = "anonymous access is not allowed"
        else:
            why = "the credentials were not accepted"
        return self._refused(what, status, why)

    def _fetch_token(self, key: tuple[str, ...]) -> _Token:
        if self.realm is None:
            raise RegistryAuthError(f"{self.host}: no token service known", hint="retry the request")
        now = self.clock.now()
        entra = self.credentials.entra_token if self.credentials else None
        if self._refresh_token is None and entra is not None:
            try:
                self._refresh_token = self._exchange_entra_token(entra)
            except RegistryAuthError as entra_error:
                # No Entra ID identity here (or no role on the registry): a public repository can
                # still be pulled anonymously. If that fails too, the Entra ID error is the useful one.
                self._entra_failure = entra_error
                try:
                    anonymous = self._password_grant(key)
                except RegistryAuthError:
                    raise entra_error from None
                token = self._read_token(anonymous, now)
                with self._lock:
                    self._tokens[key] = token
                return token
        learned = self._refresh_token
        refresh = learned or (self.credentials.identity_token if self.credentials else None)
        can_use_password = self.credentials is not None and self.credentials.basic_header() is not None
        if refresh is not None:
            try:
                response = self._refresh_grant(refresh, key)
            except RegistryAuthError:
                if learned is None or not (can_use_password or entra is not None):
                    raise
                # A refresh token we obtained earlier expired: start again from the password or Entra ID.
                self._refresh_token = None
                if entra is not None:
                    self._refresh_token = self._exchange_entra_token(entra)
                    response = self._refresh_grant(self._refresh_token, key)
                else:
                    response = self._password_grant(key)
        else:
            response = self._password_grant(key)
        token = self._read_token(response, now)
        with self._lock:
            self._tokens[key] = token
        return token

    def _exchange_entra_token(self, entra: Callable[[], Secret]) -> Secret:
        """ACR: ``POST /oauth2/exchange`` (grant_type=access_token) turns an Entra ID access token
        into an ACR refresh token. The endpoint lives beside the realm (``/oauth2/token``)."""
        assert self.realm is not None  # noqa: S101 -- checked by the caller
        realm = urlsplit(self.realm)
        exchange = f"{realm.scheme}://{realm.netloc}/oauth2/exchange"
        data = {"grant_type": "access_token", "service": self.service or self.host, "access_token": entra().reveal()}
        if self.credentials is not None and self.credentials.tenant:
            data["tenant"] = self.credentials.tenant
        response = self._token_request("POST", data=data, url=exchange)
        try:
            reply = json.loads(response.content)
        except json.JSONDecodeError as exc:
            raise RegistryUnavailableError(
                f"the ACR token exchange of {self.host} did not answer JSON", hint="retry later"
            ) from exc
        refresh = reply.get("refresh_token") if isinstance(reply, dict) else None
        if not isinstance(refresh, str) or not refresh:
            raise RegistryAuthError(
                f"the ACR token exchange of {self.host} gave no refresh token",
                hint="check that the Entra ID identity has a role on the registry (AcrPull / AcrPush)",
            )
        log.debug("entra token exchanged", extra={"event": "oci.auth.acr_exchange", "host": self.host})
        return Secret(refresh)

    def _refresh_grant(self, refresh: Secret, key: tuple[str, ...]) -> httpx.Response:
        """OAuth2 ``POST realm`` with ``grant_type=refresh_token`` (identity tokens, ACR)."""
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh.reveal(),
            "client_id": CLIENT_ID,
            "scope": " ".join(key),
        }
        if self.service:
            data["service"] = self.service
        return self._token_request("POST", data=data)

    def _password_grant(self, key: tuple[str, ...]) -> httpx.Response:
        """``GET realm?service&scope`` with Basic credentials, or anonymously without any."""
        params: list[tuple[str, str | int | float | bool | None]] = [("scope", scope) for scope in key]
        if self.service:
            params.append(("service", self.service))
        headers: dict[str, str] = {}
        basic = self.credentials.basic_header() if self.credentials else None
        if basic is not None:
            headers["Authorization"] = basic
            # Ask for a refresh token too: later scopes then need no password on the wire.
            params += [("offline_token", "true"), ("client_id", CLIENT_ID)]
        return self._token_request("GET", params=params, headers=headers)

    def _token_request(
        self,
        method: str,
        *,
        data: Mapping[str, str] | None = None,
        params: list[tuple[str, str | int | float | bool | None]] | None = None,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        assert self.realm is not None  # noqa: S101 -- checked by the caller
        try:
            request = self.http.build_request(method, url or self.realm, data=data, params=params, headers=headers)
            response = self.http.send(request, stream=True)
            try:
                body = bytearray()
                # Capped: a hostile token service cannot flood memory. (In-memory test transports
                # hand over a body that is already read.)
                chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
                for chunk in chunks:
                    body += chunk
                    if len(body) > MAX_TOKEN_RESPONSE_BYTES:
                        raise RegistryUnavailableError(
                            f"the token service of {self.host} sent an oversized reply (over {len(body)} bytes)",
                            hint="the token service is broken or hostile; report it",
                        )
            finally:
                response.close()
            response = httpx.Response(response.status_code, headers=response.headers, content=bytes(body))
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"the token service of {self.host} at {_origin(self.realm)} cannot be reached: {type(exc).__name__}",
                hint="check the network and the registry's auth configuration; retry later",
            ) from exc
        if response.status_code in {401, 403}:
            raise self._refused("a token", response.status_code, "the token service refused the credentials")
        if response.status_code >= 400:  # noqa: PLR2004 -- HTTP status
            raise RegistryUnavailableError(
                f"the token service of {self.host} at {_origin(self.realm)} answered HTTP {response.status_code}",
                hint="retry later; if it persists, the registry's token service is broken",
            )
        return response

    def _read_token(self, response: httpx.Response, now: datetime) -> _Token:
        if len(response.content) > MAX_TOKEN_RESPONSE_BYTES:
            raise RegistryUnavailableError(
                f"the token service of {self.host} sent an oversized reply ({len(response.content)} bytes)",
                hint="the token service is broken or hostile; report it",
            )
        try:
            reply = json.loads(response.content)
        except json.JSONDecodeError as exc:
            raise RegistryUnavailableError(
                f"the token service of {self.host} did not answer JSON", hint="retry later; report it if it persists"
            ) from exc
        value = reply.get("token") or reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(value, str) or not value:
            raise RegistryUnavailableError(
                f"the token service of {self.host} answered without a token",
                hint="retry later; report it if it persists",
            )
        lifetime = DEFAULT_TOKEN_LIFETIME
        expires_in = reply.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            lifetime = max(timedelta(seconds=float(expires_in)), DEFAULT_TOKEN_LIFETIME)
        refresh = reply.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = Secret(refresh)
        log.debug(
            "registry token obtained",
            extra={"event": "oci.auth.token", "host": self.host, "lifetime_s": lifetime.total_seconds()},
        )
        return _Token(value=Secret(value), expires=now + lifetime - TOKEN_EXPIRY_MARGIN)


def _scope_key(scopes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({s for s in scopes if s}))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
