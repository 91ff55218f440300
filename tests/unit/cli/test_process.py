"""The console script's process handling: quick exit without losing output, tuning only its own process."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wharfinger.cli import process
from wharfinger.cli.app import main

ROOT = Path(__file__).resolve().parents[3]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return _python_env(code, {})


def _python_env(code: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WHARFINGER_HTTP2"}
    env = {**env, **extra, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False, env=env, timeout=60
    )


def test_exit_now_flushes_buffered_output_and_runs_atexit_handlers(tmp_path: Path) -> None:
    marker = tmp_path / "finalized"
    result = _python(
        f"""
        import atexit, sys, tempfile, weakref
        from wharfinger.cli.process import exit_now
        atexit.register(lambda: print("atexit ran"))
        spool = tempfile.TemporaryDirectory()  # its finalizer removes it at exit: must still run
        open({str(marker)!r}, "w").write(spool.name)
        sys.stdout.write("x" * 100_000)  # more than a pipe buffer holds in one write, still buffered
        exit_now(3)
        """
    )
    assert result.returncode == 3
    assert result.stdout.startswith("x" * 100_000)
    assert "atexit ran" in result.stdout
    assert not Path(marker.read_text()).exists()


def test_exit_now_with_a_message_prints_it_and_exits_1() -> None:
    result = _python("from wharfinger.cli.process import exit_now\nexit_now('no such thing')")
    assert (result.returncode, result.stderr) == (1, "no such thing\n")


def test_console_script_exits_with_mains_codes(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    missing = f"oci:{tmp_path / 'missing'}"
    with pytest.raises(SystemExit) as in_process:
        main(["sbom", missing])
    result = run_cli("sbom", missing)
    assert in_process.value.code != 0
    assert result.returncode == in_process.value.code
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_tuning_leaves_a_process_it_does_not_own_alone() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    process.tune_for_batch()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_tuning_applies_in_the_console_scripts_process() -> None:
    result = _python(
        """
        import gc
        from wharfinger.cli import process
        process.own_process()
        process.tune_for_batch()
        print(gc.get_threshold()[0], gc.get_freeze_count() > 0)
        """
    )
    assert result.returncode == 0, result.stderr
    threshold, frozen = result.stdout.split()
    assert int(threshold) > gc.get_threshold()[0]
    assert frozen == "True"


@pytest.mark.parametrize(
    ("argv", "env", "loaded"), [([], {}, False), (["--http2"], {}, True), ([], {"WHARFINGER_HTTP2": "1"}, True)]
)
def test_h2_is_loaded_only_when_http2_may_be_spoken(argv: list[str], env: dict[str, str], loaded: bool) -> None:
    result = _python_env(
        f"""
        import sys
        from wharfinger.cli import process
        process.skip_unused_imports({argv!r})
        import httpx  # imports httpcore, which imports h2 when it can
        client = httpx.Client()  # HTTP/1.1 clients work either way
        client.close()
        print(sys.modules.get("h2") is not None)
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(loaded)]


