"""What this machine must have to run a lab: root, and a few Debian packages."""

from __future__ import annotations

import os
from dataclasses import dataclass

from loopbackctl.lab import frr, netns, sshd
from loopbackctl.lab.errors import LabUnavailable


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


def missing(*, routers: bool = False, sudo: bool = False) -> list[Missing]:
    """Everything that stops a lab from being built here (empty: nothing); `routers`: FRR
    routers too; `sudo`: a sudo user on the hosts."""
    found: list[Missing] = []
    if os.geteuid() != 0:
        found.append(Missing(None))
    tools = [
        (sshd.SSHD, "openssh-server"),
        (sshd.SSH_KEYGEN, "openssh-client"),
        (netns.IP, "iproute2"),
        (netns.UNSHARE, "util-linux"),
    ]
    if routers:
        tools += [(frr.ZEBRA, "frr"), (frr.VTYSH, "frr"), (netns.NSENTER, "util-linux")]
    if sudo:
        tools += [(sshd.SUDO, "sudo"), ("/etc/sudoers", "sudo"), (sshd.OPENSSL, "openssl")]
    found += [Missing(path, pkg) for path, pkg in tools if not os.path.exists(path)]
    return found


def require(subject: str, *, routers: bool = False, sudo: bool = False) -> None:
    """LabUnavailable with one sentence for the first thing missing."""
    problems = missing(routers=routers, sudo=sudo)
    if problems:
        raise LabUnavailable(problems[0].sentence(subject))
