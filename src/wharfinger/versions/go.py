"""Go module versions: semantic versions with a ``v`` prefix (``v1.2.3``), pseudo-versions
(``v0.0.0-20210101120000-abcdef123456``, which are ordinary prereleases) and ``+incompatible``
(build metadata, ignored in order). OSV's Go ecosystem writes versions without the ``v``; both
spellings are accepted. The toolchain's ``stdlib`` versions (``go1.21.3``, ``go1.22rc1``) are
read as ``1.21.3`` and ``1.22.0-rc.1``, as the Go vulnerability database records them.
"""

from __future__ import annotations

import functools
import re

from wharfinger.errors import VersionError
from wharfinger.versions import semver
from wharfinger.versions.semver import SemVer

__all__ = ["compare", "parse"]

_TOOLCHAIN = re.compile(r"go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(beta|rc)(\d+))?", re.ASCII)


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> SemVer:
    toolchain = _TOOLCHAIN.fullmatch(text)
    if toolchain:
        major, minor, patch, kind, number = toolchain.groups()
        pre = f"-{kind}.{number}" if kind else ""
        return semver.parse(f"{major}.{minor or 0}.{patch or 0}{pre}")
    body = text.removeprefix("v")
    try:
        return semver.parse(body)
    except VersionError:
        raise VersionError(
            f"invalid Go module version {text!r}",
            hint="Go versions look like v1.2.3, v0.0.0-20210101120000-abcdef123456 or v2.0.0+incompatible",
        ) from None


def compare(a: str, b: str) -> int:
    return parse(a).compare(parse(b))
