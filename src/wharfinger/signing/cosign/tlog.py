"""Rekor transparency-log proofs, checked offline: inclusion promise, inclusion proof, checkpoint.

A log entry comes with up to two proofs. The *inclusion promise* (Signed Entry Timestamp) is
the log's signature over the entry's canonical JSON (body, integrated time, log id, index): it
is what vouches for the integrated time. The *inclusion proof* is an RFC 6962 Merkle audit
path from the entry's leaf hash to a tree root, and the *checkpoint* is the log's signed note
naming that root and tree size. Which key signs is the caller's business: ``LogSignatureCheck``
answers "does the trusted key of log ``log_id`` sign ``data`` with ``signature``?".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "InclusionProof",
    "LogSignatureCheck",
    "ProofError",
    "parse_inclusion_proof",
    "verify_checkpoint",
    "verify_inclusion_promise",
    "verify_inclusion_proof",
]

LogSignatureCheck = Callable[[bytes, bytes, bytes], bool]  # (log_id, signature, data) -> signed by that log
MAX_PROOF_HASHES = 64  # a path in a tree of 2**64 leaves; more is hostile


class ProofError(ValueError):
    """A transparency-log proof is malformed or does not hold."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str


def verify_inclusion_promise(
    *,
    body_b64: str,
    integrated_time: int,
    log_id: bytes,
    log_index: int,
    signed_entry_timestamp: bytes,
    signed_by_log: LogSignatureCheck,
) -> None:
    """Raise unless the log signed this entry (its SET over the canonical JSON Rekor signs)."""
    canonical = json.dumps(
        {"body": body_b64, "integratedTime": integrated_time, "logID": log_id.hex(), "logIndex": log_index},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    if not signed_by_log(log_id, signed_entry_timestamp, canonical):
        raise ProofError("the transparency-log entry is not signed by a trusted Rekor key")


def verify_inclusion_proof(canonical_body: bytes, proof: InclusionProof) -> None:
    """Raise unless the Merkle audit path leads from the entry's leaf to the proof's root (RFC 6962)."""
    index, size = proof.log_index, proof.tree_size
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof index {index} is outside the tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    if len(proof.hashes) != inner + border:
        raise ProofError(
            f"inclusion proof has {len(proof.hashes)} hashes, a tree of size {size} needs {inner + border}"
        )
    node = hashlib.sha256(b"\x00" + canonical_body).digest()
    for level, sibling in enumerate(proof.hashes[:inner]):
        node = _children(node, sibling) if (index >> level) & 1 == 0 else _children(sibling, node)
    for sibling in proof.hashes[inner:]:
        node = _children(sibling, node)
    if node != proof.root_hash:
        raise ProofError("the inclusion proof does not lead to its root hash: the entry is not in that tree")


def _children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_checkpoint(proof: InclusionProof, log_id: bytes, signed_by_log: LogSignatureCheck) -> None:
    """Raise unless the log signed a checkpoint naming the proof's root hash and tree size."""
    note, separator, signatures = proof.checkpoint.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise ProofError("malformed checkpoint: expected a note, a blank line and signature lines")
    lines = note.split("\n")
    if len(lines) < 3:  # noqa: PLR2004 -- origin, size, root hash
        raise ProofError("malformed checkpoint: the note needs an origin, a tree size and a root hash")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ProofError(f"malformed checkpoint: {exc}") from exc
    signed = False
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":  # noqa: PLR2004 -- "— name signature"
            raise ProofError("malformed checkpoint signature line")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise ProofError("malformed checkpoint signature") from exc
        # The first four bytes are a key hint: the log id's prefix. Others' signatures are skipped.
        if raw[:4] == log_id[:4] and signed_by_log(log_id, raw[4:], (note + "\n").encode()):
            signed = True
    if not signed:
        raise ProofError("the checkpoint is not signed by the trusted key of the entry's log")
    if size != proof.tree_size or root != proof.root_hash:
        raise ProofError("the checkpoint names another tree than the inclusion proof")


def parse_inclusion_proof(document: object) -> InclusionProof:
    """The bundle's ``inclusionProof`` object (protobuf JSON: int64 as strings, bytes as base64)."""
    if not isinstance(document, dict):
        raise ProofError("malformed inclusion proof: not an object")
    hashes = document.get("hashes") or []
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise ProofError(f"inclusion proof hashes: expected a list of at most {MAX_PROOF_HASHES}")
    try:
        return InclusionProof(
            log_index=int(document["logIndex"]),
            tree_size=int(document["treeSize"]),
            root_hash=base64.b64decode(document["rootHash"], validate=True),
            hashes=tuple(base64.b64decode(h, validate=True) for h in hashes),
            checkpoint=str(document["checkpoint"]["envelope"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ProofError(f"malformed inclusion proof: {exc}") from exc
