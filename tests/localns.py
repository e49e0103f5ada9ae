"""Shared by the local-mode tests: root is required, `ip`, and a fresh namespace fixture."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest

# Non-root users often have no sbin in PATH; iproute2 lives there on Debian.
_IP_CANDIDATES = ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")


def ip_binary() -> str:
    return next((p for p in _IP_CANDIDATES if os.access(p, os.X_OK)), "ip")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "local-mode tests create network namespaces and change lo: run them as root (CI does)",
            pytrace=False,
        )
    if shutil.which("ip") is None and not os.access("/usr/sbin/ip", os.X_OK):
        pytest.fail("iproute2's ip is missing: apt-get install iproute2", pytrace=False)


def ip(*args: str) -> str:
    done = subprocess.run(
        [ip_binary(), *args], capture_output=True, text=True, check=False, timeout=10
    )
    if done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh namespace named lbl + 6 hex digits, deleted afterwards whatever happens."""
    require_root()
    name = f"lbl{secrets.token_hex(3)}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run([ip_binary(), "netns", "del", name], check=False, timeout=10)
