"""What ``wharfinger sbom`` finds in the bench kit's images, against syft and trivy, per source.

usage: python benchmarks/accuracy.py [--kit DIR] [--harness DIR] [--registry HOST:PORT] [--no-tls] [IMAGE ...]

The kit (``shared/bench-images``, README there) must be built (``setup.sh``): its images as OCI
layouts, docker archives and in the plain registry, and the peers' purl lists in
``$HARNESS_DIR/results/<image>.<tool>.purls.txt``. Those are read in place, never copied.

For every image and source (registry, ``oci:``, ``docker-archive:``, and ``tls``: the kit's HTTPS +
basic-auth registry, settings from its ``registry.sh env``; the arm64 entry of ``deb-min-multi`` as
``deb-min-multi@arm64``) this runs ``wharfinger sbom … -o cyclonedx-json`` as a fresh process with an
empty cache, and the kit's ``compare_inventory.py`` against each peer. Through ``tls`` we pass the
kit's CA with ``--ca-bundle`` and the credentials as ``WHARFINGER_REGISTRY_USERNAME``/``_PASSWORD``
scoped by ``WHARFINGER_REGISTRY_HOST`` (docs/registries.md); the peers are run there too, with
their own options (syft: ``SYFT_REGISTRY_AUTH_*``, ``SYFT_REGISTRY_CA_CERT``; trivy:
``TRIVY_USERNAME``/``PASSWORD``, ``SSL_CERT_FILE``), and that row compares us with *their* TLS
run; each peer's TLS run is also diffed against its plain-registry list. Each
package a peer reports and we do not is then looked up in our *syft view* of the image
(``inventory_of_source(skip_os_owned=False)``: language packages inside OS packages too): found
there, it is a file an OS package installed, which we report as that OS package (trivy's rule);
not found, it is a miss, and the script exits 1. The output is the markdown of
``docs/accuracy.md``'s tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
IMAGES = (
    "deb-min",
    "deb-old",
    "py-app",
    "node-app",
    "go-bin",
    "java-app",
    "deb-min-multi",
    "deb-min-multi@arm64",
    "big",
)
PEERS = ("syft", "trivy")


@dataclass
class Run:
    source: str
    seconds: float
    ours: dict[str, int]  # purl type -> distinct names
    compared: dict[str, dict[str, object]]  # peer -> compare_inventory.py --json
    # peer -> its own run through this source diffed against its plain-registry list (tls only)
    peer_vs_plain: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    label: str
    arguments: list[str]  # for `wharfinger sbom`
    env: dict[str, str] = field(default_factory=dict)  # extra environment (credentials)
    peers_run_here: bool = False  # run syft and trivy on this source too (else their kit lists)


@dataclass
class ImageReport:
    image: str
    runs: list[Run] = field(default_factory=list)
    syft_view: set[str] = field(default_factory=set)  # normalised purls (name@version)
    peers: dict[str, dict[str, int]] = field(default_factory=dict)


def kit_registry_env(kit: Path) -> dict[str, str]:
    """The kit's registry settings (``registry.sh env``: REGISTRY_TLS, _USER, _PASSWORD, _CA …)."""
    done = subprocess.run(["/bin/bash", str(kit / "registry.sh"), "env"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kit}/registry.sh env failed:\n{done.stderr[-2000:]}")
    found = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            found[key.strip()] = value.strip().strip("'\"")
    return found


def sources(image: str, harness: Path, registry: str, tls: dict[str, str] | None) -> list[Source]:
    """Each way the kit offers ``image``."""
    name, _, arch = image.partition("@")
    platform = ["--platform", f"linux/{arch}"] if arch else []
    found = [
        Source("registry", [f"{registry}/harness/{name}:latest", "--insecure", registry, *platform]),
        Source("oci", [f"oci:{harness}/images/{name}:latest", *platform]),
    ]
    archive = harness / "images" / f"{name}.docker.tar"
    if archive.is_file() and not arch:
        found.append(Source("archive", [f"docker-archive:{archive}"]))
    if tls is not None:
        host = tls["REGISTRY_TLS"]
        credentials = {
            "WHARFINGER_REGISTRY_HOST": host,
            "WHARFINGER_REGISTRY_USERNAME": tls["REGISTRY_TLS_USER"],
            "WHARFINGER_REGISTRY_PASSWORD": tls["REGISTRY_TLS_PASSWORD"],
        }
        arguments = [f"{host}/harness/{name}:latest", "--ca-bundle", tls["REGISTRY_TLS_CA"], *platform]
        found.append(Source("tls", arguments, credentials, peers_run_here=True))
    return found


def peer_bin(kit: Path, peer: str) -> str:
    return subprocess.run(
        ["/bin/bash", "-c", f"source {kit}/common.sh >/dev/null 2>&1; peer_bin {peer}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def run_peer_tls(kit: Path, peer: str, image: str, tls: dict[str, str], *, out: Path, scratch: Path) -> None:
    """``peer`` on ``image`` in the TLS + basic-auth registry, with its own TLS and auth options."""
    name, _, arch = image.partition("@")
    reference = f"{tls['REGISTRY_TLS']}/harness/{name}:latest"
    platform = ["--platform", f"linux/{arch}"] if arch else []
    binary = peer_bin(kit, peer)
    cache = scratch / f"{peer}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "TRIVY_NO_PROGRESS": "true"}
    if peer == "syft":
        env |= {
            "SYFT_CACHE_DIR": str(cache),
            "SYFT_REGISTRY_AUTH_AUTHORITY": tls["REGISTRY_TLS"],
            "SYFT_REGISTRY_AUTH_USERNAME": tls["REGISTRY_TLS_USER"],
            "SYFT_REGISTRY_AUTH_PASSWORD": tls["REGISTRY_TLS_PASSWORD"],
            "SYFT_REGISTRY_CA_CERT": tls["REGISTRY_TLS_CA"],
        }
        command = [binary, "scan", f"registry:{reference}", *platform, "-q", "-o", f"cyclonedx-json={out}"]
    else:
        # offline, as the kit runs it: an empty Java DB, no vulnerability DB (an SBOM needs none)
        subprocess.run([sys.executable, str(kit / "empty_javadb.py"), str(cache)], check=True)
        env |= {
            "TRIVY_USERNAME": tls["REGISTRY_TLS_USER"],
            "TRIVY_PASSWORD": tls["REGISTRY_TLS_PASSWORD"],
            "SSL_CERT_FILE": tls["REGISTRY_TLS_CA"],
        }
        command = [
            binary, "image", "--cache-dir", str(cache), "--skip-db-update", "--skip-java-db-update",
            "--offline-scan", "--skip-check-update", "--image-src", "remote", "--format", "cyclonedx",
            "-q", "-o", str(out), *platform, reference,
        ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        raise SystemExit(f"{peer} on {reference} failed:\n{done.stderr[-2000:]}")


def run_wharfinger(arguments: list[str], out: Path, scratch: Path, extra_env: dict[str, str]) -> float:
    env = {
        **os.environ,
        **extra_env,
        "PYTHONPATH": str(ROOT / "src"),
        "WHARFINGER_CACHE_DIR": str(scratch / "cache"),
    }
    command = [sys.executable, "-m", "wharfinger", "sbom", *arguments, "--no-cache", "-o", f"cyclonedx-json={out}"]
    start = dt.datetime.now(tz=dt.UTC)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wharfinger sbom {' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    return (dt.datetime.now(tz=dt.UTC) - start).total_seconds()


def compare(kit: Path, image: str, peer: str, ours: Path) -> dict[str, object]:
    """compare_inventory.py: ``peer`` is a peer name (its kit list) or a peer's SBOM file."""
    done = subprocess.run(
        [sys.executable, str(kit / "compare_inventory.py"), image, peer, str(ours), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare_inventory.py {image} {peer} failed:\n{done.stderr[-2000:]}")
    report: dict[str, object] = json.loads(done.stdout)
    return report


def syft_view(kit: Path, image: str, harness: Path, scratch: Path) -> set[str]:
    """Normalised purls of our inventory with OS-owned language packages kept (syft's rule)."""
    from wharfinger.inventory.sources import inventory_of_source
    from wharfinger.oci.settings import Settings
    from wharfinger.sbom import render_sbom

    sys.path.insert(0, str(kit))
    from sbom_purls import normalize, purls_of  # type: ignore[import-not-found]

    name, _, arch = image.partition("@")
    settings = Settings.from_env({"WHARFINGER_CACHE_DIR": str(scratch / "cache")})
    inventory, subject = inventory_of_source(
        f"oci:{harness}/images/{name}:latest",
        settings=settings,
        platform=f"linux/{arch}" if arch else None,
        use_cache=False,
        skip_os_owned=False,
    )
    document = json.loads(render_sbom(inventory, "cyclonedx-json", subject, now=dt.datetime.now(tz=dt.UTC)))
    return {normal for purl in purls_of(document) if (normal := normalize(purl))}


def peer_counts(harness: Path, image: str, peer: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    lines = (harness / "results" / f"{image}.{peer}.purls.txt").read_text().split()
    for key in {line.rpartition("@")[0] if "@" in line else line for line in lines}:
        kind = key[4:].split("/", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def by_type(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "—"


def report_image(kit: Path, harness: Path, registry: str, tls: dict[str, str] | None, image: str) -> ImageReport:
    report = ImageReport(image=image, peers={peer: peer_counts(harness, image, peer) for peer in PEERS})
    with tempfile.TemporaryDirectory(prefix="wharfinger-accuracy-") as tmp:
        scratch = Path(tmp)
        for source in sources(image, harness, registry, tls):
            out = scratch / f"{source.label}.cdx.json"
            seconds = run_wharfinger(source.arguments, out, scratch, source.env)
            baseline = dict.fromkeys(PEERS, "")
            vs_plain = {}
            if source.peers_run_here and tls is not None:
                for peer in PEERS:
                    baseline[peer] = str(scratch / f"{source.label}.{peer}.cdx.json")
                    run_peer_tls(kit, peer, image, tls, out=Path(baseline[peer]), scratch=scratch)
                    vs_plain[peer] = compare(kit, image, peer, Path(baseline[peer]))
            compared = {peer: compare(kit, image, baseline[peer] or peer, out) for peer in PEERS}
            ours = {kind: int(c["b"]) for kind, c in compared["syft"]["by_type"].items() if int(c["b"])}  # type: ignore[attr-defined]
            report.runs.append(
                Run(source=source.label, seconds=seconds, ours=ours, compared=compared, peer_vs_plain=vs_plain)
            )
        report.syft_view = syft_view(kit, image, harness, scratch)
    return report


def _key(entry: str) -> str:
    return entry.rpartition("@")[0] if "@" in entry else entry


def _in_view(entry: str, view: set[str]) -> bool:
    """``key@v1,v2`` (compare_inventory.py's spelling): every version is in ``view``."""
    key, _, versions = entry.rpartition("@") if "@" in entry else (entry, "", "")
    return all((f"{key}@{v}" if v else key) in view for v in versions.split(","))


def _name_and_version(entry: str) -> tuple[str, str, str]:
    """(type, last name segment, version): the same package under another namespace."""
    key, _, version = entry.rpartition("@") if "@" in entry else (entry, "", "")
    return key[4:].split("/", 1)[0], key.rsplit("/", 1)[-1], version


def render(report: ImageReport) -> tuple[list[str], int]:
    """Markdown lines for one image and the number of packages a peer has and we miss."""
    lines = [f"### {report.image}", ""]
    lines += [f"syft: {by_type(report.peers['syft'])} · trivy: {by_type(report.peers['trivy'])}", ""]
    lines += ["| source | wharfinger | vs syft: missing / extra / ver ≠ | vs trivy: missing / extra / ver ≠ | wall s |"]
    lines += ["|---|---|---|---|---|"]
    differences: dict[tuple[str, str], set[str]] = {}
    peer_notes: list[str] = []
    for run in report.runs:
        cells = []
        for peer in PEERS:
            c = run.compared[peer]
            missing, extra, mismatch = c["missing_in_b"], c["extra_in_b"], c["version_mismatch"]
            assert isinstance(missing, list)
            assert isinstance(extra, list)
            assert isinstance(mismatch, list)
            cells.append(f"{len(missing)} / {len(extra)} / {len(mismatch)}")
            ours_by_name = {_name_and_version(e): e for e in extra}
            for entry in missing:
                if _in_view(entry, report.syft_view):
                    why = "inside an OS package"
                elif _name_and_version(entry) in ours_by_name:
                    why = f"same name and version, other namespace (ours `{ours_by_name[_name_and_version(entry)]}`)"
                else:
                    why = "MISSED"
                differences.setdefault((f"{peer} only, {why}", entry), set()).add(run.source)
            for entry in extra:
                differences.setdefault((f"ours only, not in {peer}", entry), set()).add(run.source)
            for m in mismatch:
                text = f"{m['package']}: {peer} {','.join(m['a'])}, ours {','.join(m['b'])}"
                differences.setdefault((f"version differs from {peer}", text), set()).add(run.source)
        lines.append(f"| {run.source} | {by_type(run.ours)} | {cells[0]} | {cells[1]} | {run.seconds:.1f} |")
        for peer, c in run.peer_vs_plain.items():
            changed = [*c["missing_in_b"], *c["extra_in_b"], *(m["package"] for m in c["version_mismatch"])]  # type: ignore[attr-defined]
            shown = ", ".join(f"`{e}`" for e in changed[:10])
            peer_notes.append(
                f"- {peer} through {run.source}: "
                + (
                    f"{len(changed)} differ from its plain-registry list: {shown}"
                    if changed
                    else "same as its plain-registry list"
                )
            )
    all_sources = {run.source for run in report.runs}
    grouped: dict[str, list[str]] = {}
    for (kind, entry), where in sorted(differences.items()):
        suffix = "" if where == all_sources else f" ({', '.join(sorted(where))} only)"
        grouped.setdefault(kind, []).append(entry + suffix)
    if grouped or peer_notes:
        lines.append("")
    lines += peer_notes
    for kind, entries in grouped.items():
        shown = ", ".join(f"`{e}`" for e in entries[:40]) + (
            f" … {len(entries) - 40} more" if len(entries) > 40 else ""
        )
        lines.append(f"- {kind} ({len(entries)}): {shown}")
    missed = sum(len(v) for k, v in grouped.items() if k.endswith("MISSED"))
    return [*lines, ""], missed


def tool_versions(kit: Path) -> str:
    found = []
    for peer, flag in (("syft", "version"), ("trivy", "--version")):
        path = peer_bin(kit, peer)
        shown = subprocess.run([path, flag], capture_output=True, text=True, check=False).stdout if path else ""
        version = next(
            (ln.split()[-1] for ln in shown.splitlines() if ln.lower().startswith(("version", "  version"))), "?"
        )
        found.append(f"{peer} {version}")
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", default=list(IMAGES))
    parser.add_argument("--kit", type=Path, default=ROOT.parent / "shared" / "bench-images")
    parser.add_argument("--harness", type=Path, default=Path(os.environ.get("HARNESS_DIR", "/var/tmp/harness")))  # noqa: S108 - the kit's default
    parser.add_argument("--registry", default=os.environ.get("REGISTRY", "127.0.0.1:5000"))
    parser.add_argument("--no-tls", action="store_true", help="leave out the kit's TLS + basic-auth registry")
    args = parser.parse_args()
    if not (args.harness / "results" / "summary.md").is_file():
        raise SystemExit(f"no bench kit results under {args.harness}: run {args.kit}/setup.sh first")
    print(
        f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC · {tool_versions(args.kit)} · python {sys.version.split()[0]}"
    )
    print()
    tls = None if args.no_tls else kit_registry_env(args.kit)
    missed = 0
    for image in args.images:
        lines, image_missed = render(report_image(args.kit, args.harness, args.registry, tls, image))
        missed += image_missed
        print("\n".join(lines), flush=True)
    print(f"packages a peer reports that Wharfinger misses: {missed}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
