"""Local stand-ins for the two Azure services a test cannot reach, following their public APIs.

* ``FakeEntraId``: the Microsoft identity platform endpoints MSAL/azure-identity use for a
  confidential client - ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
  ``POST /{tenant}/oauth2/v2.0/token`` (``grant_type=client_credentials`` with a client secret or a
  ``client_assertion``, as workload identity sends). A real ``azure.identity`` credential is pointed at
  it with ``authority=`` and ``disable_instance_discovery=True``.
* ``AcrTokenService``: ACR's ``POST /oauth2/exchange`` (``grant_type=access_token`` → refresh token)
  and ``POST /oauth2/token`` (``grant_type=refresh_token`` + ``scope`` → access token), per
  https://azure.github.io/acr/AAD-OAuth.html and the ACR REST reference (Refresh Tokens - Get From
  Exchange, Access Tokens - Get). Its access tokens are real registry JWTs (``TokenService``), so a
  real ``docker-registry`` in token mode accepts them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from testkit.httpserver import Reply, Request
from testkit.token_server import TokenService

__all__ = ["AcrTokenService", "FakeEntraId"]


def _json(status: int, body: object) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


@dataclass
class FakeEntraId:
    tenant: str
    client_id: str
    client_secret: str
    base_url: str = ""  # set once the server listens
    issued: dict[str, str] = field(default_factory=dict)  # access token -> client id
    requests: list[Request] = field(default_factory=list)

    def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        prefix = f"/{self.tenant}"
        if request.path == f"{prefix}/v2.0/.well-known/openid-configuration":
            base = f"{self.base_url}{prefix}"
            return _json(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{base}/v2.0",
                },
            )
        if request.path == f"{prefix}/oauth2/v2.0/token" and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            ok_secret = form.get("client_secret") == self.client_secret
            ok_assertion = form.get("client_assertion_type", "").endswith("jwt-bearer") and bool(
                form.get("client_assertion")
            )
            if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id:
                return _json(400, {"error": "unauthorized_client"})
            if not (ok_secret or ok_assertion):
                return _json(401, {"error": "invalid_client", "error_description": "bad credentials"})
            token = "entra-" + secrets.token_urlsafe(24)
            self.issued[token] = form["client_id"]
            return _json(
                200, {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}
            )
        return Reply(404)


@dataclass
class AcrTokenService:
    tokens: TokenService  # signs the registry JWTs
    entra: FakeEntraId
    account: str = "entra-identity"  # the registry account an exchanged identity acts as
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()} if request.method == "POST" else {}
        if request.path == "/oauth2/exchange" and request.method == "POST":
            if form.get("grant_type") != "access_token" or form.get("service") != self.tokens.service:
                return _json(400, {"errors": [{"code": "BAD_REQUEST"}]})
            if form.get("access_token") not in self.entra.issued:
                return _json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid AAD token"}]})
            refresh = "acr-refresh-" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = self.account
            self.tokens.tokens.append(refresh)
            return _json(200, {"refresh_token": refresh})
        if request.path == "/oauth2/token" and request.method == "POST":
            if form.get("grant_type") != "refresh_token" or form.get("service") != self.tokens.service:
                return _json(400, {"errors": [{"code": "BAD_REQUEST"}]})
            account = self.refresh_tokens.get(form.get("refresh_token", ""))
            if account is None:
                return _json(401, {"errors": [{"code": "UNAUTHORIZED"}]})
            return self.tokens._token_reply(account, form.get("scope", "").split(" "), refresh=False)
        return Reply(404)
