"""CycloneDX 1.6 JSON: Wharfinger's direct writer against cyclonedx-python-lib's model + JsonV1Dot6.

usage: python benchmarks/cyclonedx_render.py [--runs N] [--profile]

Inventories are real ``Package`` objects: the bundled demo image and, when the bench kit is built
(``$HARNESS_DIR/images``, default /var/tmp/harness), its deb-min, java-app, py-app and node-app
images, each catalogued once by ``wharfinger sbom -o json`` (cached under
~/.cache/wharfinger-bench/cyclonedx/). "1000" is every distinct package of those images, topped up
to 1,000 with copies at a version suffixed ``.N`` (purl rebuilt with packageurl).

Renderers, timed in-process (median and min of --runs, after one warm-up run, import excluded):

- ``direct``: ``wharfinger.sbom.cyclonedx.render_cyclonedx_json``, what ships;
- ``library``: the same content through the library's public API: ``Component`` with a
  ``PackageURL``, ``LicenseExpression`` or ``DisjunctiveLicense`` built from our SPDX check (no
  ``LicenseFactory`` re-parsing), ``Property``, the OS component, ``BomMetaData`` with the subject
  and the tool, ``Dependency`` objects built directly (``Bom.register_dependency`` scans the whole
  dependency set per call: O(n^2)), ``JsonV1Dot6(bom).output_as_string(indent=2)``;
- ``library tuned``: as ``library`` plus two uses of the library's internals, to find its floor: an
  outputter that skips the deprecated ``Bom.validate()`` (another O(n^2) scan) and each component's
  comparison tuple computed once instead of on every comparison and hash.

Every library output is checked: schema-valid (1.6) and read back by ``parse_cyclonedx_json`` to
the same packages as the direct output. ``--profile`` prints where the ``library`` renderer spends
its time on the 1,000-package inventory. The import cost of the library is measured in fresh
interpreters (median of 7).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cyclonedx.contrib.bom.utils import BomDependencyGraphFlatMerger, BomRefDiscriminator  # noqa: E402
from cyclonedx.model import Property  # noqa: E402
from cyclonedx.model.bom import Bom, BomMetaData  # noqa: E402
from cyclonedx.model.component import Component, ComponentType  # noqa: E402
from cyclonedx.model.dependency import Dependency  # noqa: E402
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression  # noqa: E402
from cyclonedx.output.json import JsonV1Dot6  # noqa: E402
from cyclonedx.schema import SchemaVersion  # noqa: E402
from cyclonedx.schema.schema import SchemaVersion1Dot6  # noqa: E402
from cyclonedx.validation.json import JsonStrictValidator  # noqa: E402
from packageurl import PackageURL  # noqa: E402

from wharfinger import __version__  # noqa: E402
from wharfinger.inventory.catalog import Inventory  # noqa: E402
from wharfinger.sbom import SbomSubject, parse_sbom  # noqa: E402
from wharfinger.sbom.cyclonedx import (  # noqa: E402
    _NAMESPACE,
    _properties,
    license_choice,
    parse_cyclonedx_json,
    render_cyclonedx_json,
)

HARNESS = Path(os.environ.get("HARNESS_DIR", "/var/tmp/harness"))  # noqa: S108 -- the bench kit's documented default
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wharfinger-bench" / "cyclonedx"
KIT_IMAGES = ("deb-min", "java-app", "py-app", "node-app")
SUBJECT = SbomSubject(name="oci:/tmp/layout:1.0", kind="image", digest="sha256:" + "ab" * 32, platform="linux/amd64")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
Renderer = Callable[[Inventory, SbomSubject], str]


# --- the library renderer ---------------------------------------------------------------------


def _library_component(package: Any, ref: str) -> Component:
    expression, names = license_choice(package)
    licenses: list[License] = (
        [LicenseExpression(expression)] if expression else [DisjunctiveLicense(name=name) for name in names]
    )
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref,
        name=package.name,
        version=package.version,
        purl=PackageURL.from_string(package.purl),
        cpe=package.cpes[0] if package.cpes else None,
        licenses=licenses,
        properties=[Property(name=k, value=v) for k, v in _properties(package)],
    )


class _JsonWithoutValidate(JsonV1Dot6):
    """JsonV1Dot6.generate without the deprecated ``Bom.validate()`` (library internals: tuned only)."""

    def generate(self, force_regeneration: bool = False) -> None:  # noqa: ARG002
        bom = self.get_bom()
        with BomRefDiscriminator.from_bom(bom), BomDependencyGraphFlatMerger(bom):
            document = json.loads(bom.as_json(view_=SchemaVersion1Dot6))
        document.update({"$schema": self._get_schema_uri(), "bomFormat": "CycloneDX", "specVersion": "1.6"})
        self._bom_json = document
        self.generated = True


def _freeze_comparison(component: Component) -> None:
    """Compute the component's comparison tuple once (library internals: tuned only)."""
    frozen = component._Component__comparable_tuple()  # noqa: SLF001
    component._Component__comparable_tuple = lambda: frozen  # noqa: SLF001