@pytest.mark.parametrize(
    ("argv", "started"),
    [
        (["sbom", "docker-archive:image.tar"], True),
        (["scan", "-o", "json", "docker-archive:image.tar"], True),
        (["sbom", "oci:./layout"], False),
        (["inspect", "docker-archive:image.tar"], False),  # reads no layer
        (["sbom", "registry.example/app:1"], False),
    ],
)
def test_the_hashing_helper_starts_before_typer_only_for_a_docker_archive(argv: list[str], started: bool) -> None:
    result = _python(
        f"""
        import sys
        from wharfinger.cli import process
        from wharfinger.inventory import layer_hasher
        process.prestart_helpers({argv!r})
        print("typer" in sys.modules)
        hasher = layer_hasher.LayerHasher.adopt()
        running = hasher._process is not None and hasher._process.poll() is None
        print(running, layer_hasher.LayerHasher.adopt() is hasher)  # adopted once
        hasher.close()
        print(hasher._process is None)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", str(started), "False", "True"]


def test_a_docker_archive_sbom_through_the_console_script(tmp_path: Path) -> None:
    """The prestarted helper verifies the archive's layers: an altered layer is refused."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        status = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n"
        info = tarfile.TarInfo("var/lib/dpkg/status")
        info.size = len(status)
        tar.addfile(info, io.BytesIO(status))
    blob = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(blob).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    config_name = hashlib.sha256(config.encode()).hexdigest() + ".json"

    def archive(layer_bytes: bytes, path: Path) -> Path:
        with tarfile.open(path, "w") as out:
            for name, data in (
                ("layer.tar", layer_bytes),
                (config_name, config.encode()),
                ("manifest.json", json.dumps([{"Config": config_name, "Layers": ["layer.tar"]}]).encode()),
            ):
                member = tarfile.TarInfo(name)
                member.size = len(data)
                out.addfile(member, io.BytesIO(data))
        return path

    good = archive(blob, tmp_path / "good.tar")
    at = blob.index(b"Package")
    bad = archive(blob[:at] + b"X" + blob[at + 1 :], tmp_path / "bad.tar")
    env = {"WHARFINGER_CACHE_DIR": str(tmp_path / "cache")}
    ok = _python_env(
        "from wharfinger.cli.process import run; import sys; sys.argv = ['wharfinger', 'sbom', "
        f"'docker-archive:{good}', '-o', 'json']; run()",
        env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "zlib1g" in ok.stdout
    refused = _python_env(
        "from wharfinger.cli.process import run; import sys; sys.argv = ['wharfinger', 'sbom', "
        f"'docker-archive:{bad}', '-o', 'json', '--no-cache']; run()",
        env,
    )
    assert refused.returncode != 0
    assert "does not match its digest" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_archive_named_on_the_command_line_is_found_as_the_source_finds_it(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")
    assert process._archive_file(str(archive)) == str(archive)
    assert process._archive_file(f"{archive}:app:1.0") == str(archive)  # docker-archive:FILE:NAME:TAG
    assert process._archive_file(f"{archive}@1") == str(archive)  # docker-archive:FILE@N
    assert process._archive_file(str(tmp_path / "missing.tar")) is None
    assert process._archive_file("x\0y") is None


def test_the_prestarted_helper_holds_nothing_of_the_command(tmp_path: Path) -> None:
    """The helper must not keep the command's output open (``wharfinger sbom … | jq`` ends when the
    command does, not when a hash in the helper does), runs isolated, and ends by itself once the
    command is gone. Its descriptors are read while it hashes (1 GiB: it is certainly still running)."""
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:  # one member of 1 GiB of zeros (a hole): ~0.7 s of hashing
        info = tarfile.TarInfo("layer.tar")
        info.size = 1 << 30
        out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        out.truncate(512 + (1 << 30) + 1024)
    code = textwrap.dedent(
        f"""
        import json, os, sys, time
        from wharfinger.cli import process
        from wharfinger.inventory import layer_hasher
        process.prestart_helpers(["sbom", "docker-archive:{archive}"])
        helper = layer_hasher._Prestarted.hasher._process
        # posix_spawn returns once the new program is mapped, before its arguments are (its command
        # line reads empty until then) and before close-on-exec descriptors are closed
        for _ in range(1000):
            with open(f"/proc/{{helper.pid}}/cmdline", "rb") as cmdline:
                line = cmdline.read()
            if line:
                break
            time.sleep(0.01)
        isolated = b"\\0-I\\0-S\\0-c\\0" in line
        where = f"/proc/{{helper.pid}}/fd"
        fds = {{name: os.readlink(f"{{where}}/{{name}}") for name in os.listdir(where)}}
        ours = os.readlink("/proc/self/fd/1")
        print(json.dumps([type(helper).__name__, helper.pid, fds, isolated, ours]), flush=True)
        os._exit(0)  # as exit_now leaves: the helper is still hashing
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.monotonic()
    command = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert command.returncode == 0, command.stderr
    kind, pid, fds, isolated, our_output = json.loads(command.stdout)
    assert kind == "_Spawned"
    assert isolated
    assert our_output.startswith("pipe:")  # the command's output, which the helper must not hold
    assert [fds[n] for n in ("0", "1", "2")] == [os.devnull] * 3
    assert our_output not in fds.values()
    assert not [target for target in fds.values() if target.startswith("pipe:")]
    deadline = started + 30
    while _state(str(pid)) not in {None, "Z"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(str(pid)) in {None, "Z"}  # gone (or waiting for its new parent to reap it)


def _state(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return None
