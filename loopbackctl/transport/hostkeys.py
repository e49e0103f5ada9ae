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


class _Hashed:
    """An OpenSSH HashKnownHosts name, |1|base64(salt)|base64(HMAC-SHA1(salt, name)), keyed
    once: matching a name costs one HMAC copy and update, about 1 us."""

    def __init__(self, pattern: str) -> None:
        _, _, salt, digest = pattern.split("|", 3)  # ValueError: not this form
        self.keyed = hmac.new(base64.b64decode(salt), digestmod=hashlib.sha1)
        self.digest = base64.b64decode(digest)

    def matches(self, name: str) -> bool:
        mac = self.keyed.copy()
        mac.update(name.encode())
        return hmac.compare_digest(mac.digest(), self.digest)


class _Entries:
    """Parsed known_hosts lines: exact names in a dict, hashed names in a list."""

    def __init__(self) -> None:
        self.plain: dict[str, list[Entry]] = {}
        self.hashed: list[tuple[_Hashed, Entry]] = []

    def add_lines(self, text: str) -> None:
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 3 or fields[0].startswith(("#", "@")):
                continue
            names, entry = fields[0], (fields[1], fields[2])
            for name in names.split(","):
                if not name.startswith("|1|"):
                    self.plain.setdefault(name, []).append(entry)
                    continue
                with contextlib.suppress(ValueError, binascii.Error):
                    self.hashed.append((_Hashed(name), entry))

    def lookup(self, name: str) -> list[Entry]:
        found = list(self.plain.get(name, []))
        return found + [e for h, e in self.hashed if h.matches(name)]


class KnownHosts:
    """One known_hosts file, parsed once; when it changes on disk, only what was appended
    is parsed (accept-new appends a line per new host: re-reading the whole file each time
    would make a fleet's first run quadratic). A file replaced (`ssh-keygen -R` writes a
    new one), shortened, or rewritten so that the end of the last line read is no longer
    where it was, is read again whole. Exact and hashed host
    names, as paramiko; marker lines (@revoked, @cert-authority) are ignored, as paramiko
    does. A hashed file costs an HMAC per hashed name per lookup, as in OpenSSH."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._done = _Entries()  # complete lines, up to _offset
        self._tail = _Entries()  # a last line without its newline (yet)
        self._offset = 0
        self._last = b""  # the end of the last complete line read (up to 256 bytes)

    def _read_from(self, offset: int) -> bytes | None:
        """The file from `offset` on; None when it is gone."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return None

    def _appended(self, size: int) -> bytes | None:
        """What was appended since the last read, or None when the file changed otherwise."""
        if not 0 < self._offset <= size:
            return None
        start = self._offset - len(self._last)
        data = self._read_from(start)
        if data is None or not data.startswith(self._last):
            return None
        return data[len(self._last) :]

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        stamp = None if st is None else (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp is not None and stamp == self._stamp:
            return
        same_file = stamp is not None and self._stamp is not None and self._stamp[:2] == stamp[:2]
        data = self._appended(stamp[3]) if stamp is not None and same_file else None
        if data is None:
            self._done, self._offset, self._last = _Entries(), 0, b""
            data = self._read_from(0) if stamp is not None else b""
            if data is None:  # gone between stat and open
                stamp, data = None, b""
        end = data.rfind(b"\n") + 1
        self._done.add_lines(data[:end].decode("utf-8", errors="replace"))
        if end:
            self._offset += end
            self._last = (self._last + data[:end])[-256:]
        self._tail = _Entries()
        self._tail.add_lines(data[end:].decode("utf-8", errors="replace"))
        self._stamp = stamp

    def lookup(self, name: str) -> list[Entry]:
        """The recorded (type, key) entries for `name` ("host" or "[host]:port")."""
        with self._lock:
            self._refresh()
            return self._done.lookup(name) + self._tail.lookup(name)

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
            for kind, b64 in self.lookup(name):
                if kind != key.get_name():
                    continue
                if b64 == key.get_base64():
                    return
                old = paramiko.PKey.from_type_string(kind, base64.b64decode(b64))
                raise paramiko.BadHostKeyException(name, key, old)
            line = f"{name} {key.get_name()} {key.get_base64()}\n".encode()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a hand-edited last line without its newline
                os.write(fd, line)
            finally:
                os.close(fd)


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
