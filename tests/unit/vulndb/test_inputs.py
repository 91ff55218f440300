from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from wharfinger.errors import InputError
from wharfinger.vulndb.inputs import InputLimits, iter_archive, iter_feed_files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_directories_zips_and_tarballs_are_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.json").write_bytes(b"{}")
    (tmp_path / "osv.zip").write_bytes(zip_bytes({"GO-1.json": b"1", "GO-2.json": b"2"}))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../../etc/evil.advisories.yaml")  # a hostile name is only a label: nothing is written
        info.size = 1
        archive.addfile(info, io.BytesIO(b"z"))
    (tmp_path / "w.tar.gz").write_bytes(buffer.getvalue())
    names = sorted(name for name, _ in iter_feed_files(tmp_path))
    assert names == ["a/x.json", "osv.zip/GO-1.json", "osv.zip/GO-2.json", "w.tar.gz/../../etc/evil.advisories.yaml"]
    assert not (tmp_path.parent.parent / "etc" / "evil.advisories.yaml").exists()


def test_too_many_members_is_refused() -> None:
    data = zip_bytes({f"{i}.json": b"{}" for i in range(20)})
    with pytest.raises(InputError, match="over the limits"):
        list(iter_archive("x.zip", data, limits=InputLimits(max_archive_members=10)))


def test_a_zip_bomb_is_refused_before_inflating() -> None:
    data = zip_bytes({"big.json": b"0" * 5_000_000})
    assert len(data) < 50_000
    with pytest.raises(InputError, match="over the limits"):
        list(iter_archive("x.zip", data, limits=InputLimits(max_total_bytes=1_000_000)))


@pytest.mark.parametrize("data", [b"PK\x03\x04broken", b"\x1f\x8b\x08\x00garbage"])
def test_corrupt_archives(data: bytes) -> None:
    name = "x.zip" if data.startswith(b"PK") else "x.tar.gz"
    with pytest.raises(InputError, match="corrupt or truncated"):
        list(iter_archive(name, data))


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        list(iter_feed_files(tmp_path / "nope"))
