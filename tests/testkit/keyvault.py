"""A local HTTPS server that follows the public Azure REST APIs the Key Vault provider uses.

Entra ID (v2.0): ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
``POST /{tenant}/oauth2/v2.0/token`` (client credentials). Key Vault (api-version 7.x):
``GET /keys/{name}[/{version}]``, ``POST /keys/{name}/{version}/sign``,
``GET /secrets/{name}[/{version}]`` (a certificate's backing secret, or a secret set by
``PUT /secrets/{name}``), ``POST /keys/{name}/create`` (EC and RSA), with the challenge
``401 WWW-Authenticate: Bearer authorization=…, resource=…`` for unauthenticated requests, as
the real service answers. The real Azure SDK and azure-identity talk to it unchanged.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class VaultKey:
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    version: str = field(default_factory=lambda: secrets.token_hex(16))
    chain_pem: str | None = None  # set when the key belongs to a certificate
    enabled: bool = True


@dataclass
class VaultSecret:
    value: str
    content_type: str | None
    tags: dict[str, str]
    version: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class VaultState:
    tenant: str = "72f988bf-0000-0000-0000-000000000000"
    client_id: str = "wharfinger-ci"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    keys: dict[str, VaultKey] = field(default_factory=dict)
    secrets: dict[str, VaultSecret] = field(default_factory=dict)  # set with PUT, unmanaged
    issued_tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


def _jwk(name: str, key: VaultKey, base: str) -> dict[str, Any]:
    kid = f"{base}/keys/{name}/{key.version}"
    public = key.private.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[public.curve.name]
        return {
            "kid": kid,
            "kty": "EC",
            "crv": crv,
            "x": b64url(numbers.x.to_bytes(size)),
            "y": b64url(numbers.y.to_bytes(size)),
            "key_ops": ["sign", "verify"],
        }
    numbers_rsa = public.public_numbers()
    return {
        "kid": kid,
        "kty": "RSA",
        "n": b64url(numbers_rsa.n.to_bytes((numbers_rsa.n.bit_length() + 7) // 8)),
        "e": b64url(numbers_rsa.e.to_bytes(3)),
        "key_ops": ["sign", "verify"],
    }


def _sign(key: VaultKey, alg: str, digest: bytes) -> bytes:
    hash_alg = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if isinstance(key.private, ec.EllipticCurvePrivateKey):
        if not alg.startswith("ES"):
            raise ValueError(alg)
        der = key.private.sign(digest, ec.ECDSA(Prehashed(hash_alg)))
        r, s = decode_dss_signature(der)
        size = (key.private.curve.key_size + 7) // 8
        return r.to_bytes(size) + s.to_bytes(size)  # JWS form, as Key Vault returns it
    if alg.startswith("PS"):
        pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
    elif alg.startswith("RS"):
        pad = padding.PKCS1v15()
    else:
        raise ValueError(alg)
    return key.private.sign(digest, pad, Prehashed(hash_alg))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 -- BaseHTTPRequestHandler's signature; silence request logs
        return

    def _send(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _authorised(self) -> bool:
        state = self.server.state
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in state.issued_tokens:
            return True
        host, port = self.server.server_address[:2]
        challenge = (
            f'Bearer authorization="https://{host}:{port}/{state.tenant}", '
            f'resource="https://0.0.1:{port}"'
        )  # the SDK requires the vault host to end with it
        self._send(401, {"error": {"code": "Unauthorized", "message": "AKV10000"}}, {"WWW-Authenticate": challenge})
        return False

    def do_GET(self) -> None:
        state = self.server.state
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        state.requests.append(("GET", url.path, dict(self.headers)))
        base = f"https://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            tenant = parts[0]
            self._send(
                200,
                {
                    "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/{tenant}/v2.0",
                    "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                },
            )
            return
        if not self._authorised():
            return
        if parts and parts[0] == "secrets" and len(parts) in (2, 3) and parts[1] in state.secrets:
            stored = state.secrets[parts[1]]
            if len(parts) == 3 and parts[2] != stored.version:
                self._error(404, "SecretNotFound", f"{parts[1]} not found")
                return
            self._send(200, _secret_bundle(parts[1], stored, base))
            return
        if parts and parts[0] in ("keys", "secrets") and len(parts) in (2, 3):
            name = parts[1]
            key = state.keys.get(name)
            if key is None or (len(parts) == 3 and parts[2] != key.version):
                self._error(404, "KeyNotFound" if parts[0] == "keys" else "SecretNotFound", f"{name} not found")
                return
            if parts[0] == "keys":
                self._send(200, {"key": _jwk(name, key, base), "attributes": {"enabled": key.enabled}})
                return
            if key.chain_pem is None:
                self._error(404, "SecretNotFound", f"{name} not found")
                return
            self._send(
                200,
                {
                    "value": key.chain_pem,
                    "id": f"{base}/secrets/{name}/{key.version}",
                    "contentType": "application/x-pem-file",
                    "managed": True,
                    "kid": f"{base}/keys/{name}/{key.version}",
                    "attributes": {"enabled": True},
                },
            )
            return
        self._error(404, "NotFound", self.path)

    def do_POST(self) -> None:
        state = self.server.state
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        body = self._body()
        state.requests.append(("POST", url.path, dict(self.headers)))
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("client_id") != state.client_id or form.get("client_secret") != state.client_secret:
                self._send(
                    401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
                )
                return
            token = secrets.token_urlsafe(32)
            state.issued_tokens.add(token)
            self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
            return
        # The SDK's first request carries no token (nor body) and gets the challenge, as from Azure.
        if not self._authorised():
            return
        base = f"https://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if len(parts) == 3 and parts[0] == "keys" and parts[2] == "create":
            request = json.loads(body)
            curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
            private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
            if request.get("kty") in ("EC", "EC-HSM") and request.get("crv") in curves:
                private = ec.generate_private_key(curves[request["crv"]])
            elif request.get("kty") in ("RSA", "RSA-HSM") and request.get("key_size", 2048) in (2048, 3072, 4096):
                private = rsa.generate_private_key(public_exponent=65537, key_size=request.get("key_size", 2048))
            else:
                self._error(400, "BadParameter", "The key type or size is not supported")
                return
            key = VaultKey(private=private)
            state.keys[parts[1]] = key  # as Key Vault: a new version (here the only one) of the key
            self._send(200, {"key": _jwk(parts[1], key, base), "attributes": {"enabled": True}})
            return
        if len(parts) == 4 and parts[0] == "keys" and parts[3] == "sign":
            key = state.keys.get(parts[1])
            if key is None or parts[2] != key.version:
                self._error(404, "KeyNotFound", f"{parts[1]} not found")
                return
            if not key.enabled:
                self._error(403, "Forbidden", "Operation sign is not allowed on a disabled key.")
                return
            request = json.loads(body)
            try:
                signature = _sign(key, request["alg"], unb64url(request["value"]))
            except (ValueError, KeyError):
                self._error(400, "BadParameter", "Invalid algorithm")
                return
            self._send(200, {"kid": f"/keys/{parts[1]}/{key.version}", "value": b64url(signature)})
            return
        self._error(404, "NotFound", self.path)

    def do_PUT(self) -> None:
        state = self.server.state
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        body = self._body()
        state.requests.append(("PUT", url.path, dict(self.headers)))
        if not self._authorised():
            return
        if len(parts) == 2 and parts[0] == "secrets":
            request = json.loads(body)
            if not isinstance(request.get("value"), str):
                self._error(400, "BadParameter", "The secret value is required")
                return
            stored = VaultSecret(
                value=request["value"], content_type=request.get("contentType"), tags=request.get("tags") or {}
            )
            state.secrets[parts[1]] = stored
            base = f"https://{self.server.server_address[0]}:{self.server.server_address[1]}"
            self._send(200, _secret_bundle(parts[1], stored, base))
            return
        self._error(404, "NotFound", self.path)


def _secret_bundle(name: str, stored: VaultSecret, base: str) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "value": stored.value,
        "id": f"{base}/secrets/{name}/{stored.version}",
        "attributes": {"enabled": True},
        "tags": stored.tags,
    }
    if stored.content_type is not None:
        bundle["contentType"] = stored.content_type
    return bundle


class _Server(ThreadingHTTPServer):
    state: VaultState


def start_vault(cert_pem: bytes, key_pem: bytes, tmp_dir: str) -> tuple[_Server, threading.Thread]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = VaultState()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_file = f"{tmp_dir}/vault.crt"
    key_file = f"{tmp_dir}/vault.key"
    with open(cert_file, "wb") as f:  # noqa: PTH123 -- small fixture file
        f.write(cert_pem)
    with open(key_file, "wb") as f:  # noqa: PTH123
        f.write(key_pem)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def pem(private: Any) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
