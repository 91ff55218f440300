"""Where the project and the read-only shared vectors are: one resolution for fixtures and tables."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared")).resolve()
