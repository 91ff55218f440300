"""Scan policy over matched findings (pure): gates, exceptions, VEX, KEV highlighting.

>>> from wharfinger.scan import FailOn, ScanPolicy, apply_policy
>>> result = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH), now=now)  # doctest: +SKIP
>>> result.gate.passed, result.gate.summary                                  # doctest: +SKIP
"""

from __future__ import annotations

from wharfinger.scan.exceptions import ScanException, parse_exceptions
from wharfinger.scan.gate import FailOn, GateVerdict, gate_verdict
from wharfinger.scan.result import ScanPolicy, ScanResult, Suppression, SuppressionKind, apply_policy
from wharfinger.scan.vex import VexStatement, VexStatus, parse_openvex

__all__ = [
    "FailOn",
    "GateVerdict",
    "ScanException",
    "ScanPolicy",
    "ScanResult",
    "Suppression",
    "SuppressionKind",
    "VexStatement",
    "VexStatus",
    "apply_policy",
    "gate_verdict",
    "parse_exceptions",
    "parse_openvex",
]
