"""A Shell on this machine: each command is `sh -c COMMAND` in a subprocess.

The subprocess is started by the calling thread, so it runs in that thread's network
namespace (local mode enters `--netns` before anything runs). stdout and stderr are
merged, stdin is /dev/null, and the environment is the caller's with C messages and
iproute2's sbin directories on the PATH (Debian keeps `ip` in /usr/sbin, outside a
user's default PATH), as over SSH. Light: subprocess only, no netmiko or paramiko.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from loopbackctl.errors import ConnectionLostError, DeviceError
from loopbackctl.transport.framing import Result
from loopbackctl.transport.options import ConnectOptions

CAP_NET_ADMIN = 12
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
SHELL = "/bin/sh"


def effective_caps() -> int:
    """CapEff of this process as a bit set (0 when /proc cannot say)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def has_cap(bit: int) -> bool:
    return bool(effective_caps() >> bit & 1)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p]
    env["PATH"] = os.pathsep.join(path + [p for p in SBIN if p not in path])
    env["LC_ALL"] = "C"
    return env


class LocalShell:
    """The Shell protocol (transport.framing) on this machine. `exec`/`exec_many` return
    exit statuses; `chain`/`configure` stop at the first failure; a command that does not
    finish within the command timeout is killed and raises ConnectionLostError (its
    effect is unknown until lo is read again). `where` names the host in messages."""

    def __init__(self, where: str, options: ConnectOptions | None = None) -> None:
        self._where = where
        self.options = options or ConnectOptions(transport="local")
        self.uid: int | None = os.geteuid()
        self.sent: list[str] = []
        self._env = _environment()
        self._closed = False

    @property
    def where(self) -> str:
        return self._where

    # -- commands ---------------------------------------------------------------------

    def _sh(self, script: str, what: str, timeout: float | None) -> tuple[int, str]:
        """(exit status, output) of `sh -c script`."""
        if self._closed:
            raise ConnectionLostError(f"{self._where}: the session is closed")
        t = self.options.command_timeout if timeout is None else timeout
        try:
            done = subprocess.run(
                [SHELL, "-c", script],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._env,
                timeout=t,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ConnectionLostError(
                f"{self._where}: `{what}` did not finish within {t:g}s and was stopped"
                " (raise --command-timeout if this machine is slow)"
            ) from None
        except OSError as exc:
            raise DeviceError(f"{self._where}: cannot start {SHELL}: {exc.strerror}") from None
        status = done.returncode if done.returncode >= 0 else 128 - done.returncode
        return status, done.stdout.decode("utf-8", "replace")

    def _run(self, command: str, timeout: float | None) -> Result:
        status, output = self._sh(command, command, timeout)
        return Result(command, status, output.removesuffix("\n"))

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]:
        """Run every command in order, whatever each returns, in one `sh`: each framed by
        a random token, as over SSH, so what one prints cannot pass for another's status."""
        if len(commands) < 2:
            return [self._run(c, timeout) for c in commands]
        tag = os.urandom(6).hex()
        script = "".join(
            f"printf '%s\\n' {tag}B{i}; {{ {c}\n}} </dev/null; printf '\\n%s=%s\\n' {tag}E{i}"
            ' "$?"\n'
            for i, c in enumerate(commands)
        )
        _, output = self._sh(script, "; ".join(commands), timeout)
        out = []
        for i, command in enumerate(commands):
            m = re.search(rf"(?:^|\n){tag}B{i}\n(.*?)\n{tag}E{i}=(\d+)\n", output, re.S)
            if m is None:
                raise ConnectionLostError(
                    f"{self._where}: the shell ended before `{command}` answered"
                )
            out.append(Result(command, int(m.group(2)), m.group(1).removesuffix("\n")))
        return out

    def exec(self, command: str, timeout: float | None = None) -> Result:
        return self._run(command, timeout)

    def run(self, command: str) -> str:
        res = self.exec(command)
        if not res.ok:
            raise DeviceError(self.refusal(res))
        return res.output

    def chain(self, commands: Sequence[str]) -> list[Result | None]:
        """Run `commands` in order, each only if all before it succeeded; None for a
        command that was skipped. Each is listed in `sent` before it starts."""
        out: list[Result | None] = []
        for command in commands:
            if out and (out[-1] is None or not out[-1].ok):
                out.append(None)
                continue
            self.sent.append(command)
            out.append(self._run(command, None))
        return out

    def configure(self, commands: Sequence[str]) -> str:
        """Run `commands` in order; raise DeviceError naming the first that fails (the
        ones after it are not run)."""
        done = [r for r in self.chain(commands) if r is not None]
        for r in done:
            if not r.ok:
                raise DeviceError(self.refusal(r))
        return "\n".join(r.output for r in done)

    def configure_as_root(self, commands: Sequence[str]) -> str:
        """`configure` with the privilege to change interfaces: root, or CAP_NET_ADMIN
        (all `ip` needs). DeviceError, running nothing, without either."""
        if self.uid != 0 and not has_cap(CAP_NET_ADMIN):
            self.become_root()
        return self.configure(commands)

    def refusal(self, res: Result) -> str:
        said = " ".join(res.output.split())[:300] or "no message"
        shown = res.command if len(res.command) <= 120 else res.command[:117] + "..."
        return f"{self._where}: `{shown}` failed (exit {res.status}): {said}"

    # -- files ------------------------------------------------------------------------

    def write_file(self, path: str, content: bytes, mode: str = "600") -> list[str]:
        """Atomically replace `path` (temp file + rename in the same directory), keeping
        the previous file as `path`.bak. Returns what was done, in words; on failure
        removes the temp file, leaves `path` as it was, and raises DeviceError."""
        directory, _, name = path.rpartition("/")
        tmp = f"{directory}/.{name}.loopbackctl-tmp"
        done = [f"write {path} (mode {mode}, previous kept as {path}.bak)"]
        self.sent += done
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, content)
                os.fchmod(fd, int(mode, 8))
                os.fsync(fd)
            finally:
                os.close(fd)
            if os.path.exists(path):
                shutil.copy2(path, f"{path}.bak")
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise DeviceError(
                f"{self._where}: could not write {path}: {exc.strerror or exc}"
            ) from None
        return done

    def read_file(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DeviceError(f"{self._where}: could not read {path}: {exc.strerror}") from None

    # -- privileges -------------------------------------------------------------------

    def become_root(self) -> None:
        """Nothing when this process is root; a local process cannot raise its own
        privileges, so otherwise DeviceError saying how to run it."""
        if self.uid == 0:
            return
        raise DeviceError(
            f"{self._where}: this needs root and loopbackctl runs as uid {self.uid};"
            " run it as root (for example with sudo)"
        )

    def close(self) -> None:
        self._closed = True
