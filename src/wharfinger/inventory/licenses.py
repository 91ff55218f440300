"""License strings as SPDX identifiers or expressions where that can be done without guessing.

One normaliser for catalogers (which keep what they read) and SBOM writers (which must know whether
a string is valid SPDX). Package metadata carries licenses in every shape: SPDX ids in odd case
(``mit``), SPDX expressions with lower-case operators, well-known long names (``The Apache Software
License, Version 2.0``), licence URLs, trove classifiers (``License :: OSI Approved :: MIT
License``), Debian copyright short names (``GPL-2+``) and rpm spellings (``GPLv2+ and LGPLv2+``).

- ``spdx_expression`` returns a valid SPDX expression (checked by ``license-expression``) or None,
  so a writer falls back to ``LicenseRef-`` (SPDX) or ``license.name`` (CycloneDX);
- ``to_spdx`` returns that expression, or the text unchanged (classifier prefix removed), so
  nothing a human wrote is lost. It is what catalogers store in ``Package.licenses``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["spdx_expression", "to_spdx"]

# Long names seen in pom.xml, PKG-INFO, package.json and gemspecs; keys are lower-cased with runs
# of whitespace collapsed. Only names that denote exactly one SPDX license are listed.
_KNOWN_NAMES = {
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "apache software license, version 2.0": "Apache-2.0",
    "the apache license, version 2.0": "Apache-2.0",
    "the apache software license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit/x11": "MIT",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "the new bsd license": "BSD-3-Clause",
    "modified bsd license": "BSD-3-Clause",
    "bsd 2-clause": "BSD-2-Clause",
    "simplified bsd license": "BSD-2-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "eclipse public license 1.0": "EPL-1.0",
    "eclipse public license - v 1.0": "EPL-1.0",
    "eclipse public license 2.0": "EPL-2.0",
    "eclipse public license - v 2.0": "EPL-2.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "python software foundation license": "PSF-2.0",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later",
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "mozilla public license 1.1 (mpl 1.1)": "MPL-1.1",
    "eclipse public license 2.0 (epl-2.0)": "EPL-2.0",
    "eclipse public license v2.0": "EPL-2.0",
    "european union public licence 1.2 (eupl 1.2)": "EUPL-1.2",
    "cddl 1.1": "CDDL-1.1",
    "cddl + gplv2 with classpath exception": "CDDL-1.1 OR GPL-2.0-only WITH Classpath-exception-2.0",
    "the unlicense": "Unlicense",
    "the unlicense (unlicense)": "Unlicense",
    "zlib/libpng license": "Zlib",
    "public domain": "LicenseRef-Public-Domain",
}
# Licence URLs (Bundle-License, pom.xml <url>) that name exactly one licence; scheme and "www." dropped.
_KNOWN_URLS = {
    "apache.org/licenses/license-2.0": "Apache-2.0",
    "apache.org/licenses/license-2.0.txt": "Apache-2.0",
    "apache.org/licenses/license-2.0.html": "Apache-2.0",
    "opensource.org/licenses/apache-2.0": "Apache-2.0",
    "opensource.org/licenses/mit": "MIT",
    "opensource.org/licenses/mit-license.php": "MIT",
    "opensource.org/licenses/bsd-license.php": "BSD-2-Clause",
    "opensource.org/licenses/bsd-3-clause": "BSD-3-Clause",
    "eclipse.org/legal/epl-v10.html": "EPL-1.0",
    "eclipse.org/legal/epl-2.0": "EPL-2.0",
    "eclipse.org/legal/epl-v20.html": "EPL-2.0",
    "mozilla.org/mpl/2.0": "MPL-2.0",
    "gnu.org/licenses/lgpl-2.1.html": "LGPL-2.1-only",
    "gnu.org/licenses/old-licenses/lgpl-2.1.html": "LGPL-2.1-only",
    "gnu.org/licenses/gpl-2.0.html": "GPL-2.0-only",
    "gnu.org/licenses/old-licenses/gpl-2.0.html": "GPL-2.0-only",
    "gnu.org/licenses/gpl-3.0.html": "GPL-3.0-only",
    "gnu.org/licenses/lgpl-3.0.html": "LGPL-3.0-only",
}
# One token of an expression, as Debian copyright files and rpm headers spell it.
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
    "apache-2": "Apache-2.0",
    "expat": "MIT",
}
_URL = re.compile(r"^https?://(?:www\.)?(\S+?)/?$", re.IGNORECASE)
_CLASSIFIER = re.compile(r"^license\s*::\s*(?:osi approved\s*::\s*)?(.+)$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-:]*")
_TOKEN = re.compile(r"\(|\)|\s+(?:and|or|with)\s+|[^\s()]+", re.IGNORECASE)


@functools.cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # noqa: PLC0415 - 50 ms to build; only when licenses are read

    return get_spdx_licensing()


def _unwrapped(raw: str) -> str:
    """``raw`` stripped, without a trove classifier's ``License :: OSI Approved ::`` prefix."""
    text = raw.strip()
    classifier = _CLASSIFIER.match(text)
    return classifier.group(1).strip() if classifier else text


