"""``wharfinger inspect SOURCE``: what an image is made of, and what refers to it.

Fast by construction: only the local-source modules are imported for local images (the
registry client only for a registry reference), and the table is plain text, not rich.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wharfinger.cli.options import CaBundle, Http2, InsecureHosts, registry_settings

if TYPE_CHECKING:
    from wharfinger.oci.manifest import Descriptor
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import ImageSource, ResolvedImage

__all__ = ["human_size", "inspect_report", "register", "render_inspect", "run_inspect"]

FORMATS = ("table", "json")


def register(app: typer.Typer) -> None:
    app.command("inspect", help="Show an image's manifest, platforms, config, layers and referrers.")(inspect_command)


def inspect_command(
    source: Annotated[
        str,
        typer.Argument(
            help="Image: a registry reference (alpine:3.20), oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], "
            "docker-archive:FILE[:NAME:TAG|@N]."
        ),
    ],
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", help="os/arch or os/arch/variant to pick from a multi-platform index (default: this host)."
        ),
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: table (default), json."),
    ] = None,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
) -> None:
    run_inspect(source, platform=platform, outputs=output, settings=registry_settings(insecure, ca_bundle, http2=http2))


def run_inspect(source_text: str, *, platform: str | None, outputs: list[str] | None, settings: Settings) -> None:
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.oci.platform import parse_platform
    from wharfinger.oci.sources import open_source, parse_source

    targets = parse_outputs(outputs, allowed=FORMATS, default="table")
    wanted = parse_platform(platform) if platform else None
    spec = parse_source(source_text)
    cache = None
    if spec.kind == "registry":
        from wharfinger.oci.cache import BlobCache

        cache = BlobCache.from_settings(settings)
    source = open_source(spec, settings=settings, cache=cache)
    try:
        image = source.resolve(wanted)
        report = inspect_report(source, image)
    finally:
        source.close()
    write_outputs(targets, lambda fmt: render_inspect(report, fmt))


def _descriptor(d: Descriptor) -> dict[str, Any]:
    return d.to_json()


def inspect_report(source: ImageSource, image: ResolvedImage) -> dict[str, Any]:
    """The inspect result as plain JSON-ready data (the ``-o json`` schema)."""
    config = image.config
    referrers: list[dict[str, Any]] = []
    subjects = dict.fromkeys([image.top.digest, image.digest])  # an index and its image can both be signed
    for subject in subjects:
        referrers.extend({**_descriptor(referrer), "subject": subject} for referrer in source.referrers(subject))
    return {
        "source": image.source,
        "reference": str(image.ref) if image.ref is not None else None,
        "top": _descriptor(image.top),
        "platforms": [str(p) for p in image.index.platforms()] if image.index is not None else [],
        "platform_manifests": [
            {"platform": str(d.platform), "digest": d.digest, "size": d.size, "mediaType": d.media_type}
            for d in (image.index.runnable() if image.index is not None else ())
        ],
        "platform": str(image.platform or config.platform),
        "manifest": {**_descriptor(image.manifest_descriptor), "annotations": dict(image.manifest.annotations)},
        "config": {
            "digest": image.config_descriptor.digest,
            "os": config.os,
            "architecture": config.architecture,
            "variant": config.variant,
            "created": config.created.isoformat() if isinstance(config.created, datetime) else None,
            "author": config.author,
            "user": config.user,
            "working_dir": config.working_dir,
            "entrypoint": list(config.entrypoint),
            "cmd": list(config.cmd),
            "env_count": len(config.env),
            "labels": dict(config.labels),
            "exposed_ports": list(config.exposed_ports),
            "history": config.history_count,
        },
        "layers": [_descriptor(layer) for layer in image.layers],
        "layers_total_bytes": sum(layer.size for layer in image.layers),
        "referrers": referrers,
    }


def render_inspect(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=False)
    return _table(report)


_KIB = 1024


def human_size(n: int) -> str:
    """Bytes for humans, 1024-based: ``983 B``, ``1.5 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < _KIB or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= _KIB
    return f"{n} B"  # unreachable: the loop returns at GiB


def _columns(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _table(r: dict[str, Any]) -> str:
    c = r["config"]
    lines = [f"Image      {r['source']}"]
    if r["reference"]:
        lines.append(f"Reference  {r['reference']}")
    lines.append(f"Digest     {r['top']['digest']}  ({r['top']['mediaType']})")
    if r["platforms"]:
        lines.append(f"Platforms  {', '.join(r['platforms'])}   (showing {r['platform']})")
        lines.append(f"Manifest   {r['manifest']['digest']}  ({r['manifest']['mediaType']})")
    lines += [
        "",
        "Config",
        *_columns(
            [
                ("platform", f"{c['os']}/{c['architecture']}" + (f"/{c['variant']}" if c["variant"] else "")),
                ("created", c["created"] or "-"),
                ("entrypoint", json.dumps(c["entrypoint"]) if c["entrypoint"] else "-"),
                ("cmd", json.dumps(c["cmd"]) if c["cmd"] else "-"),
                ("user", c["user"] or "-"),
                ("workdir", c["working_dir"] or "-"),
                ("env", f"{c['env_count']} variables"),
                ("labels", str(len(c["labels"])) if c["labels"] else "-"),
            ]
        ),
        *(f"    {k}={v}" for k, v in sorted(c["labels"].items())),
        "",
        f"Layers ({len(r['layers'])}, {human_size(r['layers_total_bytes'])})",
    ]
    layer_rows = [("#", "DIGEST", "SIZE", "MEDIA TYPE")] + [
        (str(i), layer["digest"][:19] + "…", human_size(layer["size"]), layer["mediaType"])
        for i, layer in enumerate(r["layers"], start=1)
    ]
    lines += _columns(layer_rows)
    lines += ["", f"Referrers ({len(r['referrers'])})"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for ref in r["referrers"]:
        by_type.setdefault(ref.get("artifactType") or "(no artifact type)", []).append(ref)
    if by_type:
        for artifact_type in sorted(by_type):
            group = sorted(by_type[artifact_type], key=lambda x: x["digest"])
            lines.append(f"  {artifact_type} ({len(group)})")
            lines += _columns(
                [(ref["digest"], human_size(ref["size"]), f"on {ref['subject'][:19]}…") for ref in group],
                indent="    ",
            )
    else:
        lines.append("  none (no signatures, SBOMs or attestations found)")
    return "\n".join(lines) + "\n"
