"""Host-key checking with OpenSSH's meaning, as paramiko MissingHostKeyPolicies.

strict: the key must already be in known_hosts. accept-new: an unknown host's key is
appended to known_hosts (thread- and process-safely); a known host with another key is
refused. off: nothing is checked or recorded. A changed key is refused by paramiko itself
(BadHostKeyException) whenever known_hosts is loaded, i.e. in strict and accept-new.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

import paramiko

from loopbackctl.driver import HostKeyMode

_LOCK = threading.Lock()


class UnknownHostKeyError(paramiko.SSHException):  # type: ignore[misc]
    """strict: the server's key is not in known_hosts."""

    def __init__(self, hostname: str, key: paramiko.PKey, path: str) -> None:
        self.hostname, self.key, self.path = hostname, key, path
        super().__init__(f"{hostname} is not in {path}")


class StrictPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def __init__(self, path: str) -> None:
        self.path = path

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise UnknownHostKeyError(hostname, key, self.path)


class OffPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        return None


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    with _LOCK:
        fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Record an unknown host's key; refuse a key that differs from one recorded
    meanwhile by another thread or process."""

    def __init__(self, path: str) -> None:
        self.path = path

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with _file_lock(self.path):
            known = paramiko.HostKeys()
            if os.path.isfile(self.path):
                known.load(self.path)
            entry = known.lookup(hostname)
            if entry is not None and key.get_name() in entry:
                if entry[key.get_name()] != key:
                    raise paramiko.BadHostKeyException(hostname, key, entry[key.get_name()])
            else:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a") as f:
                    f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


def policy(mode: HostKeyMode, path: str) -> paramiko.MissingHostKeyPolicy:
    if mode == "strict":
        return StrictPolicy(path)
    if mode == "accept-new":
        return AcceptNewPolicy(path)
    return OffPolicy()


def known_hosts_path(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))
