"""License strings as found in packages → SPDX license expressions, where they are one.

Debian copyright files say ``GPL-2+`` and rpm headers ``GPLv2+``; SPDX says ``GPL-2.0-or-later``.
``spdx_expression`` maps the common spellings and validates the result with ``license-expression``;
anything it cannot make valid is ``None`` and the caller keeps the raw text (SPDX ``LicenseRef-``,
CycloneDX ``license.name``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["spdx_expression"]

_ALIASES = {
    "gpl-1": "GPL-1.0-only",
    "gpl-1+": "GPL-1.0-or-later",
    "gpl-2": "GPL-2.0-only",
    "gpl-2+": "GPL-2.0-or-later",
    "gplv2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gpl-3": "GPL-3.0-only",
    "gpl-3+": "GPL-3.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "lgpl-2": "LGPL-2.0-only",
    "lgpl-2+": "LGPL-2.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-2.1+": "LGPL-2.1-or-later",
    "lgplv2+": "LGPL-2.0-or-later",
    "lgplv2.1+": "LGPL-2.1-or-later",
    "lgpl-3": "LGPL-3.0-only",
    "lgpl-3+": "LGPL-3.0-or-later",
    "lgplv3+": "LGPL-3.0-or-later",
    "agpl-3": "AGPL-3.0-only",
    "agpl-3+": "AGPL-3.0-or-later",
    "gfdl-1.2": "GFDL-1.2-only",
    "gfdl-1.3": "GFDL-1.3-only",
    "asl 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "mpl-1.1": "MPL-1.1",
    "mpl-2.0": "MPL-2.0",
    "expat": "MIT",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "public-domain": "",
}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-:]*")
_TOKEN = re.compile(r"\(|\)|\s+(?:and|or|with)\s+|[^\s()]+", re.IGNORECASE)


@lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # noqa: PLC0415 -- 15 ms; only SBOM writers pay

    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def spdx_expression(raw: str) -> str | None:
    """A valid SPDX expression for ``raw``, or None."""
    text = raw.strip()
    if not text:
        return None
    parts = []
    for m in _TOKEN.finditer(text):
        token = m.group(0).strip()
        lowered = token.lower()
        if lowered in {"and", "or", "with"}:
            parts.append(lowered.upper())
        elif token in {"(", ")"}:
            parts.append(token)
        else:
            alias = _ALIASES.get(lowered, token)
            if not alias or not _ID.fullmatch(alias):
                return None
            parts.append(alias)
    candidate = " ".join(parts).replace("( ", "(").replace(" )", ")")
    try:
        info = _licensing().validate(candidate)
    except (ValueError, AttributeError):  # license-expression's ExpressionError is a ValueError
        return None
    if info.errors:
        return None
    return str(info.normalized_expression)
