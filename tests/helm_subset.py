"""Render the Helm chart's templates without helm (not installable from Debian, PyPI or npm here).

Supports exactly the template constructs the chart uses, and raises on anything else, so a new
construct in the chart fails the test instead of rendering wrongly: ``{{ .Values.a.b }}``,
``.Release.Name``, ``.Release.Namespace``, ``| quote``, ``toYaml X | nindent N``, ``X | nindent N``,
``if X`` / ``if not X`` / ``end``, and the ``{{-`` / ``-}}`` whitespace trimming.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.DOTALL)


class UnsupportedTemplateError(Exception):
    pass


def _lookup(expr: str, context: dict[str, Any]) -> Any:
    if not expr.startswith("."):
        raise UnsupportedTemplateError(f"unsupported expression {expr!r}")
    node: Any = context
    for part in expr[1:].split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _evaluate(pipeline: str, context: dict[str, Any]) -> str:
    stages = [s.strip() for s in pipeline.split("|")]
    head = stages[0]
    if head.startswith("toYaml "):
        value: Any = yaml.safe_dump(_lookup(head[len("toYaml ") :].strip(), context), sort_keys=False).rstrip("\n")
    else:
        value = _lookup(head, context)
    for stage in stages[1:]:
        if stage == "quote":
            value = json.dumps("" if value is None else str(value))
        elif stage.startswith("nindent "):
            width = int(stage.split()[1])
            value = "\n" + "\n".join(" " * width + line if line else line for line in str(value).splitlines())
        else:
            raise UnsupportedTemplateError(f"unsupported pipeline stage {stage!r}")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(template: str, values: dict[str, Any], *, name: str, namespace: str) -> str:
    context = {"Values": values, "Release": {"Name": name, "Namespace": namespace}}
    out: list[str] = []
    stack: list[bool] = []  # emitting?
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if all(stack):
            out.append(text)
        action = match.group(2)
        trim_next = bool(match.group(3))
        position = match.end()
        if action.startswith("if "):
            condition = action[3:].strip()
            negate = condition.startswith("not ")
            value = bool(_lookup(condition[4:].strip() if negate else condition, context))
            stack.append(value != negate)
        elif action == "end":
            stack.pop()
        elif action == "else":
            stack[-1] = not stack[-1]
        elif all(stack):
            out.append(_evaluate(action, context))
    tail = template[position:]
    out.append(tail.lstrip() if trim_next else tail)
    if stack:
        raise UnsupportedTemplateError("unclosed if")
    return "".join(out)
