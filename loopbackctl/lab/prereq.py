"""What this machine must have to run a lab: root, a few Debian packages, and for IOS
routers the simulator's Python packages."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from loopbackctl.lab import netns, sshd
from loopbackctl.lab.errors import LabUnavailable
from loopbackctl.lab.kinds import kind


@dataclass(frozen=True)
class Missing:
    """One missing privilege (`path` None: root) or program and its Debian package."""

    path: str | None
    package: str | None = None

    def __str__(self) -> str:
        if self.path is None:
            return (
                "needs root (network namespaces, veths, and sshd, which cannot run "
                "rootless: setgroups fails under a user namespace)"
            )
        return f"{self.path} is missing (Debian package {self.package})"

    def sentence(self, subject: str) -> str:
        """One sentence naming the privilege or the package, for `subject` ("lab up")."""
        if self.path is None:
            return f"{subject} needs root (network namespaces, sshd): run it as root"
        return (
            f"{subject} needs {self.path}, which is missing: install the Debian package "
            f"{self.package} (apt-get install {self.package})"
        )


def missing(kinds: Iterable[str] = (), *, sudo: bool = False) -> list[Missing]:
    """Everything that stops a lab from being built here (empty: nothing): what every
    device needs, what devices of `kinds` need, and with `sudo` what a sudo user needs."""
    found: list[Missing] = []
    if os.geteuid() != 0:
        found.append(Missing(None))
    tools = [
        (sshd.SSHD, "openssh-server"),
        (sshd.SSH_KEYGEN, "openssh-client"),
        (netns.IP, "iproute2"),
        (netns.UNSHARE, "util-linux"),
    ]
    for name in kinds:
        tools += [t for t in kind(name).needs if t not in tools]
    if sudo:
        tools += [(sshd.SUDO, "sudo"), ("/etc/sudoers", "sudo"), (sshd.OPENSSL, "openssl")]
    found += [Missing(path, pkg) for path, pkg in tools if not os.path.exists(path)]
    return found


def require(subject: str, *, kinds: Iterable[str] = (), sudo: bool = False) -> None:
    """LabUnavailable with one sentence for the first thing missing (a privilege, a
    Debian package, or what a kind needs besides, such as the IOS simulator)."""
    kinds = list(kinds)
    problems = missing(kinds, sudo=sudo)
    if problems:
        raise LabUnavailable(problems[0].sentence(subject))
    for name in kinds:
        why = kind(name).unavailable()
        if why is not None:
            raise LabUnavailable(f"{subject} cannot build {kind(name).title}s: {why}")


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def capacity(devices: int, routers: int) -> list[str]:
    """Problems with this machine's limits for a lab of that size: processes
    (one sshd per device, three daemons per router) against kernel.pid_max and
    kernel.threads-max. (The neighbour tables' gc_thresh3 does not limit a lab: its
    entries are permanent, see `addresses`.)"""
    needed = devices + 3 * routers + 64
    running = sum(1 for e in os.scandir("/proc") if e.name.isdigit())
    problems = []
    for key in ("pid_max", "threads-max"):
        limit = _read_int(f"/proc/sys/kernel/{key}")
        if limit is not None and running + needed > limit:
            problems.append(
                f"a lab of {devices} devices needs about {needed} processes and "
                f"{running} run already, above kernel.{key} = {limit}: raise it "
                f"(sysctl -w kernel.{key}={2 * (running + needed)})"
            )
    return problems
