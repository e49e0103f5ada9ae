"""apply's per-device lock: two runs never change one device at once.

Held from before apply reads the device until after its change is confirmed, saved or
rolled back; `verify` and `apply --check` read only and take none. Where it lives:

- On the device, when its driver is `Locking` (Linux, FRR): the session's shell holds
  flock(1) on /run/lock/loopbackctl.lock for the session's lifetime, so the host's kernel
  releases it when the session ends however it ends (the controller killed, the
  connection cut), and no stale lock outlives a run.
- Else (IOS) on the controller: flock(2) on one file per device (`hostname_port.lock`)
  in a lock directory the operators share (--lock-dir, $LOOPBACKCTL_LOCK_DIR, default
  /run/lock/loopbackctl: the operators of one jump host), released by the controller's
  kernel when the run's process ends. On NFS, Linux takes it as an NFS lock (NFSv4, or
  v3 with lockd), so controllers that mount one directory exclude each other too.

Either way the lock file names its holder, `pid P on controller C since T`, and the
second run reports the device as `locked by another loopbackctl run (<that>)` while its
other devices proceed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import time
from pathlib import Path

from loopbackctl.errors import DeviceError, LockedError, UsageError
from loopbackctl.model import Host
from loopbackctl.platforms.base import Driver, Locking, Session
from loopbackctl.transport import credentials
from loopbackctl.transport.framing import HoldsLock
from loopbackctl.transport.options import DEFAULT_LOCK_DIR, LOCK_DIR_ENV

__all__ = ["DEFAULT_LOCK_DIR", "LOCK_DIR_ENV", "Guard", "check_dir", "holder", "lock_shell"]


def holder() -> str:
    """This process as a lock's holder: `pid P on controller C` (the time is added when a
    lock is taken)."""
    return f"pid {os.getpid()} on controller {socket.gethostname()}"


def since(who: str) -> str:
    return f"{who} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"


def locked(by: str) -> LockedError:
    """The loser's sentence; `by` is the first line of the lock file."""
    by = " ".join(by.split())[:200] or "its holder did not say who it is"
    return LockedError(f"locked by another loopbackctl run ({by})")


def lock_shell(session: Session, who: str) -> None:
    """A Locking driver's `lock` over a shell session: as root (the lock file is root's,
    and the lock lives in the shell that takes it). Local mode's shell holds none."""
    if not isinstance(session, HoldsLock):
        return
    session.become_root()
    by = session.hold_lock(who)
    if by is not None:
        raise locked(by)


def uses_dir(driver: Driver) -> bool:
    """Whether apply locks this driver's devices in the controller's lock directory."""
    return not isinstance(driver, Locking)


def _unusable(directory: str, why: str) -> UsageError:
    return UsageError(
        f"cannot use the lock directory {directory} ({why}); set --lock-dir or"
        f" ${LOCK_DIR_ENV} to a directory the operators share (mode 1777, as /tmp)"
    )


def check_dir(directory: str) -> None:
    """Make the lock directory if it is missing (sticky and writable by every operator,
    as /tmp); UsageError, before any device is contacted, when it cannot be used."""
    path = Path(directory)
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        pass  # made before, by any operator (or by a run starting at the same moment)
    except OSError as exc:
        raise _unusable(directory, exc.strerror or type(exc).__name__) from None
    else:
        with contextlib.suppress(OSError):
            path.chmod(0o1777)
    if not path.is_dir():
        raise _unusable(directory, "not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise _unusable(directory, "not writable by this user")


def lock_file(directory: str, host: Host) -> Path:
    """The device's lock file: named by where the session goes (hostname and port), so
    that operators whose inventories name the device differently still share it."""
    creds = credentials.resolve(host)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{creds.hostname.lower()}_{creds.port}")
    return Path(directory) / f"{name}.lock"


def _open(path: Path) -> int:
    # Never O_CREAT on a file that exists: in a sticky directory (fs.protected_regular)
    # that is refused for another operator's file, even one this user may write.
    while True:
        try:
            return os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666)  # the next operator writes their name in it
        return fd


class DirLock:
    """A device's lock in the controller's lock directory, held until `release`."""

    def __init__(self, path: Path, holding: str) -> None:
        try:
            fd = _open(path)
        except OSError as exc:
            raise DeviceError(f"cannot open the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with contextlib.suppress(OSError):
                first = os.pread(fd, 400, 0).decode(errors="replace").split("\n", 1)[0]
            os.close(fd)
            raise locked(first) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (holding + "\n").encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class Guard:
    """One host's apply lock in one run: `before_connect` takes the controller's lock once
    (for a driver that is not Locking), `after_connect` the device's on every session
    (the device releases it with the session); `release` at the end of the host's run."""

    def __init__(self, driver: Driver, host: Host, who: str, lock_dir: str) -> None:
        self.driver, self.host, self.lock_dir = driver, host, lock_dir
        # One holder line for every session of the run: a later session of this run
        # takes the lock over from an earlier one still holding it (a cut session).
        self.holding = since(who)
        self._dir: DirLock | None = None

    def before_connect(self) -> None:
        if self._dir is None and not isinstance(self.driver, Locking):
            self._dir = DirLock(lock_file(self.lock_dir, self.host), self.holding)

    def after_connect(self, session: Session) -> None:
        if isinstance(self.driver, Locking):
            self.driver.lock(session, self.host, self.holding)

    def release(self) -> None:
        if self._dir is not None:
            self._dir.release()
            self._dir = None
