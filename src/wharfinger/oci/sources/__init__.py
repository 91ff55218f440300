"""Image sources: one ``ImageSource`` interface over registries, OCI layouts and image archives.

>>> from wharfinger.oci.sources import open_source, parse_source
>>> from wharfinger.oci.settings import Settings
>>> source = open_source(parse_source("oci:/path/to/layout:1.0"), settings=Settings())  # doctest: +SKIP
>>> image = source.resolve()                                                            # doctest: +SKIP
>>> with source.open_blob(image.layers[0]) as layer: ...                                # doctest: +SKIP
"""

from __future__ import annotations

from wharfinger.oci.sources.base import ImageSource, ResolvedImage
from wharfinger.oci.sources.spec import SourceKind, SourceSpec, open_source, parse_source

__all__ = ["ImageSource", "ResolvedImage", "SourceKind", "SourceSpec", "open_source", "parse_source"]
