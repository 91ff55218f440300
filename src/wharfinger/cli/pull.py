"""``wharfinger pull IMAGE oci:DIR[:TAG]``: copy an image from a registry into an OCI layout.

Like ``skopeo copy docker://IMAGE oci:DIR:TAG``: one platform (``--platform``, else this host's),
or every platform with ``--all-platforms``; layers download in parallel, streamed and verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharfinger.cli.options import CaBundle, Http2, InsecureHosts, registry_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("pull", help="Copy an image from a registry into an OCI layout directory (oci:DIR[:TAG]).")(
        pull_command
    )


def pull_command(
    image: Annotated[str, typer.Argument(help="Registry reference, e.g. registry.example/app:1.0 or …@sha256:…")],
    destination: Annotated[str, typer.Argument(help="oci:DIR[:TAG] (the tag defaults to the image's tag).")],
    platform: Annotated[
        str | None, typer.Option("--platform", help="os/arch or os/arch/variant to pick from a multi-platform index.")
    ] = None,
    all_platforms: Annotated[bool, typer.Option("--all-platforms", help="Copy the whole index.")] = False,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
) -> None:
    from wharfinger.cli.progress import transfer_bar
    from wharfinger.errors import InputError
    from wharfinger.oci.client import connect
    from wharfinger.oci.platform import parse_platform
    from wharfinger.oci.pull import pull_to_layout
    from wharfinger.oci.reference import parse_ref

    if not destination.startswith("oci:") or len(destination) <= len("oci:"):
        raise InputError(f"unsupported destination {destination!r}", hint="write oci:DIR or oci:DIR:TAG")
    path_text, _, tag = destination.removeprefix("oci:").partition(":")
    ref = parse_ref(image.removeprefix("docker://"))
    settings = registry_settings(insecure, ca_bundle, http2=http2)
    wanted = parse_platform(platform) if platform else None
    with connect(ref.api_host, settings=settings) as client, transfer_bar(f"pulling {ref}") as progress:
        result = pull_to_layout(
            client,
            ref.repository,
            ref.identifier,
            Path(path_text),
            tag=tag or ref.tag,
            platform=wanted,
            all_platforms=all_platforms,
            progress=progress,
        )
    typer.echo(result.top.digest)
