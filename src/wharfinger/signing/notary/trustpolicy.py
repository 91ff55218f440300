"""``trustpolicy.json`` (OCI trust policy, version 1.0) read and validated as Notation reads it.

``parse_trust_policy(bytes)`` returns a validated ``TrustPolicyDocument`` or raises
``TrustPolicyError`` with a message naming the statement and the rule it breaks.
``select_policy(document, repository)`` applies the spec's order: exact scope, then ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wharfinger.errors import TrustPolicyError
from wharfinger.signing.notary.model import ValidationAction, ValidationType, VerificationLevel
from wharfinger.signing.notary.truststore import STORE_NAME_RE, StoreType

__all__ = [
    "TrustPolicy",
    "TrustPolicyDocument",
    "TrustedIdentity",
    "VerifyTimestamp",
    "level_actions",
    "parse_distinguished_name",
    "parse_trust_policy",
    "select_policy",
]

_E, _L, _S = ValidationAction.ENFORCE, ValidationAction.LOG, ValidationAction.SKIP
_LEVELS: dict[VerificationLevel, dict[ValidationType, ValidationAction]] = {
    VerificationLevel.STRICT: dict(zip(ValidationType, (_E, _E, _E, _E, _E), strict=True)),
    VerificationLevel.PERMISSIVE: dict(zip(ValidationType, (_E, _E, _L, _L, _L), strict=True)),
    VerificationLevel.AUDIT: dict(zip(ValidationType, (_E, _L, _L, _L, _L), strict=True)),
    VerificationLevel.SKIP: dict(zip(ValidationType, (_S, _S, _S, _S, _S), strict=True)),
}
# Which override actions the spec allows per validation (integrity cannot be overridden).
_OVERRIDABLE: dict[ValidationType, frozenset[ValidationAction]] = {
    ValidationType.AUTHENTICITY: frozenset({_E, _L}),
    ValidationType.AUTHENTIC_TIMESTAMP: frozenset({_E, _L}),
    ValidationType.EXPIRY: frozenset({_E, _L}),
    ValidationType.REVOCATION: frozenset({_E, _L, _S}),
}


class VerifyTimestamp(StrEnum):
    ALWAYS = "always"
    AFTER_CERT_EXPIRY = "afterCertExpiry"


def level_actions(level: VerificationLevel) -> dict[ValidationType, ValidationAction]:
    return dict(_LEVELS[level])


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedIdentity:
    """``x509.subject: C=US, ST=WA, O=…`` parsed to attribute pairs, or the wildcard."""

    text: str
    wildcard: bool = False
    attributes: tuple[tuple[str, str], ...] = ()

    def matches(self, subject: Mapping[str, str]) -> bool:
        return self.wildcard or all(subject.get(k) == v for k, v in self.attributes)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustPolicy:
    name: str
    registry_scopes: tuple[str, ...]
    level: VerificationLevel
    actions: tuple[tuple[ValidationType, ValidationAction], ...]
    verify_timestamp: VerifyTimestamp
    trust_stores: tuple[tuple[StoreType, str], ...]
    trusted_identities: tuple[TrustedIdentity, ...]

    def action(self, validation: ValidationType) -> ValidationAction:
        return dict(self.actions)[validation]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustPolicyDocument:
    version: str
    policies: tuple[TrustPolicy, ...]


def _fail(message: str) -> TrustPolicyError:
    return TrustPolicyError(message, hint="see docs/notary.md for the trustpolicy.json format (Notary Project 1.0)")


_SCOPE_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$"
)


def _validate_scope(policy: str, scope: object) -> str:
    if not isinstance(scope, str) or not _SCOPE_RE.match(scope):
        raise _fail(
            f"registry scope {scope!r} of trust policy statement {policy!r} is not valid, make sure it is a fully "
            "qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a "
            "local scoped registry like local/myOCILayout"
        )
    return scope


def parse_distinguished_name(text: str) -> tuple[tuple[str, str], ...]:
    """RFC 4514 DN ``C=US, ST=WA, O=x`` to (type, value) pairs; escapes (``\\,`` ``\\ `` ``\\2C``) honoured."""
    pairs: list[tuple[str, str]] = []
    current: list[tuple[str, bool]] = []  # (character, escaped)
    key: str | None = None

    def finish() -> None:
        nonlocal key
        while current and current[0] == (" ", False):
            current.pop(0)
        while current and current[-1] == (" ", False):
            current.pop()
        value = "".join(ch for ch, _ in current)
        if key is None or not key.strip() or not value:
            raise ValueError(f"distinguished name {text!r} has an empty attribute")
        pairs.append((key.strip().upper(), value))
        key = None
        current.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise ValueError(f"distinguished name {text!r} ends with a lone backslash")
            if re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 1 : i + 3]):
                current.append((chr(int(text[i + 1 : i + 3], 16)), True))
                i += 3
                continue
            current.append((text[i + 1], True))
            i += 2
            continue
        if ch == "=" and key is None:
            key = "".join(c for c, _ in current)
            current.clear()
        elif ch == "=":
            raise ValueError(f"distinguished name {text!r} has an unescaped '=' in a value")
        elif ch == "+":
            raise ValueError(
                f"distinguished name {text!r} has multi-valued RDN attributes, remove multi-valued RDN attributes as "
                "they are not supported"
            )
        elif ch in ",;":
            finish()
        else:
            current.append((ch, False))
        i += 1
    finish()
    seen: set[str] = set()
    normalised = []
    for attr, value in pairs:
        name = "ST" if attr == "S" else attr
        if name in seen:
            raise ValueError(f"distinguished name {text!r} has duplicate RDN attribute for {name!r}")
        seen.add(name)
        normalised.append((name, value))
    return tuple(normalised)


def _identity(policy: str, value: object) -> TrustedIdentity:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"trust policy statement {policy!r} has an empty trusted identity")
    if value == "*":
        return TrustedIdentity(text=value, wildcard=True)
    prefix, sep, dn = value.partition(":")
    if not sep:
        raise _fail(f"trust policy statement {policy!r} has trusted identity {value!r} missing separator")
    if prefix.strip() != "x509.subject":
        raise _fail(
            f"trust policy statement {policy!r} uses an unsupported trusted identity type {prefix.strip()!r}; "
            "only x509.subject is supported"
        )
    try:
        attributes = parse_distinguished_name(dn.strip())
    except ValueError as exc:
        raise _fail(f"trust policy statement {policy!r} has trusted identity {value!r}: {exc}") from exc
    names = {a for a, _ in attributes}
    if not {"C", "ST", "O"} <= names:
        raise _fail(
            f"trust policy statement {policy!r} has trusted identity {value!r} without the mandatory RDN attributes: "
            "it must contain 'C', 'ST' (or 'S') and 'O' at a minimum"
        )
    return TrustedIdentity(text=value, attributes=attributes)


def _signature_verification(
    policy: str, raw: object
) -> tuple[VerificationLevel, dict[ValidationType, ValidationAction], VerifyTimestamp]:
    if not isinstance(raw, dict):
        raise _fail(f"trust policy statement {policy!r} is missing signatureVerification")
    level_value = raw.get("level")
    try:
        level = VerificationLevel(str(level_value))
    except ValueError:
        raise _fail(
            f"trust policy statement {policy!r} has invalid signatureVerification: invalid signature verification "
            f"level {level_value!r} (use strict, permissive, audit or skip)"
        ) from None
    actions = level_actions(level)
    override = raw.get("override")
    if override is not None:
        if level is VerificationLevel.SKIP:
            raise _fail(
                f"trust policy statement {policy!r} has invalid signatureVerification: signature verification level "
                "'skip' can't be used to customize signature verification"
            )
        if not isinstance(override, dict):
            raise _fail(f"trust policy statement {policy!r} has an override that is not an object")
        for key, action in override.items():
            if key == ValidationType.INTEGRITY:
                raise _fail(
                    f"trust policy statement {policy!r}: 'integrity' verification can not be overridden in custom "
                    "signature verification"
                )
            try:
                validation = ValidationType(key)
            except ValueError:
                raise _fail(
                    f"trust policy statement {policy!r}: verification type {key!r} in custom signature verification "
                    "is not supported, supported values are authenticity, authenticTimestamp, expiry, revocation"
                ) from None
            allowed = _OVERRIDABLE[validation]
            if action not in {a.value for a in allowed}:
                raise _fail(
                    f"trust policy statement {policy!r}: verification action {action!r} for {key!r} is not supported, "
                    f"supported values are {', '.join(sorted(a.value for a in allowed))}"
                )
            actions[validation] = ValidationAction(action)
    verify_ts_value = raw.get("verifyTimestamp", VerifyTimestamp.ALWAYS.value)
    try:
        verify_timestamp = VerifyTimestamp(verify_ts_value)
    except ValueError:
        raise _fail(
            f"trust policy statement {policy!r} has invalid verifyTimestamp {verify_ts_value!r} "
            "(use always or afterCertExpiry)"
        ) from None
    return level, actions, verify_timestamp


def _policy(raw: dict[str, Any]) -> TrustPolicy:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail("a trust policy statement is missing a name, every statement requires a name")
    scopes = raw.get("registryScopes")
    if not isinstance(scopes, list) or not scopes:
        raise _fail(
            f"trust policy statement {name!r} has zero registry scopes, it must specify registry scopes with at least "
            "one value"
        )
    if "*" in scopes and len(scopes) > 1:
        raise _fail(
            f"trust policy statement {name!r} uses wildcard registry scope '*', a wildcard scope cannot be used in "
            "conjunction with other scope values"
        )
    scope_values = tuple(s if s == "*" else _validate_scope(name, s) for s in scopes)
    if len(set(scope_values)) != len(scope_values):
        raise _fail(f"trust policy statement {name!r} lists a registry scope twice")
    level, actions, verify_ts = _signature_verification(name, raw.get("signatureVerification"))
    stores_raw = raw.get("trustStores") or []
    identities_raw = raw.get("trustedIdentities") or []
    if not isinstance(stores_raw, list) or not isinstance(identities_raw, list):
        raise _fail(f"trust policy statement {name!r}: trustStores and trustedIdentities must be lists")
    if level is VerificationLevel.SKIP:
        if "*" in scope_values:
            raise _fail(
                f"trust policy statement {name!r} uses level 'skip' with the global scope '*', which is not allowed"
            )
        if stores_raw or identities_raw:
            raise _fail(
                f"trust policy statement {name!r} is set to skip signature verification but configured with trust "
                "stores and/or trusted identities, remove them if signature verification needs to be skipped"
            )
        return TrustPolicy(
            name=name, registry_scopes=scope_values, level=level, actions=tuple(actions.items()),
            verify_timestamp=verify_ts, trust_stores=(), trusted_identities=(),
        )  # fmt: skip
    if not stores_raw or not identities_raw:
        raise _fail(
            f"trust policy statement {name!r} is either missing trust stores or trusted identities, both must be "
            "specified"
        )
    stores: list[tuple[StoreType, str]] = []
    for value in stores_raw:
        store_type, sep, store_name = str(value).partition(":")
        if not sep or store_type not in {t.value for t in StoreType}:
            raise _fail(
                f"trust policy statement {name!r} uses an unsupported trust store type {store_type!r} in trust store "
                f"value {value!r} (use ca:NAME, signingAuthority:NAME or tsa:NAME)"
            )
        if not STORE_NAME_RE.match(store_name):
            raise _fail(
                f"trust policy statement {name!r} uses an unsupported trust store name {store_name!r} in trust store "
                f"value {value!r}. Named store name needs to follow [a-zA-Z0-9_.-]+ format"
            )
        stores.append((StoreType(store_type), store_name))
    if len(set(stores)) != len(stores):
        raise _fail(f"trust policy statement {name!r} lists a trust store twice")
    if "*" in identities_raw and len(identities_raw) > 1:
        raise _fail(
            f"trust policy statement {name!r} uses a wildcard trusted identity '*', a wildcard identity cannot be "
            "used in conjunction with other values"
        )
    identities = tuple(_identity(name, v) for v in identities_raw)
    for i, first in enumerate(identities):
        for second in identities[i + 1 :]:
            a, b = dict(first.attributes), dict(second.attributes)
            if first.wildcard or second.wildcard:
                continue
            if all(b.get(k) == v for k, v in a.items()) or all(a.get(k) == v for k, v in b.items()):
                raise _fail(
                    f"trust policy statement {name!r} has overlapping x509 trustedIdentities, {first.text!r} overlaps "
                    f"with {second.text!r}"
                )
    return TrustPolicy(
        name=name,
        registry_scopes=scope_values,
        level=level,
        actions=tuple(actions.items()),
        verify_timestamp=verify_ts,
        trust_stores=tuple(stores),
        trusted_identities=identities,
    )


def parse_trust_policy(data: bytes) -> TrustPolicyDocument:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _fail(f"trust policy is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _fail("trust policy must be a JSON object with version and trustPolicies")
    version = doc.get("version")
    if not version:
        raise _fail("trust policy has empty version, version must be specified")
    if version != "1.0":
        raise _fail(f"trust policy document uses unsupported version {version!r}; the supported version is '1.0'")
    raw_policies = doc.get("trustPolicies")
    if not isinstance(raw_policies, list) or not raw_policies:
        raise _fail("trust policy document can not have zero trust policy statements")
    policies = []
    for raw in raw_policies:
        if not isinstance(raw, dict):
            raise _fail("every trust policy statement must be a JSON object")
        policies.append(_policy(raw))
    names: set[str] = set()
    scope_owner: dict[str, str] = {}
    for policy in policies:
        if policy.name in names:
            raise _fail(
                f"multiple trust policy statements use the same name {policy.name!r}, statement names must be unique"
            )
        names.add(policy.name)
        for scope in policy.registry_scopes:
            if scope in scope_owner:
                raise _fail(
                    f"registry scope {scope!r} is present in multiple trust policy statements ({scope_owner[scope]!r} "
                    f"and {policy.name!r}), one registry scope value can only be associated with one statement"
                )
            scope_owner[scope] = policy.name
    return TrustPolicyDocument(version=version, policies=tuple(policies))


def select_policy(document: TrustPolicyDocument, repository: str) -> TrustPolicy | None:
    """The statement for ``registry/repository`` (no tag or digest): exact scope first, then ``*``."""
    for policy in document.policies:
        if repository in policy.registry_scopes:
            return policy
    for policy in document.policies:
        if "*" in policy.registry_scopes:
            return policy
    return None
