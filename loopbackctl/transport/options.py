"""How to reach a device: options every transport reads. Imports nothing of loopbackctl."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HostKeyMode = Literal["strict", "accept-new", "off"]
TransportKind = Literal["ssh", "local"]

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_COMMAND_TIMEOUT = 30.0
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
# apply's confirm-or-revert window (runner.Job.confirm_timeout), long enough for a slow
# host's push and read-back; IOS rounds it up to whole minutes.
DEFAULT_CONFIRM_TIMEOUT = 120.0
# apply's lock directory on the controller, for devices without a lock of their own
# (loopbackctl.locks): the operators of one machine share it.
DEFAULT_LOCK_DIR = "/run/lock/loopbackctl"
LOCK_DIR_ENV = "LOOPBACKCTL_LOCK_DIR"


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach one device, resolved by the caller (command line > host data > default).

    host_keys has OpenSSH's StrictHostKeyChecking meaning (strict = yes, accept-new,
    off = no checking); a changed key fails the host in strict and accept-new.
    connect_timeout bounds TCP connect, SSH banner and authentication each;
    command_timeout bounds each command's answer.
    transport: "ssh" reaches the device over SSH; "local" runs its commands on this
    machine, in the calling thread's network namespace (local mode), where the other
    options have no meaning but command_timeout.
    """

    host_keys: HostKeyMode = "accept-new"
    known_hosts: str = DEFAULT_KNOWN_HOSTS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    transport: TransportKind = "ssh"
