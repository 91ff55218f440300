"""PKCS#11 key provider (HSMs, SoftHSM2, cloud HSM clients) behind ``Signer``.

Key URIs follow RFC 7512::

    pkcs11:token=wharfinger;object=release-key?module-path=/usr/lib/softhsm/libsofthsm2.so

Path attributes ``token``, ``object`` (label), ``id`` (percent-encoded bytes), ``slot-id``;
query attributes ``module-path``, ``pin-source`` (``file:`` path) or ``pin-value``. The PIN is
better given in ``$WHARFINGER_PKCS11_PIN`` and the module in ``$WHARFINGER_PKCS11_MODULE``.
The private key never leaves the token: only digests go in and signatures come out.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import default_algorithm, hash_for
from wharfinger.signing.keys.secret import Secret
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = [
    "Pkcs11KeyUri",
    "Pkcs11Signer",
    "generate_pkcs11_key_pair",
    "parse_pkcs11_uri",
    "store_pkcs11_certificate",
]

_DEFAULT_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pkcs11KeyUri:
    token: str | None = None
    object_label: str | None = None
    object_id: bytes | None = None
    slot_id: int | None = None
    module_path: str | None = None
    pin: Secret | None = field(default=None, repr=False)

    def redacted(self) -> str:
        parts = [f"{k}={v}" for k, v in (("token", self.token), ("object", self.object_label)) if v]
        if self.object_id is not None:
            parts.append("id=" + "".join(f"%{b:02x}" for b in self.object_id))
        return "pkcs11:" + ";".join(parts)


def parse_pkcs11_uri(uri: str, *, env: Mapping[str, str] | None = None) -> Pkcs11KeyUri:
    """Parse an RFC 7512 URI; the PIN and module may come from the environment."""
    env = os.environ if env is None else env
    if not uri.startswith("pkcs11:"):
        raise InputError(
            f"not a PKCS#11 URI: {uri.split('?', maxsplit=1)[0]!r}", hint="write pkcs11:token=NAME;object=LABEL"
        )
    body = uri[len("pkcs11:") :]
    path, _, query = body.partition("?")
    attrs: dict[str, bytes] = {}
    for part in filter(None, path.split(";")):
        key, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"malformed PKCS#11 URI attribute {key!r}", hint="attributes are name=value")
        attrs[key] = unquote_to_bytes(value)
    queries: dict[str, bytes] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        queries[key] = unquote_to_bytes(value)
    pin: Secret | None = None
    if "pin-value" in queries:
        pin = Secret(queries["pin-value"].decode())
    elif "pin-source" in queries:
        source = queries["pin-source"].decode().removeprefix("file:")
        try:
            pin = Secret(Path(source).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise InputError(f"cannot read the PKCS#11 PIN file {source}: {exc.strerror}") from exc
    elif env.get("WHARFINGER_PKCS11_PIN"):
        pin = Secret(env["WHARFINGER_PKCS11_PIN"])
    slot = attrs.get("slot-id")
    return Pkcs11KeyUri(
        token=attrs["token"].decode() if "token" in attrs else None,
        object_label=attrs["object"].decode() if "object" in attrs else None,
        object_id=attrs.get("id"),
        slot_id=int(slot) if slot is not None else None,
        module_path=(queries.get("module-path", b"").decode() or env.get("WHARFINGER_PKCS11_MODULE")),
        pin=pin,
    )


def _module_path(key_uri: Pkcs11KeyUri) -> str:
    if key_uri.module_path:
        return key_uri.module_path
    for candidate in _DEFAULT_MODULES:
        if Path(candidate).exists():
            return candidate
    raise InputError(
        "no PKCS#11 module given",
        hint="add ?module-path=/path/to/lib.so to the key URI or set WHARFINGER_PKCS11_MODULE",
    )


# (module, token label) -> the PIN this process logged in with; guarded by the GIL, written once per token.
_LOGGED_IN: dict[tuple[str, str], Secret | None] = {}


def _open_session(key_uri: Pkcs11KeyUri, *, read_write: bool = False) -> Any:
    """A logged-in session on the token the URI names (raises python-pkcs11's errors)."""
    import pkcs11  # noqa: PLC0415 -- optional extra wharfinger[pkcs11], imported only when used

    lib = pkcs11.lib(_module_path(key_uri))
    token = lib.get_token(token_label=key_uri.token) if key_uri.token else next(iter(lib.get_slots()))
    if not isinstance(token, pkcs11.Token):
        token = token.get_token()
    login_key = (_module_path(key_uri), token.label)
    try:
        session = token.open(rw=read_write, user_pin=key_uri.pin.reveal() if key_uri.pin else None)
        _LOGGED_IN[login_key] = key_uri.pin
    except pkcs11.UserAlreadyLoggedIn:
        # PKCS#11 logins are per application: another session in this process already logged in.
        # Reuse that login only for the same PIN, so a wrong PIN is refused as it would be alone.
        if _LOGGED_IN.get(login_key) != key_uri.pin:
            raise pkcs11.PinIncorrect from None
        session = token.open(rw=read_write)
    return session


_CURVES = {"ec-p256": "secp256r1", "ec-p384": "secp384r1", "ec-p521": "secp521r1"}


def generate_pkcs11_key_pair(key_uri: Pkcs11KeyUri, key_type: str) -> Pkcs11KeyUri:
    """Generate a key pair inside the token under the URI's label and id (a random id when none is given).

    ``key_type`` is a ``KeyType`` value (``ec-p256`` ... ``rsa-4096``). Refuses a label or id already in
    use, because two keys under one name make every later ``--key`` ambiguous. Returns the URI with the id.
    """
    import pkcs11  # noqa: PLC0415
    from pkcs11.util.ec import encode_named_curve_parameters  # noqa: PLC0415

    if not key_uri.object_label:
        raise InputError(
            f"the key URI {key_uri.redacted()} names no object label for the new key",
            hint="add ;object=LABEL to the pkcs11: URI",
        )
    object_id = key_uri.object_id if key_uri.object_id is not None else os.urandom(8)
    try:
        session = _open_session(key_uri, read_write=True)
        try:
            for attribute, value in ((pkcs11.Attribute.LABEL, key_uri.object_label), (pkcs11.Attribute.ID, object_id)):
                if list(session.get_objects({attribute: value})):
                    raise InputError(
                        f"the token already holds an object with this {attribute.name.lower()}: {key_uri.redacted()}",
                        hint="choose another object=LABEL (and id), or delete the old key with pkcs11-tool",
                    )
            names = {"store": True, "label": key_uri.object_label, "id": object_id}
            if key_type in _CURVES:
                parameters = session.create_domain_parameters(
                    pkcs11.KeyType.EC,
                    {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVES[key_type])},
                    local=True,
                )
                parameters.generate_keypair(**names)
            elif key_type.startswith("rsa-"):
                session.generate_keypair(pkcs11.KeyType.RSA, int(key_type.removeprefix("rsa-")), **names)
            else:
                raise InputError(f"key type {key_type!r} cannot be generated in a PKCS#11 token")
        finally:
            session.close()
    except pkcs11.PKCS11Error as exc:
        raise KeyProviderError(
            f"the PKCS#11 token refused to generate {key_uri.redacted()}: {type(exc).__name__}",
            hint="check the token label and the PIN (WHARFINGER_PKCS11_PIN); the token may not support this key type",
        ) from exc
    except RuntimeError as exc:
        raise KeyProviderError(f"cannot load the PKCS#11 module: {exc}") from exc
    return replace(key_uri, object_id=object_id)


