"""Java archives: real Debian jars (liblog4j2-java, libjackson2-databind-java), archives assembled
with the JDK's ``jar`` tool from them (Spring Boot fat jar, shaded jar, manifest-only jar), and
hostile archives (zip bombs, nesting past the limit, too many entries, XML bombs in pom.xml).

The truth for the Debian jars is Debian's own Maven repository layout in the same packages
(``/usr/share/maven-repo/<group>/<artifact>/<version>/<artifact>-<version>.jar`` → the jar).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packageurl import PackageURL

from wharfinger.inventory.cataloger import CatalogContext
from wharfinger.inventory.catalogers.java import JAVA_ARCHIVES, JavaArchiveLimits, parse_java_archive
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.package import Location

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wharfinger-tests"
DEBS = ("liblog4j2-java", "libjackson2-databind-java")
JAR = shutil.which("jar")


@pytest.fixture(scope="module")
def debian_root() -> Path:
    """A root filesystem with the two Debian packages unpacked (downloaded once, then cached)."""
    root = CACHE / "java-debs-root"
    marker = root / ".complete"
    if not marker.exists():
        download = CACHE / "java-debs"
        download.mkdir(parents=True, exist_ok=True)
        if not list(download.glob("*.deb")):
            subprocess.run(["apt-get", "download", *DEBS], cwd=download, check=True, capture_output=True, timeout=300)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for deb in download.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        marker.touch()
    return root


def _maven_repo_truth(root: Path) -> set[str]:
    """purls Debian itself declares: maven-repo/<g>/<a>/<v>/<a>-<v>.jar symlinks to a real jar."""
    purls = set()
    repo = root / "usr/share/maven-repo"
    for link in repo.rglob("*.jar"):
        version_dir = link.parent
        # maven-debian-helper adds alias versions ("debian", "2.x") beside the real one
        if version_dir.name == "debian" or version_dir.name.endswith(".x") or not link.resolve().is_file():
            continue
        artifact_dir = version_dir.parent
        group = ".".join(artifact_dir.parent.relative_to(repo).parts)
        purls.add(f"pkg:maven/{group}/{artifact_dir.name}@{version_dir.name}")
    return purls


def test_debian_jars_match_debians_maven_repo(debian_root: Path) -> None:
    truth = _maven_repo_truth(debian_root)
    assert len(truth) >= 10
    found = JAVA_ARCHIVES.catalog(DirFS(debian_root), CatalogContext(distro=None))
    ours = {p.purl for p in found}
    assert truth <= ours, f"missed {truth - ours}"
    jackson = next(p for p in found if p.name == "jackson-databind")
    assert jackson.licenses == ("Apache-2.0",)  # Bundle-License URL mapped to SPDX
    assert jackson.locations[0].path == "/usr/share/java/jackson-databind.jar"


def _jar_tool() -> str:
    if JAR is None:
        pytest.fail("the JDK's jar tool is missing: run scripts/install-test-deps (default-jdk-headless)")
    return JAR


def test_spring_boot_fat_jar_reports_nested_libraries(debian_root: Path, tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "BOOT-INF/lib").mkdir(parents=True)
    (stage / "META-INF/maven/com.example/demo").mkdir(parents=True)
    (stage / "META-INF/maven/com.example/demo/pom.properties").write_text(
        "groupId=com.example\nartifactId=demo\nversion=0.0.1-SNAPSHOT\n"
    )
    for name in ("jackson-databind.jar", "log4j-api.jar"):
        shutil.copy(debian_root / "usr/share/java" / name, stage / "BOOT-INF/lib" / name)
    fat = tmp_path / "demo-0.0.1-SNAPSHOT.jar"
    subprocess.run([_jar_tool(), "--create", "--file", str(fat), "-C", str(stage), "."], check=True)

    parsed = parse_java_archive(fat.read_bytes(), Location(path="/app/demo.jar"))
    purls = {p.purl for p in parsed.packages}
    assert purls == {
        "pkg:maven/com.example/demo@0.0.1-SNAPSHOT",
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0",
        "pkg:maven/org.apache.logging.log4j/log4j-api@2.19.0",
    }
    nested = next(p for p in parsed.packages if p.name == "log4j-api")
    assert dict(nested.metadata)["archive_entry"].startswith("BOOT-INF/lib/log4j-api.jar!/META-INF/maven/")
    assert nested.locations[0].path == "/app/demo.jar"


def test_shaded_jar_reports_every_embedded_artifact(debian_root: Path, tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    for name in ("jackson-databind.jar", "log4j-core.jar"):
        with zipfile.ZipFile(debian_root / "usr/share/java" / name) as jar:
            for member in jar.namelist():
                if member.startswith("META-INF/maven/"):
                    jar.extract(member, stage)
    shaded = tmp_path / "uber.jar"
    subprocess.run([_jar_tool(), "--create", "--file", str(shaded), "-C", str(stage), "META-INF"], check=True)
    parsed = parse_java_archive(shaded.read_bytes(), Location(path="/uber.jar"))
    names = {PackageURL.from_string(p.purl).name for p in parsed.packages}
    assert {"jackson-databind", "log4j-core"} <= names


@pytest.mark.parametrize(
    ("manifest", "file_name", "purl"),
    [
        (
            "Implementation-Title: commons-thing\nImplementation-Version: 1.4\nImplementation-Vendor-Id: org.apache\n",
            "commons-thing-1.4.jar",
            "pkg:maven/org.apache/commons-thing@1.4",
        ),
        (
            "Bundle-SymbolicName: org.acme.widgets;singleton:=true\nBundle-Version: 2.0.1\n",
            "widgets.jar",
            "pkg:maven/org.acme/widgets@2.0.1",
        ),
        ("Implementation-Version: 3.3 2244 October 5 2005\n", "oldlib.jar", "pkg:maven/oldlib@3.3"),
    ],
    ids=["vendor-id", "bundle-symbolic-name", "no-group"],
)
def test_manifest_fallback_infers_group(tmp_path: Path, manifest: str, file_name: str, purl: str) -> None:
    (tmp_path / "MANIFEST.txt").write_text(manifest)
    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / "Empty.txt").write_text("x")
    jar = tmp_path / file_name
    subprocess.run(
        [
            _jar_tool(),
            "--create",
            "--file",
            str(jar),
            "--manifest",
            str(tmp_path / "MANIFEST.txt"),
            "-C",
            str(tmp_path / "stage"),
            ".",
        ],
        check=True,
    )
    parsed = parse_java_archive(jar.read_bytes(), Location(path=f"/{file_name}"))
    assert [p.purl for p in parsed.packages] == [purl]


def test_trivy_nested_jar_fixture(shared_dir: Path) -> None:
    jar = shared_dir / "fixtures/inventory/trivy/pkg/dependency/parser/java/jar/testdata/nested.jar"
    parsed = parse_java_archive(jar.read_bytes(), Location(path="/nested.jar"))
    with zipfile.ZipFile(jar) as outer:
        inner_archives = [n for n in outer.namelist() if n.endswith(".jar")]
    assert inner_archives, "the fixture nests jars"
    assert any("!/" in dict(p.metadata)["archive_entry"] for p in parsed.packages)


# --- hostile archives -------------------------------------------------------------------------


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _library(group: str, artifact: str, version: str) -> bytes:
    props = f"groupId={group}\nartifactId={artifact}\nversion={version}\n".encode()
    return _zip({f"META-INF/maven/{group}/{artifact}/pom.properties": props})


def test_zip_bomb_member_is_skipped_with_a_warning() -> None:
    bomb = _zip(
        {"WEB-INF/lib/bomb.jar": b"\0" * (8 * 1024 * 1024), "WEB-INF/lib/ok-1.0.jar": _library("g", "ok", "1.0")}
    )
    parsed = parse_java_archive(bomb, Location(path="/app.war"))
    assert [p.purl for p in parsed.packages] == ["pkg:maven/g/ok@1.0"]
    assert any("inflates" in w and "bomb.jar" in w for w in parsed.warnings)


def test_total_inflated_budget_is_shared_by_nested_archives() -> None:
    libs = {
        f"lib/l{i}-1.0.jar": _zip({"pad.bin": os.urandom(300_000)}, compression=zipfile.ZIP_STORED) for i in range(5)
    }
    limits = JavaArchiveLimits(max_total_bytes=1_000_000)
    parsed = parse_java_archive(_zip(libs), Location(path="/app.ear"), limits=limits)
    assert any("budget" in w for w in parsed.warnings)


def test_nesting_past_the_depth_limit_is_skipped() -> None:
    archive = _library("g", "deepest", "9.9")
    for level in range(6):
        archive = _zip({f"lib/level{level}-1.0.jar": archive})
    parsed = parse_java_archive(archive, Location(path="/deep.jar"), limits=JavaArchiveLimits(max_depth=4))
    assert "deepest" not in {p.name for p in parsed.packages}
    assert any("nested 5 archives deep" in w for w in parsed.warnings)
    unlimited = parse_java_archive(archive, Location(path="/deep.jar"), limits=JavaArchiveLimits(max_depth=10))
    assert "deepest" in {p.name for p in unlimited.packages}


def test_too_many_entries_refuses_the_archive() -> None:
    from wharfinger.errors import UnsafeArchiveError

    archive = _zip({f"f{i}": b"" for i in range(50)})
    with pytest.raises(UnsafeArchiveError, match="declares 50 entries"):
        parse_java_archive(archive, Location(path="/many.jar"), limits=JavaArchiveLimits(max_entries=10))


def test_entry_count_is_checked_before_the_central_directory_is_loaded() -> None:
    from wharfinger.errors import UnsafeArchiveError

    archive = bytearray(_zip({"a": b"x"}))
    eocd = archive.rfind(b"PK\x05\x06")
    archive[eocd + 8 : eocd + 12] = (60000).to_bytes(2, "little") * 2  # the record now claims 60 000 entries
    with pytest.raises(UnsafeArchiveError, match="declares 60000 entries"):
        parse_java_archive(bytes(archive), Location(path="/lying.jar"), limits=JavaArchiveLimits(max_entries=1000))


def test_xml_bomb_in_pom_is_ignored_not_expanded() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        b"<project><groupId>g</groupId><artifactId>x</artifactId><version>&lol2;</version></project>"
    )
    archive = _zip(
        {
            "META-INF/maven/g/x/pom.xml": laughs,
            "META-INF/maven/g/x/pom.properties": b"groupId=g\nartifactId=x\nversion=1.0\n",
        }
    )
    parsed = parse_java_archive(archive, Location(path="/x-1.0.jar"))
    assert [p.purl for p in parsed.packages] == ["pkg:maven/g/x@1.0"]


def test_corrupt_archive_is_a_warning_in_the_cataloger(tmp_path: Path) -> None:
    (tmp_path / "broken.jar").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "good-1.0.jar").write_bytes(_library("g", "good", "1.0"))
    warnings: list[str] = []
    found = JAVA_ARCHIVES.catalog(DirFS(tmp_path), CatalogContext(distro=None, warn=warnings.append))
    assert [p.purl for p in found] == ["pkg:maven/g/good@1.0"]
    assert any("broken.jar" in w and "not a readable zip" in w for w in warnings)


def test_pom_xml_without_pom_properties_resolves_project_properties() -> None:
    pom = (
        b'<project xmlns="http://maven.apache.org/POM/4.0.0"><parent><groupId>org.acme</groupId>'
        b"<version>3.1.0</version></parent><artifactId>acme-${flavour}</artifactId>"
        b"<properties><flavour>core</flavour></properties>"
        b"<licenses><license><name>Apache License, Version 2.0</name></license></licenses></project>"
    )
    parsed = parse_java_archive(_zip({"META-INF/maven/org.acme/acme-core/pom.xml": pom}), Location(path="/x.jar"))
    assert [(p.purl, p.licenses) for p in parsed.packages] == [("pkg:maven/org.acme/acme-core@3.1.0", ("Apache-2.0",))]
