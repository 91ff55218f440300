"""A fresh SoftHSM2 token in a directory of its own (the real HSM emulator from Debian's softhsm2)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def new_token(root: Path, *, label: str, pin: str, so_pin: str) -> dict[str, str]:
    """Initialise an empty token under ``root``; the environment that points SoftHSM2 at it."""
    assert shutil.which("softhsm2-util"), "softhsm2 is not installed (scripts/install-test-deps installs it)"
    assert shutil.which("pkcs11-tool"), "opensc is not installed (scripts/install-test-deps installs it)"
    (root / "tokens").mkdir(parents=True)
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    env = {"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return env