def store_pkcs11_certificate(key_uri: Pkcs11KeyUri, chain_der: tuple[bytes, ...]) -> None:
    """Store the leaf beside the key (same label and id) and its issuers (label ``LABEL issuer N``), where
    ``Pkcs11Signer`` finds the chain."""
    import pkcs11  # noqa: PLC0415
    from pkcs11.util.x509 import decode_x509_certificate  # noqa: PLC0415

    templates = []
    for position, der in enumerate(chain_der):
        template = decode_x509_certificate(der)
        template[pkcs11.Attribute.TOKEN] = True
        if position == 0:
            if key_uri.object_label:
                template[pkcs11.Attribute.LABEL] = key_uri.object_label
            if key_uri.object_id is not None:
                template[pkcs11.Attribute.ID] = key_uri.object_id
        else:
            template[pkcs11.Attribute.LABEL] = f"{key_uri.object_label} issuer {position}"
        templates.append(template)
    try:
        session = _open_session(key_uri, read_write=True)
        try:
            for template in templates:
                session.create_object(template)
        finally:
            session.close()
    except pkcs11.PKCS11Error as exc:
        raise KeyProviderError(
            f"the PKCS#11 token refused the certificate for {key_uri.redacted()}: {type(exc).__name__}"
        ) from exc