def render_library(
    inventory: Inventory, subject: SbomSubject, *, tuned: bool = False, phases: dict[str, list[float]] | None = None
) -> str:
    started = time.perf_counter()
    root = Component(
        type=ComponentType.CONTAINER if subject.kind == "image" else ComponentType.FILE,
        bom_ref="subject",
        name=subject.name,
        version=subject.digest,
        properties=[Property(name="wharfinger:platform", value=subject.platform)] if subject.platform else None,
    )
    components: list[Component] = []
    if inventory.distro is not None:
        distro = inventory.distro
        components.append(
            Component(
                type=ComponentType.OPERATING_SYSTEM,
                bom_ref=f"os:{distro.id}",
                name=distro.id,
                version=distro.version_id,
                description=distro.pretty_name,
            )
        )
    seen: set[str] = set()
    for package in inventory.packages:
        ref, counter = package.purl, 1
        while ref in seen:
            counter += 1
            ref = f"{package.purl}#{counter}"
        seen.add(ref)
        components.append(_library_component(package, ref))
    if tuned:
        for component in components:
            _freeze_comparison(component)
    built = time.perf_counter()
    content = hashlib.sha256(
        json.dumps([subject.name, subject.digest, NOW.isoformat(), [p.purl for p in inventory.packages]]).encode()
    ).hexdigest()
    metadata = BomMetaData(component=root, timestamp=NOW)
    metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="wharfinger", version=__version__))
    dependencies = [
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components]),
        *(Dependency(ref=c.bom_ref) for c in components),
    ]
    bom = Bom(
        serial_number=uuid.uuid5(_NAMESPACE, content),
        metadata=metadata,
        components=components,
        dependencies=dependencies,
    )
    assembled = time.perf_counter()
    outputter = _JsonWithoutValidate(bom) if tuned else JsonV1Dot6(bom)
    text = outputter.output_as_string(indent=2) + "\n"
    if phases is not None:
        done = time.perf_counter()
        for name, seconds in (
            ("components", built - started),
            ("Bom()", assembled - built),
            ("output", done - assembled),
        ):
            phases.setdefault(name, []).append(seconds)
    return text


RENDERERS: dict[str, Renderer] = {
    "direct": lambda inventory, subject: render_cyclonedx_json(inventory, subject, now=NOW),
    "library": render_library,
    "library tuned": lambda inventory, subject: render_library(inventory, subject, tuned=True),
}


# --- inputs -------------------------------------------------------------------------------------


def _catalogued(name: str, source: str) -> Inventory:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.json"
    if not path.is_file():
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WHARFINGER_CACHE_DIR": str(CACHE / "wharfinger")}
        subprocess.run([sys.executable, "-m", "wharfinger", "sbom", source, "-o", f"json={path}"], check=True, env=env)
    return parse_sbom(path.read_bytes())


