"""Every runnable shell example of docs/cli.md runs, offline, against the bundled demo image.

The convention lives in docs/cli.md itself (an HTML comment at its top): lines starting with
``wharfinger`` in ```sh blocks run through bash in a folder holding ``./layout`` (the demo image),
``app.tar`` (its linux/arm64 image as a docker-archive, written by skopeo), ``./rootfs`` and
``syft.cdx.json`` (syft's SBOM of app.tar); each must exit 0, or N when it ends with ``# exit N``.
Blocks after ``<!-- needs: registry -->`` are not collected at all (no skips).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest

from wharfinger.oci.platform import parse_platform
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import open_source, parse_source

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CLI_DOC = ROOT / "docs" / "cli.md"
REGISTRY_MARK = "<!-- needs: registry -->"
_EXIT = re.compile(r"#\s*exit (\d+)\b")
_REGISTRY_REF = re.compile(r"(?:^|\s)[a-z0-9.-]+(?:\.[a-z]+|:\d+)/\S+")  # host.tld/… or host:port/…


@dataclass(frozen=True)
class Example:
    line: int  # 1-based, in docs/cli.md
    command: str
    exit_code: int
    needs_registry: bool

    @property
    def id(self) -> str:
        return f"cli.md:{self.line}"


def examples(text: str) -> list[Example]:
    """The ``wharfinger …`` lines of every ```sh block, with their documented exit codes."""
    found: list[Example] = []
    fence: str | None = None
    registry = False
    previous = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("```"):
            if fence is None:
                fence, registry = line[3:].strip(), previous == REGISTRY_MARK
            else:
                fence = None
        elif fence == "sh" and line.startswith("wharfinger "):
            match = _EXIT.search(line)
            found.append(Example(number, line, int(match.group(1)) if match else 0, registry))
        if line:
            previous = line
    return found


ALL = examples(CLI_DOC.read_text())
RUNNABLE = [e for e in ALL if not e.needs_registry]


def test_the_page_has_runnable_examples_and_marks_only_registry_ones() -> None:
    assert len(RUNNABLE) >= 15, [e.command for e in RUNNABLE]
    assert any(e.exit_code for e in RUNNABLE)  # the documented failures run too
    for example in (e for e in ALL if e.needs_registry):
        assert _REGISTRY_REF.search(example.command), f"{example.id} is marked `needs: registry` but names none"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder with what the examples name, and an environment with ``wharfinger`` on PATH."""
    for tool in ("skopeo", "bash", "tar"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; run scripts/install-test-deps")
    work = tmp_path_factory.mktemp("cli-doc")
    shutil.copytree(Path(str(files("wharfinger.demo") / "image")), work / "layout")
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "-q", "--override-arch", "arm64",
         "oci:layout:1.0", "docker-archive:app.tar:example.com/app:1.0"],
        cwd=work, check=True,
    )  # fmt: skip
    _unpack(f"oci:{work / 'layout'}:1.0", work / "rootfs")
    syft = Path(sys.executable).with_name("syft")
    subprocess.run(
        [str(syft) if syft.exists() else "syft", "scan", "docker-archive:app.tar", "-q",
         "-o", "cyclonedx-json=syft.cdx.json"],
        cwd=work, check=True, env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )  # fmt: skip
    bin_dir = work / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "wharfinger"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wharfinger "$@"\n')
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("WHARFINGER_")}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}",
        "PYTHONPATH": str(ROOT / "src"),
        "XDG_CACHE_HOME": str(work / "cache"),  # the demo database is built here
        "WHARFINGER_CACHE_DIR": str(work / "cache" / "wharfinger"),
        "NO_COLOR": "1",
    }
    return work, env


def _unpack(source_text: str, target: Path) -> None:
    """The linux/amd64 image's layers applied in order (a root filesystem for ``dir:``)."""
    source = open_source(parse_source(source_text), settings=Settings())
    try:
        image = source.resolve(parse_platform("linux/amd64"))
        for layer in image.layers:
            with source.open_blob(layer) as blob, tarfile.open(fileobj=blob, mode="r|*") as tar:
                tar.extractall(target, filter="data")
    finally:
        source.close()


@pytest.mark.parametrize("example", RUNNABLE, ids=[e.id for e in RUNNABLE])
def test_example_exits_as_documented(example: Example, sandbox: tuple[Path, dict[str, str]]) -> None:
    work, env = sandbox
    done = subprocess.run(
        ["bash", "-c", example.command], cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == example.exit_code, f"{example.command}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    if example.exit_code == 0:
        assert done.stdout or done.stderr or "=" in example.command  # it printed or wrote something
