"""``-o table``: one line per package, as syft prints it (NAME, VERSION, TYPE), plus the layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wharfinger.inventory.catalog import Inventory

__all__ = ["render_table"]


def render_table(inventory: Inventory) -> str:
    layers = {digest: index for index, digest in enumerate(inventory.layer_digests)}
    rows = [("NAME", "VERSION", "TYPE", "LAYER")]
    for package in inventory.packages:
        layer = ""
        if package.layer_digest is not None:
            index = layers.get(package.layer_digest)
            short = package.layer_digest.split(":", 1)[-1][:12]
            layer = f"{index}:{short}" if index is not None else short
        rows.append((package.name, package.version, package.type.value, layer))
    if len(rows) == 1:
        return "No packages discovered\n"
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip() for row in rows]
    return "\n".join(lines) + "\n"
