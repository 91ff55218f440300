"""Which operating system an image is: ``os-release`` first, then the older release files.

``detect_distro(fs)`` reads ``/etc/os-release`` (or ``/usr/lib/os-release``, its fallback as in
systemd's spec); images without it are recognised from ``/etc/lsb-release``,
``/etc/alpine-release``, ``/etc/redhat-release`` and friends, and ``/etc/debian_version``.
Distroless images carry Debian's ``os-release`` with ``PRETTY_NAME="Distroless"``: they are
Debian for matching, and ``pretty_name`` keeps the distinction.
"""

from __future__ import annotations

import re
import shlex

from wharfinger.errors import WharfingerError
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Distro

__all__ = ["DISTRO_PATTERNS", "detect_distro", "parse_os_release", "purl_namespace"]

DISTRO_PATTERNS: tuple[str, ...] = (
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/lsb-release",
    "/etc/*-release",
    "/etc/*_version",
    "/etc/system-release",
)

_MAX_RELEASE_FILE_BYTES = 64 * 1024  # bytes: release files are a few lines

# "<name> release <version> (<codename>)", as /etc/redhat-release and friends write it
_RELEASE_LINE = re.compile(
    r"^(?P<name>.+?)\s+release\s+(?P<version>[\d.]+)(?:\s*\((?P<codename>[^)]*)\))?", re.IGNORECASE
)
_RELEASE_NAMES: tuple[tuple[str, str], ...] = (
    ("red hat enterprise linux", "rhel"),
    ("centos stream", "centos"),
    ("centos", "centos"),
    ("rocky", "rocky"),
    ("almalinux", "almalinux"),
    ("oracle linux", "ol"),
    ("amazon linux", "amzn"),
    ("fedora", "fedora"),
    ("cbl-mariner", "mariner"),
    ("common base linux mariner", "mariner"),
    ("microsoft azure linux", "azurelinux"),
)

# os-release IDs → purl namespaces where the ecosystem settled on another name (as syft writes them)
_PURL_NAMESPACES = {"rhel": "redhat", "ol": "oracle", "amzn": "amazon", "sles": "suse", "sle_hpc": "suse"}


def purl_namespace(distro: Distro | None, default: str) -> str:
    """The purl namespace of OS packages: the distro id, normalised as syft does."""
    if distro is None:
        return default
    return _PURL_NAMESPACES.get(distro.id, distro.id)


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines with shell quoting, as os-release(5) specifies."""
    fields: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            parts = shlex.split(value, posix=True)
        except ValueError:
            parts = [value.strip("\"'")]
        fields[key.strip()] = " ".join(parts)
    return fields


def _read(fs: ImageFS, path: str) -> str | None:
    try:
        if not fs.is_file(path):
            return None
        return fs.read_bytes(path, _MAX_RELEASE_FILE_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError, WharfingerError):  # too large, a symlink loop: as good as absent
        return None


def _from_os_release(fields: dict[str, str]) -> Distro | None:
    distro_id = fields.get("ID", "").lower()
    if not distro_id:
        return None
    version_id = fields.get("VERSION_ID") or None
    codename = fields.get("VERSION_CODENAME") or fields.get("UBUNTU_CODENAME") or None
    if codename is None and (m := re.search(r"\(([A-Za-z]+)\)", fields.get("VERSION", ""))):
        codename = m.group(1)
    return Distro(
        id=distro_id,
        version_id=version_id,
        codename=codename,
        pretty_name=fields.get("PRETTY_NAME") or None,
        id_like=tuple(fields.get("ID_LIKE", "").lower().split()),
    )


def _from_release_line(text: str) -> Distro | None:
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = _RELEASE_LINE.match(line)
    if m is None:
        return None
    lowered = m.group("name").lower()
    for prefix, distro_id in _RELEASE_NAMES:
        if lowered.startswith(prefix):
            return Distro(
                id=distro_id,
                version_id=m.group("version"),
                codename=m.group("codename") or None,
                pretty_name=line,
            )
    return None


def detect_distro(fs: ImageFS) -> Distro | None:
    """The image's distro, or None when nothing identifies one (scratch, distroless static)."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read(fs, path)
        if text is not None and (distro := _from_os_release(parse_os_release(text))) is not None:
            return distro
    if (text := _read(fs, "/etc/lsb-release")) is not None:
        fields = parse_os_release(text)
        if fields.get("DISTRIB_ID"):
            return Distro(
                id=fields["DISTRIB_ID"].lower(),
                version_id=fields.get("DISTRIB_RELEASE") or None,
                codename=fields.get("DISTRIB_CODENAME") or None,
                pretty_name=fields.get("DISTRIB_DESCRIPTION") or None,
            )
    if (text := _read(fs, "/etc/alpine-release")) is not None and text.strip():
        return Distro(id="alpine", version_id=text.strip())
    for path in (
        "/etc/mariner-release",
        "/etc/azurelinux-release",
        "/etc/oracle-release",
        "/etc/rocky-release",
        "/etc/almalinux-release",
        "/etc/centos-release",
        "/etc/redhat-release",
        "/etc/system-release",
    ):
        if (text := _read(fs, path)) is not None and (distro := _from_release_line(text)) is not None:
            return distro
    if (text := _read(fs, "/etc/SuSE-release")) is not None:
        suse_version = re.search(r"VERSION\s*=\s*(\S+)", text)
        return Distro(
            id="sles",
            version_id=suse_version.group(1) if suse_version else None,
            pretty_name=text.splitlines()[0] if text.strip() else None,
        )
    if (text := _read(fs, "/etc/debian_version")) is not None and text.strip():
        version = text.strip()
        # "12.4" → "12"; testing/unstable write "trixie/sid"
        major = version.split(".")[0] if version[:1].isdigit() else None
        return Distro(id="debian", version_id=major, codename=None if major else version.split("/")[0])
    return None
