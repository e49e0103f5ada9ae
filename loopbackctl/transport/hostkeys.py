"""Host-key checking with OpenSSH's meaning, as paramiko MissingHostKeyPolicies.

strict: the key must already be in known_hosts. accept-new: an unknown host's key is
appended to known_hosts (thread- and process-safely); a known host with another key is
refused. off: nothing is checked or recorded.

known_hosts is parsed once per run and shared by all threads (`KnownHosts`): paramiko's
own HostKeys.load is quadratic in the file's length, which on a fleet-sized file costs
more CPU than the SSH handshakes. Each connection's client gets only its host's entries,
so paramiko still prefers the recorded key type and refuses a changed key itself
(BadHostKeyException) in strict and accept-new.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import os
import threading
from collections.abc import Iterator

import paramiko

from loopbackctl.transport.options import HostKeyMode

Entry = tuple[str, str]  # (key type, base64 key)


class UnknownHostKeyError(paramiko.SSHException):  # type: ignore[misc]
    """strict: the server's key is not in known_hosts."""

    def __init__(self, hostname: str, key: paramiko.PKey, path: str) -> None:
        self.hostname, self.key, self.path = hostname, key, path
        super().__init__(f"{hostname} is not in {path}")


def _hashed_match(pattern: str, name: str) -> bool:
    # OpenSSH HashKnownHosts: |1|base64(salt)|base64(HMAC-SHA1(salt, name))
    try:
        _, _, salt, digest = pattern.split("|", 3)
        mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(mac, base64.b64decode(digest))
    except (ValueError, binascii.Error):
        return False


class KnownHosts:
    """One known_hosts file, parsed once and re-parsed only when it changes on disk.
    Exact and hashed host names, as paramiko; marker lines (@revoked, @cert-authority)
    are ignored, as paramiko does."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._plain: dict[str, list[Entry]] = {}
        self._hashed: list[tuple[str, Entry]] = []

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._plain, self._hashed = None, {}, []
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        plain: dict[str, list[Entry]] = {}
        hashed: list[tuple[str, Entry]] = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3 or fields[0].startswith(("#", "@")):
                    continue
                names, entry = fields[0], (fields[1], fields[2])
                for name in names.split(","):
                    if name.startswith("|1|"):
                        hashed.append((name, entry))
                    else:
                        plain.setdefault(name, []).append(entry)
        self._stamp, self._plain, self._hashed = stamp, plain, hashed

    def lookup(self, name: str) -> list[Entry]:
        """The recorded (type, key) entries for `name` ("host" or "[host]:port")."""
        with self._lock:
            self._refresh()
            found = list(self._plain.get(name, []))
            found += [e for pattern, e in self._hashed if _hashed_match(pattern, name)]
            return found

    def host_keys(self, name: str) -> paramiko.HostKeys:
        """A HostKeys holding only `name`'s entries (for one connection's client)."""
        keys = paramiko.HostKeys()
        for kind, b64 in self.lookup(name):
            with contextlib.suppress(Exception):  # a key type paramiko cannot load
                keys.add(name, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(b64)))
        return keys

    def add(self, name: str, key: paramiko.PKey) -> None:
        """Record `key` for `name`, unless the file (re-read under an exclusive lock, so
        other threads and processes count) has meanwhile recorded another key of that
        type for it: then raise BadHostKeyException."""
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with self._lock, _file_lock(self.path):
            self._stamp = None
            for kind, b64 in self.lookup(name):
                if kind != key.get_name():
                    continue
                if b64 == key.get_base64():
                    return
                old = paramiko.PKey.from_type_string(kind, base64.b64decode(b64))
                raise paramiko.BadHostKeyException(name, key, old)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as f:
                f.write(f"{name} {key.get_name()} {key.get_base64()}\n")
            self._stamp = None


_FILES: dict[str, KnownHosts] = {}
_FILES_LOCK = threading.Lock()


def known_hosts(path: str) -> KnownHosts:
    """The shared KnownHosts for `path` (absolute)."""
    with _FILES_LOCK:
        kh = _FILES.get(path)
        if kh is None:
            kh = _FILES[path] = KnownHosts(path)
        return kh


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class StrictPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def __init__(self, known: KnownHosts) -> None:
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise UnknownHostKeyError(hostname, key, self.known.path)


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Record an unknown host's key; refuse one that differs from a key recorded
    meanwhile by another thread or process."""

    def __init__(self, known: KnownHosts) -> None:
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.known.add(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


class OffPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        return None


def client_for(
    mode: HostKeyMode, path: str, server_name: str
) -> tuple[paramiko.SSHClient, paramiko.MissingHostKeyPolicy]:
    """An SSHClient holding `server_name`'s recorded keys ("host", or "[host]:port" off
    port 22), and the policy for a key it does not hold."""
    client = paramiko.SSHClient()
    policy: paramiko.MissingHostKeyPolicy
    if mode == "off":
        policy = OffPolicy()
    else:
        known = known_hosts(path)
        for name, kinds in known.host_keys(server_name).items():
            for kind, key in kinds.items():
                client.get_host_keys().add(name, kind, key)
        policy = StrictPolicy(known) if mode == "strict" else AcceptNewPolicy(known)
    client.set_missing_host_key_policy(policy)
    return client, policy


def known_hosts_path(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))
