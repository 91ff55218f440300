"""Language runtimes installed outside a package manager: Node.js, CPython, OpenJDK/JDK.

Official ``node``, ``python`` and ``eclipse-temurin`` images unpack upstream builds into
``/usr/local`` or ``/opt``; no package database lists them, yet their CVEs matter most. Each is
recognised only from evidence that names its exact version:

* Node.js: the ``node.js/vX.Y.Z`` string compiled into ``bin/node``;
* CPython: the ``PY_VERSION`` constant (``3.11.2\\x00``) in ``bin/python3.X`` or
  ``libpython3.X.so*``, looked for only under the major.minor the file name announces;
* Java: the ``release`` file at the root of a JDK/JRE (``JAVA_VERSION="17.0.9"``, ``IMPLEMENTOR``).

Each is a ``PackageType.BINARY`` package with a ``pkg:generic`` purl and the NVD CPE, and is
skipped whenever an OS package owns the file (the distro's ``nodejs``/``python3``/``openjdk``
package is then the better record), whatever ``CatalogContext.skip_os_owned`` says.
"""

from __future__ import annotations

import re
from collections import Counter

from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers._documents import Parsed, decode_text
from wharfinger.inventory.catalogers.filecataloger import (
    BinaryData,
    FileCataloger,
    FileRule,
    is_os_owned,
    mapped_file,
)
from wharfinger.inventory.catalogers.identifiers import cpe23, language_package
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["RUNTIMES", "parse_java_release", "parse_node_binary", "parse_python_binary"]

_MAX_RUNTIME_BYTES = 512 * 1024 * 1024  # bytes; node is ~100 MB
_NODE_VERSION = re.compile(rb"node\.js/v(\d+\.\d+\.\d+)")
_PYTHON_FILE = re.compile(r"(?:^|/)(?:python|libpython)(3\.\d+)[^/]*$")
_RELEASE_FIELD = re.compile(r'^([A-Z_]+)="?(.*?)"?\s*$', re.MULTILINE)


def _runtime(name: str, version: str, location: Location, *, cpe: str, metadata: dict[str, str]) -> Package:
    return language_package(
        name=name,
        version=version,
        type_=PackageType.BINARY,
        location=location,
        purl=f"pkg:generic/{name}@{version}",
        cpes=(cpe,),
        metadata=metadata,
    )


def parse_node_binary(data: BinaryData, location: Location) -> Parsed:
    match = _NODE_VERSION.search(data)
    if match is None:
        return Parsed()
    version = match.group(1).decode()
    return Parsed(
        packages=(
            _runtime(
                "node", version, location, cpe=cpe23("nodejs", "node.js", version), metadata={"runtime": "nodejs"}
            ),
        )
    )


def parse_python_binary(data: BinaryData, location: Location) -> Parsed:
    announced = _PYTHON_FILE.search(location.path)
    if announced is None:
        return Parsed()
    # PY_VERSION is a NUL-terminated constant; the linker may merge it into the tail of a longer
    # string ("…/Python-3.11.7"), so only its end is certain. The most frequent candidate wins.
    needle = re.compile(rb"(?<![0-9.])(" + re.escape(announced.group(1).encode()) + rb"\.\d+(?:(?:a|b|rc)\d+)?\+?)\x00")
    candidates = Counter(match.group(1) for match in needle.finditer(data))
    if not candidates:
        return Parsed()
    version = candidates.most_common(1)[0][0].decode()
    return Parsed(
        packages=(
            _runtime(
                "python", version, location, cpe=cpe23("python", "python", version), metadata={"runtime": "cpython"}
            ),
        )
    )


def parse_java_release(data: bytes, location: Location) -> Parsed:
    fields = dict(_RELEASE_FIELD.findall(decode_text(data, location)))
    version = fields.get("JAVA_VERSION", "").strip()
    if not version:
        return Parsed()  # a file named "release" that is not a JDK's
    implementor = fields.get("IMPLEMENTOR", "")
    runtime_name = fields.get("JAVA_RUNTIME_VERSION", "")
    # Oracle's commercial JDK says BUILD_TYPE="commercial"; Oracle's OpenJDK builds and every other
    # vendor's (Temurin, Debian, Corretto…) are OpenJDK.
    is_oracle_jdk = fields.get("BUILD_TYPE") == "commercial" and "openjdk" not in (location.path + runtime_name).lower()
    product = "jdk" if is_oracle_jdk else "openjdk"
    metadata = {"runtime": "java", "implementor": implementor} if implementor else {"runtime": "java"}
    return Parsed(
        packages=(_runtime(product, version, location, cpe=cpe23("oracle", product, version), metadata=metadata),)
    )


def _node_in_fs(fs: ImageFS, path: str, location: Location, context: CatalogContext) -> Parsed:
    if is_os_owned(fs, path, context):
        return Parsed()
    with mapped_file(fs, path, _MAX_RUNTIME_BYTES) as data:
        return parse_node_binary(data, location)


def _python_in_fs(fs: ImageFS, path: str, location: Location, context: CatalogContext) -> Parsed:
    if is_os_owned(fs, path, context) or path.endswith((".py", ".pyc", "-config")):
        return Parsed()
    with mapped_file(fs, path, _MAX_RUNTIME_BYTES) as data:
        return parse_python_binary(data, location)


def _java_release_in_fs(fs: ImageFS, path: str, location: Location, context: CatalogContext) -> Parsed:
    if is_os_owned(fs, path, context):
        return Parsed()
    return parse_java_release(fs.read_bytes(path, 64 * 1024), location)


RUNTIMES = FileCataloger(
    name="runtimes",
    version="1",
    rules=(
        FileRule(pattern="**/bin/node", parse_in_fs=_node_in_fs),
        FileRule(pattern="**/bin/nodejs", parse_in_fs=_node_in_fs),
        FileRule(pattern="**/bin/python3.*", parse_in_fs=_python_in_fs),
        FileRule(pattern="**/libpython3.*.so*", parse_in_fs=_python_in_fs),
        FileRule(pattern="**/release", parse_in_fs=_java_release_in_fs),
    ),
)
