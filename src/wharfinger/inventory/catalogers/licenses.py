"""License strings as SPDX identifiers or expressions where that can be done without guessing.

Package metadata carries licenses in every shape: SPDX ids in odd case (``mit``), SPDX expressions,
well-known long names (``The Apache Software License, Version 2.0``), licence URLs, trove classifiers
(``License :: OSI Approved :: MIT License``). ``to_spdx`` maps what is unambiguous and returns
anything else unchanged, so nothing a human wrote is lost.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["to_spdx"]

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
_URL = re.compile(r"^https?://(?:www\.)?(\S+?)/?$", re.IGNORECASE)
_CLASSIFIER = re.compile(r"^license\s*::\s*(?:osi approved\s*::\s*)?(.+)$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


@functools.cache
def _licensing() -> Any:
    from license_expression import get_spdx_licensing  # noqa: PLC0415 - 50 ms to build; only when licenses are read

    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def to_spdx(raw: str) -> str:
    """The SPDX id or expression for ``raw`` when it is unambiguous, else ``raw`` stripped."""
    text = raw.strip()
    if not text:
        return text
    classifier = _CLASSIFIER.match(text)
    if classifier:
        text = classifier.group(1).strip()
    url = _URL.match(text)
    if url:
        return _KNOWN_URLS.get(url.group(1).lower(), text)
    lowered = _SPACES.sub(" ", text.lower())
    for candidate in (lowered, lowered.removeprefix("the ")):
        if candidate in _KNOWN_NAMES:
            return _KNOWN_NAMES[candidate]
    from boolean.boolean import ParseError  # noqa: PLC0415 - see _licensing
    from license_expression import ExpressionError  # noqa: PLC0415 - see _licensing

    try:
        expression = _licensing().parse(text, validate=True, strict=True)
    except (ExpressionError, ParseError, TypeError, ValueError):  # anything that is not SPDX stays as written
        return text
    return str(expression.render()) if expression is not None else text
