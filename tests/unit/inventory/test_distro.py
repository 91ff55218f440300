from __future__ import annotations

from pathlib import Path

import pytest

from wharfinger.inventory.distro import detect_distro
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Distro

# release files as the distributions ship them (trimmed to the lines that matter)
CASES: list[tuple[str, dict[str, str], Distro | None]] = [
    (
        "debian",
        {
            "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
            'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\n'
        },
        Distro(id="debian", version_id="12", codename="bookworm", pretty_name="Debian GNU/Linux 12 (bookworm)"),
    ),
    (
        "distroless",
        {
            "etc/os-release": 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n'
            'VERSION="Debian GNU/Linux 12 (bookworm)"\n'
        },
        Distro(id="debian", version_id="12", codename="bookworm", pretty_name="Distroless"),
    ),
    (
        "ubuntu",
        {
            "etc/os-release": 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n'
            'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n'
        },
        Distro(
            id="ubuntu", version_id="22.04", codename="jammy", pretty_name="Ubuntu 22.04.4 LTS", id_like=("debian",)
        ),
    ),
    (
        "alpine",
        {"etc/os-release": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'},
        Distro(id="alpine", version_id="3.19.1", pretty_name="Alpine Linux v3.19"),
    ),
    ("alpine-release-only", {"etc/alpine-release": "3.4.6\n"}, Distro(id="alpine", version_id="3.4.6")),
    (
        "ubi9",
        {
            "etc/os-release": 'NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\n'
            'ID_LIKE="fedora"\nVERSION_ID="9.4"\n'
            'PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n'
        },
        Distro(
            id="rhel",
            version_id="9.4",
            codename="Plow",
            pretty_name="Red Hat Enterprise Linux 9.4 (Plow)",
            id_like=("fedora",),
        ),
    ),
    (
        "centos7-redhat-release",
        {"etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"},
        Distro(id="centos", version_id="7.9.2009", codename="Core", pretty_name="CentOS Linux release 7.9.2009 (Core)"),
    ),
    (
        "rocky",
        {"usr/lib/os-release": 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'},
        Distro(id="rocky", version_id="9.3", id_like=("rhel", "centos", "fedora")),
    ),
    ("alma", {"etc/os-release": 'ID="almalinux"\nVERSION_ID="8.9"\n'}, Distro(id="almalinux", version_id="8.9")),
    ("oracle", {"etc/os-release": 'ID="ol"\nVERSION_ID="8.9"\n'}, Distro(id="ol", version_id="8.9")),
    (
        "amazon-system-release",
        {"etc/system-release": "Amazon Linux release 2 (Karoo)\n"},
        Distro(id="amzn", version_id="2", codename="Karoo", pretty_name="Amazon Linux release 2 (Karoo)"),
    ),
    (
        "azurelinux",
        {"etc/os-release": 'NAME="Microsoft Azure Linux"\nVERSION="3.0.20240727"\nID=azurelinux\nVERSION_ID="3.0"\n'},
        Distro(id="azurelinux", version_id="3.0"),
    ),
    (
        "cbl-mariner",
        {"etc/os-release": 'NAME="Common Base Linux Mariner"\nVERSION="2.0.20240123"\nID=mariner\nVERSION_ID="2.0"\n'},
        Distro(id="mariner", version_id="2.0"),
    ),
    (
        "mariner-release-only",
        {"etc/mariner-release": "CBL-Mariner release 2.0 (Core)\n"},
        Distro(id="mariner", version_id="2.0", codename="Core", pretty_name="CBL-Mariner release 2.0 (Core)"),
    ),
    (
        "wolfi",
        {"etc/os-release": 'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID="20230201"\n'},
        Distro(id="wolfi", version_id="20230201", pretty_name="Wolfi"),
    ),
    ("chainguard", {"etc/os-release": 'ID=chainguard\nNAME="Chainguard"\n'}, Distro(id="chainguard")),
    (
        "sles",
        {"etc/os-release": 'NAME="SLES"\nVERSION="15-SP5"\nVERSION_ID="15.5"\nID="sles"\nID_LIKE="suse"\n'},
        Distro(id="sles", version_id="15.5", id_like=("suse",)),
    ),
    (
        "lsb-release",
        {"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n"},
        Distro(id="ubuntu", version_id="14.04", codename="trusty"),
    ),
    ("debian_version", {"etc/debian_version": "9.13\n"}, Distro(id="debian", version_id="9")),
    ("scratch", {"usr/local/bin/hello": "binary"}, None),
]


@pytest.mark.parametrize(("files", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_detect_distro(tmp_path: Path, files: dict[str, str], expected: Distro | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_distro(DirFS(tmp_path)) == expected


def test_os_release_symlink_is_followed_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/os-release").write_text("ID=debian\nVERSION_ID=12\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").symlink_to("../usr/lib/os-release")
    assert detect_distro(DirFS(tmp_path)) == Distro(id="debian", version_id="12")
