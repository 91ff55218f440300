"""Admission policy: documents, scoping, rules and the pure ``evaluate`` (core, no I/O).

>>> from datetime import UTC, datetime
>>> from wharfinger.policy import Facts, evaluate, load_policies, parse_review
>>> policies = load_policies('''
... apiVersion: wharfinger.io/v1alpha1
... kind: ClusterImagePolicy
... metadata: {name: pinned}
... spec: {rules: [{name: digest, requireDigest: true}]}
... ''')
>>> review = b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "1", '
>>> review += b'"kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "a", '
>>> review += b'"object": {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}'
>>> decision = evaluate(policies, parse_review(review), Facts(images={}), datetime(2026, 1, 1, tzinfo=UTC))
>>> decision.allowed, decision.rule
(False, 'pinned/digest')
"""

# `X as X`: an explicit re-export for mypy, which cannot read an __all__ built from __name__
from wharfinger.policy.document import Mode as Mode
from wharfinger.policy.document import PolicySet as PolicySet
from wharfinger.policy.document import load_policies as load_policies
from wharfinger.policy.engine import Decision as Decision
from wharfinger.policy.engine import Facts as Facts
from wharfinger.policy.engine import Outcome as Outcome
from wharfinger.policy.engine import evaluate as evaluate
from wharfinger.policy.engine import plan as plan
from wharfinger.policy.facts import FactsProvider as FactsProvider
from wharfinger.policy.facts import ImageFacts as ImageFacts
from wharfinger.policy.request import AdmissionRequest as AdmissionRequest
from wharfinger.policy.request import parse_review as parse_review

__all__ = [  # noqa: PLE0604 -- built from __name__ so a rename cannot leave it stale (STYLE 2.1)
    AdmissionRequest.__name__,
    Decision.__name__,
    Facts.__name__,
    FactsProvider.__name__,
    ImageFacts.__name__,
    Mode.__name__,
    Outcome.__name__,
    PolicySet.__name__,
    evaluate.__name__,
    load_policies.__name__,
    parse_review.__name__,
    plan.__name__,
]