def _known(text: str) -> str | None:
    """What a whole licence name or URL denotes, when it denotes exactly one licence."""
    url = _URL.match(text)
    if url:
        return _KNOWN_URLS.get(url.group(1).lower())
    lowered = _SPACES.sub(" ", text.lower())
    for candidate in (lowered, lowered.removeprefix("the ")):
        if candidate in _KNOWN_NAMES:
            return _KNOWN_NAMES[candidate]
    return None


def _with_aliases(text: str) -> str | None:
    """``text`` with Debian/rpm short names replaced token by token; None if a token cannot be an id."""
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
            if not _ID.fullmatch(alias):
                return None
            parts.append(alias)
    return " ".join(parts).replace("( ", "(").replace(" )", ")")


def _library_data(name: str) -> bytes:
    """A data file of license-expression, found without importing the library or ``importlib.resources``.

    ``importlib.resources.files("license_expression")`` imports both: ~25 ms on every cold SBOM of
    a Debian image, and on every warm one (the CycloneDX writer checks keys), for one path.
    """
    from importlib.util import find_spec  # noqa: PLC0415

    spec = find_spec("license_expression")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("license_expression is not installed", name="license_expression")
    return (Path(next(iter(spec.submodule_search_locations))) / "data" / name).read_bytes()


@functools.cache
def _spdx_keys() -> tuple[dict[str, str], dict[str, str]]:
    """lower-cased SPDX key (or former key) → canonical key, for licences and for exceptions.

    Read from license-expression's own index, so the fast path below knows exactly the keys the
    library knows; loading it costs ~4 ms, building the library's parser ~30 ms more.
    """
    data = _library_data("scancode-licensedb-index.json")
    licences: dict[str, str] = {}
    exceptions: dict[str, str] = {}
    for key, others, is_exception in _index_entries(data):
        if not key or key.startswith("LicenseRef-"):
            continue
        table = exceptions if is_exception else licences
        for alias in (key, *others):
            table.setdefault(alias.lower(), key)
    return licences, exceptions


# One entry of the index as license-expression writes it (json.dump, indent 2): the three fields we
# read, in this order. Reading them with this is 1.2 ms; json.loads of the whole 950 KB index, 4 ms.
_INDEX_ENTRY = re.compile(
    rb'"spdx_license_key": "([^"\\]*)",\s*"other_spdx_license_keys": \[([^\]\\]*)\],\s*"is_exception": (true|false)'
)
_QUOTED = re.compile(rb'"([^"\\]*)"')


def _index_entries(data: bytes) -> list[tuple[str, tuple[str, ...], bool]]:
    """(SPDX key, other SPDX keys, is an exception) of every entry of license-expression's index
    that has an SPDX key.

    Read with ``_INDEX_ENTRY`` when it accounts for every entry (those without an SPDX key are
    ``null``); with ``json`` when it does not (another layout of the file, an escape in a key)."""
    found = [
        (key.decode(), tuple(q.decode() for q in _QUOTED.findall(others)), flag == b"true")
        for key, others, flag in _INDEX_ENTRY.findall(data)
    ]
    if len(found) + data.count(b'"spdx_license_key": null') == data.count(b'"license_key":'):
        return found
    import json  # noqa: PLC0415 -- the layout changed: the slower, certain way

    entries: list[tuple[str, tuple[str, ...], bool]] = []
    for entry in json.loads(data):
        if (key := entry.get("spdx_license_key")) is not None:
            others = tuple(entry.get("other_spdx_license_keys") or ())
            entries.append((key, others, bool(entry.get("is_exception"))))
    return entries


