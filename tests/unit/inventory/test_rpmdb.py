"""rpm databases made by the real ``rpm`` (SQLite backend), read back without librpm."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers.rpm import RPM
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Distro
from wharfinger.inventory.rpmdb import RpmDatabaseError, parse_header, read_ndb_blobs, read_sqlite_blobs

SPECS = {
    "wharf-epoch": ("Epoch: 2\nVersion: 1.2.3\nRelease: 4.el9\nLicense: MIT and (BSD or GPLv2+)", "noarch"),
    "wharf-plain": ("Version: 0.9\nRelease: 1\nLicense: ASL 2.0", "noarch"),
    "wharf-files": ("Version: 3.0.7\nRelease: 24.el9\nLicense: OpenSSL", "noarch"),
}


def _spec(name: str, header: str, arch: str) -> str:
    return f"""Name: {name}
{header}
Summary: test package built by the Wharfinger suite
BuildArch: {arch}
%description
test
%install
mkdir -p %{{buildroot}}/usr/share/{name}/sub
echo {name} > %{{buildroot}}/usr/share/{name}/sub/data.txt
%files
/usr/share/{name}/sub/data.txt
"""


@pytest.fixture(scope="session")
def rpm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with /var/lib/rpm/rpmdb.sqlite holding three packages installed by rpm --justdb."""
    work = tmp_path_factory.mktemp("rpm")
    rpms = []
    for name, (header, arch) in SPECS.items():
        spec = work / f"{name}.spec"
        spec.write_text(_spec(name, header, arch))
        subprocess.run(
            ["rpmbuild", "-bb", "--define", f"_topdir {work / 'top'}", str(spec)],
            check=True,
            capture_output=True,
        )
        rpms += list((work / "top/RPMS").rglob(f"{name}-*.rpm"))
    root = work / "root"
    dbpath = root / "var/lib/rpm"
    dbpath.mkdir(parents=True)
    subprocess.run(["rpm", "--dbpath", str(dbpath), "--initdb"], check=True, capture_output=True)
    subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "-i", "--nodeps", "--justdb", "--ignorearch", *map(str, rpms)],
        check=True,
        capture_output=True,
    )
    return root


def _rpm_qa(root: Path) -> set[tuple[str, str, str]]:
    out = subprocess.run(
        ["rpm", "--dbpath", str(root / "var/lib/rpm"), "-qa", "--qf", "%{NAME}\t%{EVR}\t%{ARCH}\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {tuple(line.split("\t")) for line in out.splitlines()}  # type: ignore[misc]


def test_sqlite_rpmdb_matches_rpm_qa(rpm_root: Path) -> None:
    distro = Distro(id="rhel", version_id="9.4")
    packages = RPM.catalog(DirFS(rpm_root), CatalogContext(distro=distro))
    expected = _rpm_qa(rpm_root)
    assert len(expected) == len(SPECS)
    assert {(p.name, p.version, p.arch) for p in packages} == expected
    by_name = {p.name: p for p in packages}
    epoch = by_name["wharf-epoch"]
    assert epoch.version == "2:1.2.3-4.el9"
    assert epoch.purl.startswith("pkg:rpm/redhat/wharf-epoch@1.2.3-4.el9?arch=noarch&distro=rhel-9.4&epoch=2")
    assert epoch.licenses == ("MIT and (BSD or GPLv2+)",)
    assert (epoch.source_name, epoch.source_version) == ("wharf-epoch", "1.2.3-4.el9")
    owned = RPM.owned_files(DirFS(rpm_root))
    assert "/usr/share/wharf-files/sub/data.txt" in owned


def _ndb(blobs: list[bytes]) -> bytes:
    """An NDB Packages.db holding ``blobs``, laid out as rpm's lib/backend/ndb/rpmpkg.c writes it."""
    page = 4096
    slot_pages = 1
    slots = []
    data = b""
    offset_blocks = slot_pages * page // 16
    for index, blob in enumerate(blobs, start=1):
        record = struct.pack("<IIII", 0x53626C42, index, 0, len(blob)) + blob
        record += b"\0" * (-len(record) % 16)
        slots.append(struct.pack("<IIII", 0x746F6C53, index, offset_blocks + len(data) // 16, len(record) // 16))
        data += record
    slot_count = slot_pages * page // 16 - 2
    slots += [struct.pack("<IIII", 0x746F6C53, 0, 0, 0)] * (slot_count - len(slots))
    header = struct.pack("<IIII", 0x506D7052, 0, 1, slot_pages) + b"\0" * 16
    table = header + b"".join(slots)
    return table + b"\0" * (slot_pages * page - len(table)) + data


def test_ndb_container_gives_the_same_headers(rpm_root: Path, tmp_path: Path) -> None:
    # Debian's rpm has no NDB backend: the real header blobs from the SQLite database are laid
    # out in an NDB file following rpm's format, and must come back identical.
    blobs = list(read_sqlite_blobs((rpm_root / "var/lib/rpm/rpmdb.sqlite").read_bytes()))
    assert [parse_header(b).name for b in read_ndb_blobs(_ndb(blobs))] == [parse_header(b).name for b in blobs]
    root = tmp_path / "suse"
    (root / "usr/lib/sysimage/rpm").mkdir(parents=True)
    (root / "usr/lib/sysimage/rpm/Packages.db").write_bytes(_ndb(blobs))
    packages = RPM.catalog(DirFS(root), CatalogContext(distro=None))
    assert {(p.name, p.version, p.arch) for p in packages} == _rpm_qa(rpm_root)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\0\0", "truncated"),
        (struct.pack(">II", 0xFFFFFF, 10), "claims"),
        (struct.pack(">II", 2, 1000) + b"\0" * 40, "shorter than its index"),
    ],
    ids=["truncated", "too-many-tags", "short-data"],
)
def test_corrupt_headers_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(RpmDatabaseError, match=message):
        parse_header(blob)


def test_corrupt_database_is_a_warning_not_a_crash(rpm_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "broken"
    shutil.copytree(rpm_root, root)
    db = root / "var/lib/rpm/rpmdb.sqlite"
    db.write_bytes(db.read_bytes()[:5000])
    warnings: list[str] = []
    assert RPM.catalog(DirFS(root), CatalogContext(distro=None, warn=warnings.append)) == []
    assert any("rpmdb.sqlite" in w for w in warnings)
