"""Shared pytest set-up. Bed fixtures live in their own modules under tests/."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

pytest_plugins = ["tests.bed.fixtures", "tests.localns"]

ROOT = Path(__file__).resolve().parent.parent


def _sigterm(signum: int, frame: FrameType | None) -> None:
    # CI or a person stopping the run: unwind through fixture teardown so namespaces,
    # links and processes started by the tests are removed.
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _sigterm)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
