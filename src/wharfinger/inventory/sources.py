"""Any source to an ``Inventory`` (edge): images through ``wharfinger.oci``, ``dir:`` and ``sbom:``.

The one inventory path for ``wharfinger sbom``, ``wharfinger scan`` and the service::

    inventory, subject = inventory_of_source("oci:./layout:1.0", settings=Settings.from_env())

Images are resolved with ``oci.sources.open_source`` (registry, ``oci:``, ``oci-archive:``,
``docker-archive:``), their layers streamed through ``catalog.catalog_layers`` with the on-disk
``InventoryCache`` under ``<cache root>/inventory``. Images run only the catalogers of installed
packages, ``dir:`` every cataloger (lock files too), unless ``catalogers`` says otherwise (it has
no effect on ``sbom:``). ``while_open`` runs with the image source still
open (``sbom --attach`` pushes its referrer there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from wharfinger.errors import InputError, WharfingerError

if TYPE_CHECKING:
    from wharfinger.inventory.catalog import Inventory
    from wharfinger.inventory.cataloger import CatalogerSelection
    from wharfinger.oci.manifest import Descriptor
    from wharfinger.oci.progress import ByteProgress
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import ImageSource, ResolvedImage, SourceSpec
    from wharfinger.oci.sources.files import BlobLocation
    from wharfinger.sbom.subject import SbomSubject

__all__ = ["ImageHook", "inventory_of_source"]

ImageHook = Callable[["ImageSource", "ResolvedImage", "Inventory", "SbomSubject"], None]


def _inventory_of_image(
    spec: SourceSpec,
    platform_text: str | None,
    *,
    use_cache: bool,
    settings: Settings,
    while_open: ImageHook | None,
    catalogers: CatalogerSelection,
    progress: ByteProgress | None = None,
    skip_os_owned: bool = True,
) -> tuple[Inventory, SbomSubject]:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from wharfinger.inventory.cache import InventoryCache  # noqa: PLC0415 -- each source kind loads only itself
    from wharfinger.inventory.catalog import catalog_layers  # noqa: PLC0415
    from wharfinger.inventory.cataloger import load_catalogers, select_catalogers  # noqa: PLC0415
    from wharfinger.inventory.layer_hasher import LayerHasher  # noqa: PLC0415
    from wharfinger.inventory.layer_input import LayerInput  # noqa: PLC0415
    from wharfinger.oci.platform import parse_platform  # noqa: PLC0415
    from wharfinger.oci.progress import counting_reader  # noqa: PLC0415
    from wharfinger.oci.sources import SourceKind, open_source  # noqa: PLC0415
    from wharfinger.oci.sources.base import BlobLocator  # noqa: PLC0415
    from wharfinger.sbom.subject import SbomSubject  # noqa: PLC0415

    platform = parse_platform(platform_text) if platform_text else None
    # plain-tar layers lying in a local file are parsed in place and hashed by a helper process.
    # `docker save` writes every layer as a plain tar: for a docker-archive the helper is started
    # first (by the console script, if it saw the archive on the command line: `cli.process`), and
    # is ready when the first layer is (deb-min: the hash ended 25 ms after the catalogue when the
    # helper started with the first layer). Layouts mostly hold gzip layers, which are streamed:
    # there the read starts the helper at its first plain-tar layer, if any.
    with LayerHasher.adopt() as hasher:
        if spec.kind is SourceKind.DOCKER_ARCHIVE:
            hasher.start()
        source = open_source(spec, settings=settings)
        try:
            # the image is resolved (a registry's manifest and config: round trips, mostly waiting)
            # while this thread loads the catalogers and, for a registry, the layer walker (~20 ms of
            # imports that used to follow the round trips; a local source resolves in a millisecond or
            # two, and an inventory found in the cache never loads the walker)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wharfinger-resolve") as resolver:
                resolving = resolver.submit(source.resolve, platform)
                selected = select_catalogers(load_catalogers(), catalogers)
                if spec.kind is SourceKind.REGISTRY:
                    import wharfinger.inventory.layers  # noqa: F401, PLC0415 -- used by catalog_layers
                image = resolving.result()

            def opener(descriptor: Descriptor) -> Callable[[], BinaryIO]:
                if progress is None:
                    return lambda: source.open_blob(descriptor)
                return lambda: counting_reader(source.open_blob(descriptor), progress.advance)

            def locate(descriptor: Descriptor) -> BlobLocation | None:
                # layouts and archives say where each blob lies: a plain-tar layer is then parsed in
                # place. A blob that cannot be located is left to `open_blob`, which says what is wrong
                # when (and only if: a cached layer is never opened) it is read
                if not isinstance(source, BlobLocator):
                    return None
                try:
                    return source.locate_blob(descriptor)
                except WharfingerError:
                    return None

            layers = [
                LayerInput(
                    digest=d.digest,
                    media_type=d.media_type,
                    open=opener(d),
                    size=d.size,
                    location=locate(d),
                    progress=progress.advance if progress is not None else None,
                )
                for d in image.layers
            ]
            if progress is not None:
                progress.start(sum(d.size for d in image.layers), len(image.layers))
            cache = InventoryCache(InventoryCache.directory_for(settings)) if use_cache else None
            try:
                inventory = catalog_layers(
                    layers,
                    selected,
                    store=cache,
                    skip_os_owned=skip_os_owned,
                    hasher=hasher,
                )
            finally:
                if cache is not None:
                    cache.close()
            config_platform = image.config.platform
            subject = SbomSubject(
                name=spec.text,
                kind="image",
                digest=image.digest,
                platform=str(image.platform or config_platform) if (image.platform or config_platform) else None,
            )
            if while_open is not None:
                while_open(source, image, inventory, subject)
        finally:
            source.close()
    return inventory, subject


def inventory_of_source(
    source_text: str,
    *,
    settings: Settings,
    platform: str | None = None,
    use_cache: bool = True,
    while_open: ImageHook | None = None,
    progress: ByteProgress | None = None,
    catalogers: CatalogerSelection | None = None,
    skip_os_owned: bool = True,
) -> tuple[Inventory, SbomSubject]:
    """The inventory of ``source_text`` and what it describes (``sbom.SbomSubject``).

    ``progress`` hears about the layer bytes read (a cache hit reads none). ``catalogers`` defaults
    to ``INSTALLED`` for images and ``ALL`` for ``dir:``. ``skip_os_owned=False`` also reports
    language packages an OS package installed, as syft does (``catalog.catalog_fs``)."""
    from wharfinger.inventory.cataloger import CatalogerSelection  # noqa: PLC0415
    from wharfinger.oci.sources import SourceKind, parse_source  # noqa: PLC0415
    from wharfinger.sbom.subject import SbomSubject  # noqa: PLC0415

    spec = parse_source(source_text)
    if spec.kind is SourceKind.DIR:
        from wharfinger.inventory.catalog import catalog_fs  # noqa: PLC0415
        from wharfinger.inventory.cataloger import load_catalogers, select_catalogers  # noqa: PLC0415
        from wharfinger.inventory.filesystem import DirFS  # noqa: PLC0415

        assert spec.path is not None  # noqa: S101  # parse_source sets it for dir:
        selected = select_catalogers(load_catalogers(), catalogers or CatalogerSelection.ALL)
        return catalog_fs(DirFS(spec.path), selected, skip_os_owned=skip_os_owned), SbomSubject(
            name=spec.text, kind="directory"
        )
    if spec.kind is SourceKind.SBOM:
        from wharfinger.sbom import parse_sbom  # noqa: PLC0415
        from wharfinger.sbom.reader import MAX_SBOM_BYTES  # noqa: PLC0415

        assert spec.path is not None  # noqa: S101  # parse_source sets it for sbom:
        try:
            with spec.path.open("rb") as f:
                data = f.read(MAX_SBOM_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {spec.path}: {exc.strerror}", hint="check the path") from exc
        return parse_sbom(data, name=str(spec.path)), SbomSubject(name=spec.text, kind="sbom")
    return _inventory_of_image(
        spec,
        platform,
        use_cache=use_cache,
        settings=settings,
        while_open=while_open,
        catalogers=catalogers or CatalogerSelection.INSTALLED,
        progress=progress,
        skip_os_owned=skip_os_owned,
    )
