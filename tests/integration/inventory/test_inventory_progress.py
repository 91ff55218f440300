"""Reading an image's layers reports its bytes to a progress bar: exactly the layers' sizes, cold."""

from __future__ import annotations

import io

from testkit.progress import RecordingProgress
from testkit.pushing import push_layout_with_client
from wharfinger.inventory.sources import inventory_of_source
from wharfinger.oci.progress import counting_reader
from wharfinger.oci.settings import Settings


def test_counting_reader_counts_every_byte_and_closes_the_stream() -> None:
    data = bytes(range(256)) * 5000
    counted = RecordingProgress()
    stream = io.BytesIO(data)
    reader = counting_reader(stream, counted.advance)
    assert reader.read(10) + reader.read() == data
    assert counted.advanced == len(data)
    reader.close()
    assert stream.closed


def test_cold_inventory_of_a_registry_image_reports_the_layer_bytes(
    registry_plain, small_image, client_for, tmp_path, monkeypatch
) -> None:
    push_layout_with_client(client_for(registry_plain), small_image, "progress/app", "v1")
    monkeypatch.setenv("WHARFINGER_CACHE_DIR", str(tmp_path / "cache"))
    settings = Settings.from_env()
    settings = type(settings)(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__},
                                 "insecure_hosts": frozenset({registry_plain.host})})  # fmt: skip
    recorder = RecordingProgress()
    inventory, subject = inventory_of_source(
        registry_plain.ref("progress/app", "v1"), settings=settings, use_cache=False, progress=recorder
    )
    assert subject.digest == small_image.digest
    assert inventory.packages
    assert recorder.blobs == 2  # two layers
    assert recorder.total is not None
    assert recorder.advanced == recorder.total > 0
