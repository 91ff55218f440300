"""OpenVEX input: what a supplier states about a vulnerability in a product.

Statements (OpenVEX 0.2.0, and 0.0.1's plain-string spellings) apply to a finding when the
vulnerability matches (its id or an alias) and a product matches the image (reference, digest
or ``pkg:oci`` purl) or the package purl; a product with ``subcomponents`` applies only to
those packages. Purls match on type/namespace/name, on the version when the statement gives
one, and on the qualifiers it gives. Among statements that apply, the latest timestamp wins.

* ``not_affected`` suppresses the finding; the justification (or impact statement) is shown.
* ``fixed`` suppresses it: the supplier says this product ships the fix.
* ``affected`` keeps it and adds the action statement; ``under_investigation`` keeps it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from wharfinger.errors import VexError
from wharfinger.matching.finding import Finding

__all__ = ["VexStatement", "VexStatus", "applicable_statement", "parse_openvex"]

_NANOS = re.compile(r"(\.\d{6})\d+")
_MAX_BYTES = 16 * 1024 * 1024  # bytes
JUSTIFICATIONS = frozenset(
    {
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    }
)


class VexStatus(StrEnum):
    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"

    @property
    def suppresses(self) -> bool:
        return self in (VexStatus.NOT_AFFECTED, VexStatus.FIXED)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Purl:
    type: str
    namespace: str
    name: str
    version: str | None
    qualifiers: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> _Purl | None:
        if not text.startswith("pkg:"):
            return None
        body, _, qualifier_text = text[4:].partition("?")
        qualifier_text = qualifier_text.partition("#")[0]
        path, _, version = body.partition("@")
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if len(segments) < 2:  # noqa: PLR2004 -- a purl has at least a type and a name
            return None
        qualifiers = tuple(
            sorted((k.lower(), unquote(v)) for k, _, v in (q.partition("=") for q in qualifier_text.split("&") if q))
        )
        return cls(
            type=segments[0].lower(),
            namespace="/".join(segments[1:-1]),
            name=segments[-1],
            version=unquote(version) or None,
            qualifiers=qualifiers,
        )

    def covers(self, other: _Purl) -> bool:
        """Whether this (possibly less specific) purl names ``other``."""
        if (self.type, self.namespace, self.name) != (other.type, other.namespace, other.name):
            return False
        if self.version is not None and self.version != other.version:
            return False
        return set(self.qualifiers) <= set(other.qualifiers)


@dataclass(frozen=True, slots=True, kw_only=True)
class VexProduct:
    id: str
    subcomponents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class VexStatement:
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[VexProduct, ...]
    status: VexStatus
    justification: str | None = None
    impact_statement: str | None = None
    action_statement: str | None = None
    timestamp: datetime | None = None
    document: str = ""  # where it came from, for explanations
    index: int = 0  # position in the document: later statements win ties

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.vulnerability, *self.aliases)

    def describe(self) -> str:
        detail = self.justification or self.impact_statement or self.action_statement or ""
        detail = f" ({detail})" if detail else ""
        if self.justification and self.impact_statement:
            detail = f" ({self.justification}: {self.impact_statement})"
        return f"VEX {self.status.value}{detail} from {self.document or 'a VEX document'}"


def _image_matches(product_id: str, image: str | None, image_digest: str | None) -> bool:
    if image is not None and product_id == image:
        return True
    if image_digest is not None and (product_id == image_digest or product_id.endswith("@" + image_digest)):
        return True
    purl = _Purl.parse(product_id)
    if purl is not None and purl.type == "oci" and image_digest is not None:
        return purl.version == image_digest
    return False


def _package_matches(product_id: str, package_purl: str) -> bool:
    wanted, actual = _Purl.parse(product_id), _Purl.parse(package_purl)
    return wanted is not None and actual is not None and wanted.covers(actual)


def _statement_applies(statement: VexStatement, finding: Finding, image: str | None, image_digest: str | None) -> bool:
    finding_ids = {i.upper() for i in finding.ids}
    if not finding_ids & {i.upper() for i in statement.ids}:
        return False
    purl = finding.package.purl
    for product in statement.products:
        if product.subcomponents:
            if (_image_matches(product.id, image, image_digest) or _package_matches(product.id, purl)) and any(
                _package_matches(s, purl) for s in product.subcomponents
            ):
                return True
        elif _image_matches(product.id, image, image_digest) or _package_matches(product.id, purl):
            return True
    return False


def applicable_statement(
    statements: tuple[VexStatement, ...], finding: Finding, *, image: str | None, image_digest: str | None
) -> VexStatement | None:
    """The statement that decides ``finding``: the latest of those that apply to it."""
    best: VexStatement | None = None
    epoch = datetime.min.replace(tzinfo=UTC)
    for statement in statements:
        if not _statement_applies(statement, finding, image, image_digest):
            continue
        if best is None or (statement.timestamp or epoch, statement.index) >= (best.timestamp or epoch, best.index):
            best = statement
    return best


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        # OpenVEX tools write nanoseconds (vexctl: .647787998-06:00); Python reads microseconds
        moment = datetime.fromisoformat(_NANOS.sub(r"\1", str(value)))
    except ValueError as exc:
        raise VexError(f"{where}: timestamp {value!r} is not ISO 8601", hint="use 2024-01-31T12:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def _product(value: Any, where: str) -> VexProduct:
    if isinstance(value, str):
        return VexProduct(id=value)
    if isinstance(value, dict) and isinstance(value.get("@id"), str):
        subs = value.get("subcomponents") or []
        if not isinstance(subs, list):
            raise VexError(f"{where}: 'subcomponents' must be a list", hint="see https://openvex.dev")
        ids = tuple(s if isinstance(s, str) else s.get("@id") for s in subs if isinstance(s, str | dict))
        return VexProduct(id=value["@id"], subcomponents=tuple(i for i in ids if isinstance(i, str)))
    raise VexError(f"{where}: a product needs an '@id'", hint="products are purls or image references")


def parse_openvex(data: bytes, *, source: str = "VEX document") -> tuple[VexStatement, ...]:
    if len(data) > _MAX_BYTES:
        raise VexError(f"{source} is larger than {_MAX_BYTES} bytes", hint="is this the right file?")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VexError(f"{source} is not JSON: {exc}", hint="pass an OpenVEX JSON document") from exc
    if not isinstance(document, dict) or not isinstance(document.get("statements"), list):
        raise VexError(f"{source} has no 'statements' list", hint="is this an OpenVEX document (openvex.dev)?")
    context = str(document.get("@context", ""))
    if "openvex" not in context:
        raise VexError(f"{source} is not OpenVEX (@context {context!r})", hint="expected https://openvex.dev/ns/…")
    document_time = _time(document.get("timestamp"), source)
    statements = []
    for index, raw in enumerate(document["statements"]):
        where = f"{source} statement {index + 1}"
        if not isinstance(raw, dict):
            raise VexError(f"{where} is not an object", hint="see https://openvex.dev")
        vulnerability = raw.get("vulnerability")
        aliases: tuple[str, ...] = ()
        if isinstance(vulnerability, dict):
            aliases = tuple(a for a in vulnerability.get("aliases") or [] if isinstance(a, str))
            vulnerability = vulnerability.get("name") or vulnerability.get("@id")
        if not isinstance(vulnerability, str) or not vulnerability.strip():
            raise VexError(f"{where} names no vulnerability", hint="set vulnerability.name, e.g. CVE-2024-1234")
        try:
            status = VexStatus(str(raw.get("status")))
        except ValueError as exc:
            raise VexError(
                f"{where}: unknown status {raw.get('status')!r}",
                hint="one of not_affected, affected, fixed, under_investigation",
            ) from exc
        justification = _text(raw.get("justification"))
        impact = _text(raw.get("impact_statement"))
        if status is VexStatus.NOT_AFFECTED and justification is None and impact is None:
            raise VexError(
                f"{where}: not_affected needs a justification or an impact_statement",
                hint=f"justifications: {', '.join(sorted(JUSTIFICATIONS))}",
            )
        if justification is not None and justification not in JUSTIFICATIONS:
            raise VexError(f"{where}: unknown justification {justification!r}", hint=", ".join(sorted(JUSTIFICATIONS)))
        products_raw = raw.get("products") or []
        if not isinstance(products_raw, list) or not products_raw:
            raise VexError(f"{where} lists no products", hint="products are purls or image references")
        statements.append(
            VexStatement(
                vulnerability=vulnerability.strip(),
                aliases=aliases,
                products=tuple(_product(p, where) for p in products_raw),
                status=status,
                justification=justification,
                impact_statement=impact,
                action_statement=_text(raw.get("action_statement")),
                timestamp=_time(raw.get("timestamp"), where) or document_time,
                document=source,
                index=index,
            )
        )
    return tuple(statements)
