"""``scan -o openvex``: the scan's conclusions as an OpenVEX 0.2.0 document.

One statement per (vulnerability, package): ``affected`` with an action statement (the fixed
version to upgrade to) for active findings; suppressed findings keep the status their
suppression gives them - a VEX ``not_affected`` statement is repeated with its justification,
an exception stays ``affected`` (an accepted risk is not a claim that the code is safe).
The product is the image (``pkg:oci/…`` with its digest when known), the package a
subcomponent by purl. ``@id`` is derived from the content, so the same scan gives the same
document.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from wharfinger import __version__
from wharfinger.matching.finding import Finding
from wharfinger.report.scan_json import ScanSubject
from wharfinger.scan.result import ScanResult, Suppression, SuppressionKind

__all__ = ["OPENVEX_CONTEXT", "render_openvex", "subject_product_id"]

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"


def subject_product_id(subject: ScanSubject) -> str:
    """``pkg:oci/<name>@<digest>?repository_url=…`` for images with a digest, else the name as given."""
    if subject.kind == "image" and subject.digest:
        repository = subject.name.split("@", 1)[0]
        last = repository.rsplit("/", 1)[-1]
        name = last.split(":", 1)[0] if ":" in last else last
        base = repository.rsplit(":", 1)[0] if ":" in repository.rsplit("/", 1)[-1] else repository
        return f"pkg:oci/{name}@{quote(subject.digest, safe='')}?repository_url={quote(base, safe='/')}"
    return subject.name


def _statement(finding: Finding, product: str, suppression: Suppression | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "vulnerability": {
            "name": finding.advisory_id,
            **({"aliases": list(finding.aliases)} if finding.aliases else {}),
        },
        "products": [{"@id": product, "subcomponents": [{"@id": finding.package.purl}]}],
    }
    vex = suppression.vex if suppression is not None and suppression.kind is SuppressionKind.VEX else None
    if vex is not None:
        statement["status"] = vex.status.value
        if vex.justification:
            statement["justification"] = vex.justification
        if vex.impact_statement:
            statement["impact_statement"] = vex.impact_statement
        statement["status_notes"] = suppression.reason if suppression else ""
        return statement
    statement["status"] = "affected"
    if finding.fixed_versions:
        statement["action_statement"] = (
            f"Upgrade {finding.matched_name} to {' or '.join(finding.fixed_versions)} or later."
        )
    else:
        statement["action_statement"] = (
            f"No fixed version yet ({finding.fix_state.value}); mitigate or remove the package."
        )
    if suppression is not None:
        statement["status_notes"] = f"accepted: {suppression.reason}"
    return statement


def render_openvex(result: ScanResult, subject: ScanSubject, *, author: str = "wharfinger") -> str:
    product = subject_product_id(subject)
    statements = [_statement(f, product, None) for f in result.findings]
    statements += [_statement(s.finding, product, s) for s in result.suppressed]
    body = json.dumps(statements, sort_keys=True)
    document_id = hashlib.sha256(f"{product}\n{body}".encode()).hexdigest()
    document: dict[str, Any] = {
        "@context": OPENVEX_CONTEXT,
        "@id": f"https://openvex.dev/docs/wharfinger/vex-{document_id}",
        "author": author,
        "role": "scanner",
        "version": 1,
        "tooling": f"wharfinger {__version__}",
        "statements": statements,
    }
    if result.scanned_at is not None:
        document["timestamp"] = result.scanned_at.isoformat()
        for statement in statements:
            statement["timestamp"] = document["timestamp"]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
