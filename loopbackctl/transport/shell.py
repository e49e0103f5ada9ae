"""A POSIX shell over netmiko's `linux` connection, with real exit statuses.

netmiko returns text, not exit codes, and spends most of a short session in fixed sleeps
(session preparation, clear_buffer, prompt polling) and in an interactive login shell on
a pty (readline, prompts, echo, /etc/bash.bashrc, a utmp record). Here netmiko builds
and authenticates the connection (`LeanLinuxSSH`), but the session is `sh` on an exec
channel without a pty, stderr merged into stdout, and `ShellSession` frames commands:

    printf '%s\n' TOKB<n>; { COMMAND
    }; printf '\n%s=%s\n' TOKE<n> "$?"

TOK is random per session and <n> counts commands, so a late answer to an earlier
command cannot be mistaken for the frame, and anything the login scripts print falls
outside the frames. A blocking read on the paramiko channel ends as soon as the end frame
arrives; an empty read means the session is gone.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import re
import secrets
import shlex
import time
from collections.abc import Sequence
from typing import Any, Protocol

import paramiko
from netmiko.channel import SSHChannel
from netmiko.linux.linux_ssh import LinuxSSH

from loopbackctl.errors import ConnectionLostError, DeviceError
from loopbackctl.model import Host
from loopbackctl.transport import ssh
from loopbackctl.transport.credentials import Credentials, redact
from loopbackctl.transport.framing import Result
from loopbackctl.transport.options import ConnectOptions

# CSI and OSC sequences, should a login script print colours or titles anyway.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]"
)
# First line of every session: stderr into stdout (sshd forwards the two pipes
# independently, so a message could arrive after the frame that follows it), C messages,
# no history file, and iproute2 on the PATH for non-root users too (Debian keeps `ip` in
# /usr/sbin, outside a user's default PATH).
SETUP = 'exec 2>&1; export LC_ALL=C PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; unset HISTFILE'
# The login shell runs this; `sh` is POSIX whatever the user's shell (bash, zsh, fish).
SHELL = "exec sh"
# Keep each line short, so no layer on the way (a pty, should a host force one) cuts it.
MAX_LINE = 3000
# The descriptor on which the shell holds apply's lock on the host (`hold_lock`). Every
# other command runs with it closed, so nothing a command leaves running (a detached
# revert job) keeps the lock once the session has ended.
LOCK_FD = 9
LOCK_FILE = "/run/lock/loopbackctl.lock"
_LOCKED = 3
_NO_LOCK = 4


class LeanLinuxSSH(LinuxSSH):
    """netmiko `linux`, connecting as netmiko does (client, keys, agent, password,
    timeouts), then opening `sh` on an exec channel instead of an interactive shell on a
    pty; no session preparation (RETURN + sleep, prompt discovery, clear_buffer), no
    cleanup probing. The cost: netmiko's own send_command/find_prompt/config_mode are
    not usable on this connection; ShellSession frames commands instead."""

    def establish_connection(self, width: int = 511, height: int = 1000) -> None:
        self.remote_conn_pre = self._build_ssh_client()
        self.remote_conn_pre.connect(**self._connect_params_dict())
        transport = self.remote_conn_pre.get_transport()
        assert transport is not None
        chan = transport.open_session(timeout=self.conn_timeout)
        chan.set_combine_stderr(True)
        chan.exec_command(SHELL)
        chan.settimeout(self.blocking_timeout)
        self.remote_conn = chan
        self.channel = SSHChannel(conn=chan, encoding=self.encoding)

    def _try_session_preparation(self, force_data: bool = True) -> None:
        return None

    def cleanup(self, command: str = "exit") -> None:
        return None


class Channel(Protocol):
    """The part of paramiko.Channel a ShellSession uses."""

    def recv(self, nbytes: int) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...

    def settimeout(self, timeout: float | None) -> None: ...

    def close(self) -> None: ...


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r", "")


class ShellSession:
    """A Session on `sh`: `exec`/`exec_many` return exit statuses, `chain` stops at the
    first failure, `run`/`configure` raise DeviceError on a non-zero status. A timeout or
    a cut connection closes the session and raises ConnectionLostError. `conn` is the
    netmiko connection whose `remote_conn` channel the shell runs on."""

    def __init__(self, conn: Any, creds: Credentials, options: ConnectOptions) -> None:
        self.conn, self.creds, self.options = conn, creds, options
        chan = conn.remote_conn
        if chan is None:
            raise DeviceError(f"{creds.where}: no SSH channel after login")
        self._chan: Channel | None = chan
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buf = ""
        self._token = secrets.token_hex(6)
        self._n = 0
        self._pending = SETUP + "\n"
        self.uid: int | None = None
        self.sent: list[str] = []
        self.before = ""

    @property
    def where(self) -> str:
        return self.creds.where

    # -- framing ----------------------------------------------------------------------

    def _frame(
        self, command: str, stdin: bool = False, lock_fd: bool = False
    ) -> tuple[str, re.Pattern[str]]:
        # stdin stays ours: a command reading it would swallow the frames that follow.
        self._n += 1
        tag = f"{self._token}{self._n}"
        redirect = ("" if stdin else " </dev/null") + ("" if lock_fd else f" {LOCK_FD}<&-")
        line = (
            f"printf '%s\\n' {tag}B; {{ {command}\n}}{redirect}; printf '\\n%s=%s\\n' {tag}E"
            ' "$?"\n'
        )
        rx = re.compile(rf"(?:^|\n){tag}B\n(.*?)\n{tag}E=(\d+)\n", re.S)
        return line, rx

    def _write(self, data: str) -> None:
        chan = self._alive()
        try:
            chan.sendall(data.encode())
        except (OSError, EOFError, paramiko.SSHException):
            self._lost("while sending")

    def _alive(self) -> Channel:
        if self._chan is None:
            raise ConnectionLostError(f"{self.creds.where}: the session is closed")
        return self._chan

    def _lost(self, what: str) -> None:
        self.close()
        raise ConnectionLostError(f"{self.creds.where}: connection lost {what}")

    def _read_until(self, rx: re.Pattern[str], timeout: float, what: str) -> re.Match[str]:
        chan = self._alive()
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self._buf)
            if m is not None:
                self.before = self._buf[: m.start()]
                self._buf = self._buf[m.end() :]
                return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise ConnectionLostError(
                    f"{self.creds.where}: no answer to {what!r} within {timeout:g}s; the"
                    " session was closed (raise --command-timeout if the host is slow)"
                )
            chan.settimeout(remaining)
            try:
                data = chan.recv(65536)
            except TimeoutError:
                continue
            except (OSError, EOFError, paramiko.SSHException):
                self._lost(f"while waiting for {what!r}")
            if not data:
                self._lost(f"while waiting for {what!r}")
            self._buf = _clean(self._buf + self._decoder.decode(data))

    # -- commands ---------------------------------------------------------------------

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]:
        """Run `commands` in one round trip (all are sent, whatever each returns)."""
        if not commands:
            return []
        frames = [self._frame(c) for c in commands]
        self._write(self._pending + "".join(line for line, _ in frames))
        self._pending = ""
        t = self.options.command_timeout if timeout is None else timeout
        out = []
        for command, (_, rx) in zip(commands, frames, strict=True):
            m = self._read_until(rx, t, command)
            out.append(Result(command, int(m.group(2)), m.group(1).removesuffix("\n")))
        return out

    def exec(self, command: str, timeout: float | None = None) -> Result:
        return self.exec_many([command], timeout)[0]

    def run(self, command: str) -> str:
        res = self.exec(command)
        if not res.ok:
            raise DeviceError(self.refusal(res))
        return res.output

    def chain(self, commands: Sequence[str], guard: str | None = None) -> list[Result | None]:
        """Run `commands` in one round trip, each only if all before it succeeded (and
        `guard`, a test run first, held); None for a command that was skipped."""
        if not commands:
            return []
        rc = "__lbc_rc"
        lines, rxs = [f"{rc}=0\n"], []
        for command in ([guard] if guard else []) + list(commands):
            self._n += 1
            tag = f"{self._token}{self._n}"
            lines.append(
                f"if [ \"${rc}\" = 0 ]; then printf '%s\\n' {tag}B; {{ {command}\n}} </dev/null"
                f" {LOCK_FD}<&-;"
                f" {rc}=$?; printf '\\n%s=%s\\n' {tag}E \"${rc}\"; else printf '%s\\n' {tag}S; fi\n"
            )
            rxs.append(re.compile(rf"(?:^|\n){tag}B\n(.*?)\n{tag}E=(\d+)\n|(?:^|\n){tag}S\n", re.S))
        # Listed as sent before they go: after a lost connection any of them may have run.
        mark = len(self.sent)
        self.sent += list(commands)
        self._write(self._pending + "".join(lines))
        self._pending = ""
        out: list[Result | None] = []
        for command, rx in zip(([guard] if guard else []) + list(commands), rxs, strict=True):
            m = self._read_until(rx, self.options.command_timeout, command)
            if m.group(2) is None:
                out.append(None)
            else:
                out.append(Result(command, int(m.group(2)), m.group(1).removesuffix("\n")))
        ran = [r.command for r in out[1 if guard else 0 :] if r is not None]
        self.sent[mark:] = ran
        return out

    def configure(self, commands: Sequence[str]) -> str:
        """Run `commands` in order, in one round trip; raise DeviceError naming the first
        that fails (the ones after it are not run)."""
        return self._check(self.chain(commands))

    def configure_as_root(self, commands: Sequence[str]) -> str:
        """`configure` as root: when the uid is not known yet, a test for root rides in
        the same round trip; only a non-root login pays for the sudo dialogue."""
        if self.uid is None:
            guard = '[ "$(id -u)" = 0 ]'
            results = self.chain(commands, guard)
            first = results[0]
            if first is not None and first.ok:
                self.uid = 0
                return self._check(results[1:])
        self.become_root()
        return self.configure(commands)

    def _check(self, results: Sequence[Result | None]) -> str:
        done = [r for r in results if r is not None]
        for r in done:
            if not r.ok:
                raise DeviceError(self.refusal(r))
        return "\n".join(r.output for r in done)

    def refusal(self, res: Result) -> str:
        said = " ".join(res.output.split())[:300] or "no message"
        shown = res.command if len(res.command) <= 120 else res.command[:117] + "..."
        text = f"{self.creds.where}: `{shown}` failed (exit {res.status}): {said}"
        return redact(text, self.creds.secrets)

    def write_file(self, path: str, content: bytes, mode: str = "600") -> list[str]:
        """Atomically replace `path` (temp file + mv in the same directory), keeping the
        previous file as `path`.bak. Returns the commands sent; on failure removes the
        temp files, leaves `path` as it was, and raises DeviceError."""
        directory, _, name = path.rpartition("/")
        tmp = f"{directory}/.{name}.loopbackctl-tmp"
        b64 = base64.b64encode(content).decode()
        chunk = MAX_LINE - 200
        parts = [b64[i : i + chunk] for i in range(0, len(b64), chunk)] or [""]
        cmds = [f"umask 077 && printf '%s' '{parts[0]}' > '{tmp}.b64'"]
        cmds += [f"printf '%s' '{p}' >> '{tmp}.b64'" for p in parts[1:]]
        cmds.append(
            f"base64 -d '{tmp}.b64' > '{tmp}' && chmod {mode} '{tmp}' && rm -f '{tmp}.b64'"
            f" && {{ [ ! -e '{path}' ] || cp -p '{path}' '{path}.bak'; }}"
            f" && mv -f '{tmp}' '{path}'"
        )
        done = [r for r in self.chain(cmds) if r is not None]
        failed = next((r for r in done if not r.ok), None)
        if failed is not None:
            self.exec(f"rm -f '{tmp}' '{tmp}.b64'")
            text = failed.output.replace(f"{tmp}.b64", path).replace(tmp, path)
            said = " ".join(text.split())[:300] or "no message"
            raise DeviceError(
                redact(f"{self.creds.where}: could not write {path}: {said}", self.creds.secrets)
            )
        return cmds

    def read_file(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        res = self.exec(f"if [ -e '{path}' ]; then base64 -w0 < '{path}'; else (exit 3); fi")
        if res.status == 3:
            return None
        if not res.ok:
            raise DeviceError(self.refusal(res))
        try:
            return base64.b64decode(res.output.strip(), validate=True)
        except ValueError:
            raise DeviceError(
                f"{self.creds.where}: could not read {path}: garbled answer"
            ) from None

    def hold_lock(self, holder: str, path: str = LOCK_FILE) -> str | None:
        """Take flock(1) on `path` on this shell's descriptor LOCK_FD for the rest of the
        session (the host's kernel releases it when the shell ends, however the session
        ends) and write `holder` in it — taking it over from an earlier session that wrote
        the same `holder`. None when taken; else the first line of the file (who holds
        it). DeviceError when it cannot be taken (no flock(1), no /run/lock). Run it as
        the user that writes the lock file (root): the lock lives in the shell that runs
        it."""
        q, who = shlex.quote(path), shlex.quote(holder)
        # Held under the same `holder` (this run's earlier session, cut off by the change
        # it made: see loopbackctl.management): that session's shell is ended, and the
        # lock passes to this one without a moment unlocked in between.
        takeover = (
            f'if [ $__lbc_l = 1 ] && [ "$(head -n 1 {q})" = {who} ]; then'
            f' __lbc_p=$(sed -n "s/^shell //p" {q});'
            f' [ -n "$__lbc_p" ] && kill -KILL "$__lbc_p" 2>/dev/null;'
            f" flock -w 10 {LOCK_FD}; __lbc_l=$?; fi;"
        )
        script = (
            f"if command exec {LOCK_FD}<>{q}; then flock -n {LOCK_FD}; __lbc_l=$?; {takeover}"
            f" if [ $__lbc_l = 0 ]; then printf '%s\\n' {who} \"shell $$\" >{q};"
            f" elif [ $__lbc_l = 1 ]; then head -n 1 {q}; exec {LOCK_FD}<&-; (exit {_LOCKED});"
            f" else exec {LOCK_FD}<&-; (exit {_NO_LOCK}); fi; else (exit {_NO_LOCK}); fi"
        )
        line, rx = self._frame(script, lock_fd=True)
        self._write(self._pending + line)
        self._pending = ""
        m = self._read_until(rx, self.options.command_timeout, "flock")
        status, output = int(m.group(2)), m.group(1).removesuffix("\n")
        if status == 0:
            return None
        if status == _LOCKED:
            return output.strip()
        said = " ".join(output.split())[:300] or "no message"
        raise DeviceError(
            f"{self.creds.where}: cannot take apply's lock {path} (flock from util-linux, and"
            f" /run/lock, are needed): {said}"
        )

    # -- privileges -------------------------------------------------------------------

    def become_root(self) -> None:
        """Make the shell root: nothing when already root, else `sudo -S -v` answering its
        password prompt with the secret (read from the channel: no terminal echoes it),
        then `sudo -n sh` on the credentials that just cached. Raises DeviceError when
        sudo refuses; the session is then closed."""
        if self.uid is None:
            self.uid = self._uid()
        if self.uid == 0:
            return
        if not self.creds.secret:
            raise DeviceError(
                f"{self.creds.where}: {self.creds.username} is not root and there is no sudo"
                " secret; set connection_options.netmiko.extras.secret or $LOOPBACKCTL_SECRET"
            )
        # sudo prints `%%` as `%`, so the prompt never equals the command line's text.
        prompt = f"{self._token}%P:"
        asked = prompt.replace("%", "%%")
        line, _ = self._frame(f"sudo -S -p '{asked}' -v", stdin=True)
        rx = re.compile(f"{re.escape(prompt)}|\n{self._token}{self._n}E=(\\d+)\n")
        self._write(self._pending + line)
        self._pending = ""
        answered = False
        while True:
            m = self._read_until(rx, self.options.command_timeout, "sudo -v")
            if m.group(0) != prompt:
                break
            if answered:  # asked again: the secret was wrong
                self.close()
                raise DeviceError(
                    f"{self.creds.where}: sudo refused the secret for {self.creds.username};"
                    " check connection_options.netmiko.extras.secret or $LOOPBACKCTL_SECRET"
                )
            answered = True
            self._write(self.creds.secret + "\n")
        if m.group(1) != "0":
            said = redact(" ".join(self.before.split())[-200:], self.creds.secrets)
            self.close()
            raise DeviceError(
                f"{self.creds.where}: sudo refused {self.creds.username}: {said}; grant sudo"
                " (sudoers) or log in as root"
            )
        # The root shell announces itself before it reads anything: until then nothing
        # else is sent, since the shell below would read ahead what is meant for it.
        self._n += 1
        ready, failed = f"{self._token}{self._n}R", f"{self._token}{self._n}F"
        self._write(f"sudo -n sh -c 'printf \"%s\\n\" {ready}; exec sh'; echo {failed}$?\n")
        rx = re.compile(f"(?:^|\n){ready}\n|(?:^|\n){failed}(\\d+)\n")
        m = self._read_until(rx, self.options.command_timeout, "sudo -n sh")
        if m.group(1) is not None:
            said = redact(" ".join(self.before.split())[-200:], self.creds.secrets)
            raise DeviceError(
                f"{self.creds.where}: sudo did not keep the credentials for `sudo -n sh`"
                f" ({said or 'sudoers timestamp_timeout=0?'}); allow it or log in as root"
            )
        self._pending = SETUP + "\n"
        self.uid = self._uid()
        if self.uid != 0:
            raise DeviceError(f"{self.creds.where}: still not root after `sudo -n sh`")

    def _uid(self) -> int:
        out = self.run("id -u").strip()
        if not out.isdigit():
            raise DeviceError(f"{self.creds.where}: `id -u` answered {out[:40]!r}")
        return int(out)

    def close(self) -> None:
        chan, self._chan = self._chan, None
        if chan is not None:
            with contextlib.suppress(Exception):
                chan.close()
        with contextlib.suppress(Exception):
            self.conn.disconnect()


def open_shell(host: Host, options: ConnectOptions, **_: Any) -> ShellSession:
    """Log in to `host` and return its shell session. Raises UnreachableError/DeviceError."""
    conn, creds = ssh.open_connection(host, options, "linux", LeanLinuxSSH)
    assert isinstance(conn, LeanLinuxSSH)
    return ShellSession(conn, creds, options)
