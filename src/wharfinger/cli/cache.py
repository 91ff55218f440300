"""``wharfinger cache info|prune``: the content-addressed blob cache on disk, and the inventory cache."""

from __future__ import annotations

import json
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(
        name="cache",
        help=(
            "The blob cache ($WHARFINGER_CACHE_DIR/blobs, else $XDG_CACHE_HOME/wharfinger/blobs) "
            "and the inventory cache beside it (inventory/)."
        ),
        no_args_is_help=True,
    )
    cache_app.command("info", help="Where the cache is, how many blobs and bytes it holds.")(info_command)
    cache_app.command(
        "prune", help="Remove least recently used blobs down to a size (default: the limit); --all empties both caches."
    )(prune_command)
    app.add_typer(cache_app)


def info_command(
    output: Annotated[
        list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: table (default), json.")
    ] = None,
) -> None:
    from datetime import UTC, datetime

    from wharfinger.cli.inspect import human_size
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.inventory.cache import InventoryCache
    from wharfinger.oci.cache import BlobCache
    from wharfinger.oci.settings import Settings

    targets = parse_outputs(output, allowed=("table", "json"), default="table")
    settings = Settings.from_env()
    stats = BlobCache.from_settings(settings).stats()
    inventory_cache = InventoryCache(InventoryCache.directory_for(settings))
    inventory = inventory_cache.stats()
    inventory_cache.close()

    def when(ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")

    report = {
        "path": str(stats.root),
        "entries": stats.entries,
        "total_bytes": stats.total_bytes,
        "max_bytes": stats.max_bytes,
        "oldest_use": when(stats.oldest_use),
        "newest_use": when(stats.newest_use),
        "temp_files": stats.temp_files,
        "inventory": {
            "path": str(inventory.root),
            "inventories": inventory.inventories,
            "layers": inventory.layers,
            "total_bytes": inventory.total_bytes,
        },
    }

    def render(fmt: str) -> str:
        if fmt == "json":
            return json.dumps(report, indent=2)
        return (
            f"path       {report['path']}\n"
            f"blobs      {stats.entries}\n"
            f"size       {human_size(stats.total_bytes)} of {human_size(stats.max_bytes)} allowed\n"
            f"last used  {report['newest_use'] or '-'} (oldest {report['oldest_use'] or '-'})\n"
            f"inventory  {inventory.root}: {inventory.inventories} images, {inventory.layers} layers, "
            f"{human_size(inventory.total_bytes)} (not size-bounded; emptied by prune --all)\n"
        )

    write_outputs(targets, render)


def prune_command(
    max_size: Annotated[
        str | None, typer.Option("--max-size", help="Keep at most this much, e.g. 500MiB (default: the limit).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Remove every blob, and every inventory and layer index.")
    ] = False,
) -> None:
    from wharfinger.cli.inspect import human_size
    from wharfinger.oci.cache import BlobCache
    from wharfinger.oci.settings import Settings, parse_size

    settings = Settings.from_env()
    cache = BlobCache.from_settings(settings)
    limit = parse_size(max_size, "--max-size") if max_size is not None else None
    result = cache.prune(max_bytes=limit, everything=everything)
    typer.echo(
        f"removed {result.removed} blobs ({human_size(result.freed_bytes)}); "
        f"{result.remaining_entries} remain ({human_size(result.remaining_bytes)})"
    )
    if everything:
        from wharfinger.inventory.cache import InventoryCache

        inventory_cache = InventoryCache(InventoryCache.directory_for(settings))
        freed = inventory_cache.stats().total_bytes
        inventory_cache.clear()
        typer.echo(f"removed the inventory cache ({human_size(freed)})")
