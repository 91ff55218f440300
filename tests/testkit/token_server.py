"""A Docker token service (https://distribution.github.io/distribution/spec/auth/token/) for tests.

It is what the real ``docker-registry`` in ``auth.token`` mode sends clients to:

* ``GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...][&offline_token=true]`` with
  optional HTTP Basic credentials (no credentials = anonymous);
* ``POST /token`` (the OAuth2 flavour) with ``grant_type=password|refresh_token``.

It answers ``{"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}`` where the
token is a JWT (ES256) whose header carries the signing certificate in ``x5c``; the registry trusts
it through its ``rootcertbundle`` (the test CA). Access is granted per user and repository
pattern, so a client can be refused a scope (403 / insufficient_scope) as by a real service.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from testkit.httpserver import Reply, Request, RunningServer, serve
from testkit.pki import CertificateAuthority, IssuedCert

__all__ = ["ANONYMOUS", "Grant", "TokenService", "running_token_service"]

ANONYMOUS = ""  # the account name of a request without credentials


@dataclass(frozen=True, slots=True)
class Grant:
    account: str  # ANONYMOUS for requests without credentials
    repository: str  # fnmatch pattern
    actions: frozenset[str]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    service: str
    issuer: str
    signer: IssuedCert
    users: Mapping[str, str]
    grants: Sequence[Grant]
    expires_in: int = 300  # seconds
    issued: list[dict[str, object]] = field(default_factory=list)  # claims of every token handed out
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> account
    requests: list[Request] = field(default_factory=list)  # every request, in order
    tokens: list[str] = field(default_factory=list)  # every token handed out (for no-leak tests)

    def _sign(self, claims: Mapping[str, object]) -> str:
        der = self.signer.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        key = self.signer.private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _granted(self, account: str, scopes: Sequence[str]) -> list[dict[str, object]]:
        access: list[dict[str, object]] = []
        for scope in scopes:
            for item in scope.split(" "):
                parts = item.split(":")
                if len(parts) < 3:  # type:name:actions; names may hold a port colon
                    continue
                kind, name, wanted = parts[0], ":".join(parts[1:-1]), set(parts[-1].split(","))
                allowed: set[str] = set()
                for grant in self.grants:
                    if grant.account == account and fnmatch.fnmatchcase(name, grant.repository):
                        allowed |= grant.actions
                if "*" in allowed:
                    allowed = wanted
                actions = sorted(wanted & allowed)
                if actions:
                    access.append({"type": kind, "name": name, "actions": actions})
        return access

    def _token_reply(self, account: str, scopes: Sequence[str], *, refresh: bool) -> Reply:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "sub": account,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": self._granted(account, scopes),
        }
        self.issued.append(claims)
        token = self._sign(claims)
        self.tokens.append(token)
        body: dict[str, object] = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        if refresh and account != ANONYMOUS:
            refresh_token = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh_token] = account
            self.tokens.append(refresh_token)
            body["refresh_token"] = refresh_token
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def _basic_account(self, request: Request) -> str | None:
        """The account, ANONYMOUS without credentials, or None when the credentials are wrong."""
        header = request.headers.get("authorization")
        if header is None:
            return ANONYMOUS
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user if self.users.get(user) == password else None

    def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        unauthorized = Reply(401, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
        if request.path != "/token":
            return Reply(404)
        if request.method == "GET":
            if request.first("service") != self.service:
                return Reply(400, body=b"unknown service")
            account = self._basic_account(request)
            if account is None:
                return unauthorized
            return self._token_reply(
                account, request.query.get("scope", []), refresh=request.first("offline_token") == "true"
            )
        if request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            if form.get("service") != self.service:
                return Reply(400, body=b"unknown service")
            grant_type = form.get("grant_type")
            if grant_type == "password":
                user = form.get("username", "")
                if self.users.get(user) != form.get("password"):
                    return unauthorized
                account = user
            elif grant_type == "refresh_token":
                found = self.refresh_tokens.get(form.get("refresh_token", ""))
                if found is None:
                    return unauthorized
                account = found
            else:
                return Reply(400, body=b"unsupported grant_type")
            scopes = form.get("scope", "").split(" ") if form.get("scope") else []
            return self._token_reply(account, scopes, refresh=form.get("access_type") == "offline")
        return Reply(405)


@contextmanager
def running_token_service(
    ca: CertificateAuthority, server_cert: IssuedCert, signer: IssuedCert, **settings: object
) -> Iterator[tuple[TokenService, RunningServer]]:
    service = TokenService(signer=signer, **settings)  # type: ignore[arg-type]
    with serve(service.handle, cert_file=server_cert.cert_file, key_file=server_cert.key_file) as running:
        yield service, running