def inventories() -> dict[str, Inventory]:
    found = {"demo": _catalogued("demo", f"oci:{ROOT / 'src/wharfinger/demo/image'}:1.0")}
    for image in KIT_IMAGES:
        layout = HARNESS / "images" / image
        if (layout / "index.json").is_file():
            found[image] = _catalogued(image, f"oci:{layout}:latest")
    distinct = {p.purl: p for inventory in found.values() for p in inventory.packages}
    pool = list(distinct.values())
    packages = list(pool)
    copy = 0
    while len(packages) < 1000:
        copy += 1
        for package in pool[: 1000 - len(packages)]:
            version = f"{package.version}.{copy}"
            purl = PackageURL.from_string(package.purl)._replace(version=version).to_string()
            packages.append(dataclasses.replace(package, version=version, purl=purl))
    found["1000"] = Inventory(distro=found[next(reversed(found))].distro, packages=tuple(packages))
    return found


# --- measuring ----------------------------------------------------------------------------------


def timed(render: Renderer, inventory: Inventory, runs: int) -> tuple[float, float]:
    render(inventory, SUBJECT)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        render(inventory, SUBJECT)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), min(walls)


def check(inventory: Inventory, direct: str, library: str) -> None:
    """The library's output is valid 1.6 and carries what ours carries (as our reader sees it)."""
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(library) is None
    ours = parse_cyclonedx_json(json.loads(direct))
    theirs = parse_cyclonedx_json(json.loads(library))
    key = lambda p: (p.purl, p.locations, p.source_name, p.layer_digest, sorted(p.cpes))  # noqa: E731
    assert sorted(map(key, ours.packages)) == sorted(map(key, theirs.packages))
    assert ours.distro == theirs.distro
    assert (ours.distro is None) == (inventory.distro is None)


def import_cost() -> tuple[float, float]:
    """(ms to import wharfinger.sbom.cyclonedx, ms to import the library's model and outputter) in a
    fresh interpreter that has already imported the inventory and SBOM core."""
    probe = (
        "import time, json, uuid, hashlib\n"
        "import wharfinger.inventory.catalog, wharfinger.sbom\n"
        "t = time.perf_counter(); import wharfinger.sbom.cyclonedx; a = time.perf_counter() - t\n"
        "t = time.perf_counter()\n"
        "import cyclonedx.model.bom, cyclonedx.model.component, cyclonedx.model.license, cyclonedx.output.json\n"
        "import packageurl\n"
        "print(a * 1000, (time.perf_counter() - t) * 1000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    samples = [
        tuple(map(float, subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                        check=True).stdout.split()))
        for _ in range(7)
    ]  # fmt: skip
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    found = inventories()
    ours_ms, library_ms = import_cost()
    print(f"import: wharfinger.sbom.cyclonedx {ours_ms:.1f} ms, cyclonedx-python-lib + packageurl {library_ms:.1f} ms")
    print(f"\nrender in-process, ms (median / min of {args.runs}, import excluded)\n")
    print("| inventory | packages | " + " | ".join(RENDERERS) + " | library / direct |")
    print("|---" * (len(RENDERERS) + 3) + "|")
    for name, inventory in found.items():
        check(inventory, RENDERERS["direct"](inventory, SUBJECT), RENDERERS["library"](inventory, SUBJECT))
        results = {label: timed(render, inventory, args.runs) for label, render in RENDERERS.items()}
        cells = " | ".join(f"{median * 1000:.1f} / {low * 1000:.1f}" for median, low in results.values())
        ratio = results["library"][0] / results["direct"][0]
        print(f"| {name} | {len(inventory.packages)} | {cells} | {ratio:.0f}x |")
    phases: dict[str, list[float]] = {}
    for _ in range(max(3, args.runs // 3)):
        render_library(found["1000"], SUBJECT, phases=phases)
    print("\nlibrary, 1000 packages, by phase (median ms): " + ", ".join(
        f"{name} {statistics.median(values) * 1000:.0f}" for name, values in phases.items()
    ))  # fmt: skip
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(render_library, found["1000"], SUBJECT)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
