"""Local mode as a process: without privileges, its imports, its wall time, its resolver.

Needs root (namespaces, setpriv, mount namespaces): without it these tests FAIL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.localns import ip, require_root

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
HEAVY = {"netmiko", "paramiko", "textfsm", "jinja2", "ntc_templates", "rich", "yaml"}
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
# Imports everything local mode may import, then gives up every privilege before main().
_DROP_THEN_MAIN = """
import os, sys
from loopbackctl.cli import main
from loopbackctl.local import checks, icmp, probe, roundtrip, run, system, target
import loopbackctl.platforms.linux.driver, loopbackctl.report, loopbackctl.transport.local
os.setgroups([])
os.setresgid({id}, {id}, {id})
os.setresuid({id}, {id}, {id})
sys.exit(main(sys.argv[1:]))
"""


def _readable_by_nobody(path: Path) -> bool:
    """Every directory up to `path` searchable and the package readable by "other"."""
    for p in [path, *path.parents]:
        if not os.stat(p).st_mode & 0o001:
            return False
    return all(os.stat(f).st_mode & 0o004 for f in (path / "loopbackctl").rglob("*.py"))


def _nobody_python() -> list[str] | None:
    """An interpreter (3.11+) that uid 65534 can run and that imports this checkout."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    for exe in dict.fromkeys([sys.executable, "/usr/bin/python3"]):
        probe = [
            *SETPRIV,
            exe,
            "-c",
            "import sys, loopbackctl.cli; assert sys.version_info >= (3, 11)",
        ]
        try:
            done = subprocess.run(probe, env=env, cwd="/", capture_output=True, timeout=30)
        except OSError:
            continue
        if done.returncode == 0:
            return [exe]
    return None


def run_unprivileged(
    argv: list[str], prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`loopbackctl ARGV` as uid/gid 65534 with no groups and no capabilities.

    The real way (setpriv + python -m loopbackctl) when the checkout is readable by
    nobody; else the same process drops its privileges itself after importing.
    """
    require_root()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    python = _nobody_python() if _readable_by_nobody(ROOT) else None
    if python is not None:
        cmd = [*SETPRIV, *python, "-m", "loopbackctl", *argv]
    else:
        cmd = [sys.executable, "-c", _DROP_THEN_MAIN.format(id=NOBODY), *argv]
    return subprocess.run(
        [*(prefix or []), *cmd], env=env, cwd="/", capture_output=True, text=True, timeout=60
    )


def _one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# ---------------------------------------------------------------- privileges


def test_apply_without_cap_net_admin_exits_2_in_one_sentence(netns: str) -> None:
    done = run_unprivileged(["apply", "--local"])
    assert (done.returncode, done.stdout) == (2, "")
    line = _one_sentence(done.stderr)
    assert "CAP_NET_ADMIN" in line and "root" in line

    done = run_unprivileged(["apply", "--local", "--netns", netns])
    assert done.returncode == 2 and "CAP_NET_ADMIN" in _one_sentence(done.stderr)
    flags = json.loads(subprocess.check_output(["ip", "-n", netns, "-j", "link", "show", "lo"]))
    assert "UP" not in flags[0]["flags"]  # nothing was changed


def test_netns_without_cap_sys_admin_exits_2(netns: str) -> None:
    done = run_unprivileged(["verify", "--local", "--netns", netns])
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert netns in line and "CAP_SYS_ADMIN" in line


def _unprivileged_verify(ns: str) -> dict[str, Any]:
    done = run_unprivileged(
        ["verify", "--local", "--format", "json"], prefix=["ip", "netns", "exec", ns]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return {c["name"]: c for c in doc["hosts"][0]["checks"]}


def test_unprivileged_verify_says_which_icmp_it_could_not_do(netns: str) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
    checks = _unprivileged_verify(netns)
    for name in ("icmp 127.0.0.1", "icmp ::1"):
        assert (checks[name]["ok"], checks[name]["severity"]) == (False, "warning")
        detail = checks[name]["detail"]
        assert "net.ipv4.ping_group_range is 1 0 and does not include gid 65534" in detail
        assert "CAP_NET_RAW" in detail
    assert checks["http 127.0.0.1"]["ok"] and checks["refused ::1"]["ok"]

    ip("netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    checks = _unprivileged_verify(netns)
    assert checks["icmp 127.0.0.1"]["ok"] and checks["icmp ::1"]["ok"]
    assert checks["icmp ::1"]["detail"].endswith("(ping socket)")


# ---------------------------------------------------------------- imports and time


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--local"],
        ["verify", "--local", "--format", "json"],
        ["verify", "--local", "--format", "junit"],
        ["apply", "--local", "--check"],
        ["probe", "127.0.0.1:9"],
    ],
)
@pytest.mark.parametrize("where", ["checkout", "empty"])
def test_local_mode_never_imports_heavy_modules(
    argv: list[str], where: str, tmp_path: Path
) -> None:
    require_root()
    cwd = ROOT if where == "checkout" else tmp_path  # the checkout has ./inventory
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LOOPBACKCTL_INVENTORY", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "loopbackctl", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    allowed = {"yaml"} if where == "checkout" and argv[0] != "probe" else set()
    assert imported & HEAVY <= allowed, sorted(imported & HEAVY)
    assert "loopbackctl" in imported


# ---------------------------------------------------------------- the resolver


@pytest.mark.parametrize(
    ("hosts", "ok", "both"),
    [
        ("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n", True, True),
        ("127.0.0.1 localhost\n", False, False),
    ],
)
def test_localhost_resolution_is_reported_as_the_resolver_says(
    hosts: str, ok: bool, both: bool, tmp_path: Path
) -> None:
    require_root()
    if shutil.which("unshare") is None:
        pytest.fail("util-linux unshare is missing", pytrace=False)
    fake = tmp_path / "hosts"
    fake.write_text(hosts)
    fake.chmod(0o644)
    # A private mount namespace: /etc/hosts is replaced for this one process only.
    script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(fake),
            sys.executable,
            "-m",
            "loopbackctl",
            "verify",
            "--local",
            "--format",
            "json",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    check = next(c for c in host["checks"] if c["name"] == "resolve localhost")
    assert check["ok"] is ok
    assert ("::1" in check["detail"].split(";")[0]) is both
    assert "127.0.0.1" in check["detail"]
    if not ok:
        assert check["severity"] == "warning" and "/etc/hosts" in check["detail"]