@functools.cache
def _spaced_keys() -> tuple[str, ...]:
    licences, exceptions = _spdx_keys()
    return tuple(key for key in (*licences, *exceptions) if " " in key)


_SYNTAX = frozenset({"(", ")", "and", "or", "with"})  # the library reads its operators in any case


class _NotSimple(Exception):  # noqa: N818 -- control flow inside _simple_expression only
    """The candidate needs license-expression's own parser."""


def _simple_expression(candidate: str) -> tuple[bool, str | None]:
    """(decided, license-expression's normalised form of ``candidate`` or None), from the key index
    alone. Not decided when the library's own parser must judge (a malformed expression); decided
    as None for a well-formed one naming a key SPDX does not know (Debian's ``BSD-variant``).

    Mirrors its rendering: ids in canonical case, AND binding tighter than OR, a run of one operator
    kept as one level, every nested operation in parentheses, redundant outer parentheses dropped.
    """
    licences, exceptions = _spdx_keys()
    lowered = candidate.lower()
    if any(key in lowered for key in _spaced_keys()):
        return False, None  # a former key spelled with a space ("gpl 2.0"): the library's tokenizer knows it
    tokens = candidate.replace("(", " ( ").replace(")", " ) ").split()
    if any(w not in licences and w not in _SYNTAX and w not in exceptions for w in map(str.lower, tokens)):
        # a word no SPDX key spells, wherever it stands (trove names such as "Historical Permission
        # Notice and Disclaimer (HPND)"): the library refuses the whole expression, and building
        # its parser to hear so costs ~20 ms
        return True, None
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise _NotSimple
        position += 1
        return tokens[position - 1]

    def operation(operator: str, operand: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
        parts = [operand()]
        while peek() == operator:
            take()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return f" {operator} ".join(f"({text})" if nested else text for text, nested in parts), True

    def factor() -> tuple[str, bool]:  # (rendered text, is an AND/OR operation)
        token = take()
        if token == "(":  # noqa: S105 -- a parenthesis, not a secret
            inner = operation("OR", term)
            if take() != ")":
                raise _NotSimple
            return inner
        if token in {")", "AND", "OR", "WITH"}:
            raise _NotSimple
        licence = licences.get(token.lower())
        unknown.append(licence is None)
        if peek() == "WITH":
            take()
            exception_token = take()
            if exception_token in {"(", ")", "AND", "OR", "WITH"}:
                raise _NotSimple
            exception = exceptions.get(exception_token.lower())
            unknown.append(exception is None)
            return f"{licence} WITH {exception}", False
        return str(licence), False

    def words() -> tuple[str, bool]:
        rendered = factor()
        while peek() not in {None, "AND", "OR", "(", ")"}:  # Debian's "GPL-2+ with Autoconf exception"
            take()
            unknown.append(True)  # words no SPDX key spells: the library refuses the whole expression
        return rendered

    def term() -> tuple[str, bool]:
        return operation("AND", words)

    unknown: list[bool] = []
    try:
        text, _ = operation("OR", term)
    except _NotSimple:
        return False, None
    if position != len(tokens):
        return False, None
    return True, (None if any(unknown) else text)


@functools.lru_cache(maxsize=4096)
def spdx_expression(raw: str) -> str | None:
    """A valid SPDX expression for ``raw`` when it is unambiguous, else None."""
    text = _unwrapped(raw)
    if not text:
        return None
    candidate = _known(text)
    if candidate is None and _URL.match(text) is None:
        candidate = _with_aliases(text)
    if candidate is None:
        return None
    decided, simple = _simple_expression(candidate)
    if decided:
        return simple
    try:
        info = _licensing().validate(candidate)
    except (ValueError, AttributeError, TypeError):  # license-expression's ExpressionError is a ValueError
        return None
    if info.errors or info.normalized_expression is None:
        return None
    return str(info.normalized_expression)


@functools.lru_cache(maxsize=4096)
def to_spdx(raw: str) -> str:
    """The SPDX expression for ``raw`` when it is unambiguous, else ``raw`` as written (stripped).

    A few names have no SPDX id but one meaning (``public domain``): they become a ``LicenseRef-``
    that ``spdx_expression`` does not accept, so SBOM writers still declare its text."""
    text = _unwrapped(raw)
    return spdx_expression(text) or _known(text) or text