class Pkcs11Signer:
    """A ``Signer`` whose private key lives in a PKCS#11 token.

    One session is opened at construction and reused; signing is serialised with a lock because
    PKCS#11 sessions are not safe to share across threads.
    """

    def __init__(self, key_uri: Pkcs11KeyUri, *, algorithm: SignatureAlgorithm | None = None) -> None:
        import pkcs11  # noqa: PLC0415 -- optional extra wharfinger[pkcs11], imported only when used

        self._uri = key_uri
        self._lock = threading.Lock()
        try:
            self._session = _open_session(key_uri)
            search: dict[Any, Any] = {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY}
            if key_uri.object_label:
                search[pkcs11.Attribute.LABEL] = key_uri.object_label
            if key_uri.object_id is not None:
                search[pkcs11.Attribute.ID] = key_uri.object_id
            self._private = self._single(search, "private key")
            public_search = dict(search)
            public_search[pkcs11.Attribute.CLASS] = pkcs11.ObjectClass.PUBLIC_KEY
            self._public_key = self._public_from_token(public_search)
            chain = self._certificates(search)
        except pkcs11.PKCS11Error as exc:
            raise KeyProviderError(
                f"PKCS#11 token refused access to {key_uri.redacted()}: {type(exc).__name__}",
                hint="check the token label, the object label or id, and the PIN (WHARFINGER_PKCS11_PIN)",
            ) from exc
        except RuntimeError as exc:  # python-pkcs11 raises this when the module cannot be loaded
            raise KeyProviderError(f"cannot load the PKCS#11 module: {exc}") from exc
        self._algorithm = algorithm or default_algorithm(self._public_key)
        spki = self._public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._spec = KeySpec(
            key_id=key_uri.redacted(), algorithm=self._algorithm, public_key_der=spki, certificate_chain=chain
        )

    def _single(self, search: dict[Any, Any], what: str) -> Any:
        found = list(self._session.get_objects(search))
        if len(found) != 1:
            raise KeyProviderError(
                f"expected exactly one {what} for {self._uri.redacted()}, found {len(found)}",
                hint="name the key precisely with object=LABEL or id=%XX",
            )
        return found[0]

    def _public_from_token(self, search: dict[Any, Any]) -> PublicKeyTypes:
        import pkcs11  # noqa: PLC0415
        from pkcs11.util.ec import encode_ec_public_key  # noqa: PLC0415
        from pkcs11.util.rsa import encode_rsa_public_key  # noqa: PLC0415

        public = self._single(search, "public key")
        if public.key_type == pkcs11.KeyType.EC:
            der = encode_ec_public_key(public)
        elif public.key_type == pkcs11.KeyType.RSA:
            der = encode_rsa_public_key(public)
            return serialization.load_der_public_key(der)
        else:
            raise KeyProviderError(f"unsupported PKCS#11 key type {public.key_type}")
        return serialization.load_der_public_key(der)

    def _certificates(self, search: dict[Any, Any]) -> tuple[bytes, ...]:
        import pkcs11  # noqa: PLC0415

        cert_search = {k: v for k, v in search.items() if k != pkcs11.Attribute.CLASS}
        cert_search[pkcs11.Attribute.CLASS] = pkcs11.ObjectClass.CERTIFICATE
        certs = [bytes(obj[pkcs11.Attribute.VALUE]) for obj in self._session.get_objects(cert_search)]
        if not certs:
            return ()
        # Notary envelopes carry the chain up to the root: follow issuers among the token's other certificates
        # (``keys generate --issuer`` stores the CA chain there), each link checked by its signature.
        others = [
            bytes(obj[pkcs11.Attribute.VALUE])
            for obj in self._session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE})
        ]
        return _chain_from(certs[0], others)

    def key(self) -> KeySpec:
        return self._spec

    def sign(self, payload: bytes) -> bytes:
        import pkcs11  # noqa: PLC0415

        digest_algorithm = hash_for(self._algorithm)
        if digest_algorithm is None:
            raise KeyProviderError("Ed25519 keys in PKCS#11 tokens are not supported", hint="use ECDSA or RSA")
        hasher = hashes.Hash(digest_algorithm)
        hasher.update(payload)
        digest = hasher.finalize()
        with self._lock:
            try:
                if isinstance(self._public_key, ec.EllipticCurvePublicKey):
                    raw = self._private.sign(digest, mechanism=pkcs11.Mechanism.ECDSA)
                    half = len(raw) // 2
                    return encode_dss_signature(int.from_bytes(raw[:half]), int.from_bytes(raw[half:]))
                if isinstance(self._public_key, rsa.RSAPublicKey):
                    return bytes(self._private.sign(payload, **_rsa_mechanism(self._algorithm)))
            except pkcs11.PKCS11Error as exc:
                raise KeyProviderError(
                    f"the PKCS#11 token failed to sign with {self._uri.redacted()}: {type(exc).__name__}"
                ) from exc
        raise KeyProviderError(f"unsupported key type for {self._uri.redacted()}")

    def close(self) -> None:
        self._session.close()


