"""The public surface of ``wharfinger.policy`` is pinned: a change to it is a reviewed change."""

from __future__ import annotations

import doctest

import wharfinger.admission
import wharfinger.policy


def test_policy_all_is_pinned() -> None:
    assert sorted(wharfinger.policy.__all__) == [
        "AdmissionRequest",
        "Decision",
        "Facts",
        "FactsProvider",
        "ImageFacts",
        "Mode",
        "Outcome",
        "PolicySet",
        "evaluate",
        "load_policies",
        "parse_review",
        "plan",
    ]
    for name in wharfinger.policy.__all__:
        assert getattr(wharfinger.policy, name) is not None


def test_package_docstring_examples_run() -> None:
    for module in (wharfinger.policy, wharfinger.admission):
        failed, attempted = doctest.testmod(module)
        assert attempted > 0
        assert failed == 0