_MAX_CHAIN = 8


def _chain_from(leaf_der: bytes, pool_der: list[bytes]) -> tuple[bytes, ...]:
    """``leaf`` then its issuers found in ``pool``, each verified; stops at a self-signed certificate."""
    from cryptography import x509  # noqa: PLC0415

    pool = []
    for der in pool_der:
        try:
            pool.append((der, x509.load_der_x509_certificate(der)))
        except ValueError:
            continue  # not ours to judge: an unparsable object elsewhere in the token
    chain = [leaf_der]
    current = x509.load_der_x509_certificate(leaf_der)
    while current.issuer != current.subject and len(chain) < _MAX_CHAIN:
        issuer = next((c for c in pool if c[1].subject == current.issuer and _issued_by(current, c[1])), None)
        if issuer is None:
            break
        chain.append(issuer[0])
        current = issuer[1]
    return tuple(chain)


def _issued_by(child: Any, parent: Any) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _rsa_mechanism(algorithm: SignatureAlgorithm) -> dict[str, Any]:
    import pkcs11  # noqa: PLC0415
    from pkcs11 import MGF, Mechanism  # noqa: PLC0415

    if algorithm is SignatureAlgorithm.RSASSA_PKCS1V15_SHA256:
        return {"mechanism": Mechanism.SHA256_RSA_PKCS}
    table = {
        SignatureAlgorithm.RSASSA_PSS_SHA256: (Mechanism.SHA256_RSA_PKCS_PSS, Mechanism.SHA256, MGF.SHA256, 32),
        SignatureAlgorithm.RSASSA_PSS_SHA384: (Mechanism.SHA384_RSA_PKCS_PSS, Mechanism.SHA384, MGF.SHA384, 48),
        SignatureAlgorithm.RSASSA_PSS_SHA512: (Mechanism.SHA512_RSA_PKCS_PSS, Mechanism.SHA512, MGF.SHA512, 64),
    }
    if algorithm not in table:
        raise pkcs11.MechanismInvalid
    mechanism, hash_mech, mgf, salt = table[algorithm]
    return {"mechanism": mechanism, "mechanism_param": (hash_mech, mgf, salt)}
