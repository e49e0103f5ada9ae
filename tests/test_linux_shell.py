"""transport.shell against a real `sh` on pipes, as on the SSH exec channel it uses (no
pty, stderr merged): framing, exit statuses, timeouts, a cut session, file writes, and
the sudo dialogue's edge cases (with a stand-in sudo that behaves like `sudo -S`/`-n`;
the real sudo, as the bed's non-root user, is in test_linux_sudo_agent.py)."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopbackctl.errors import ConnectionLostError, DeviceError
from loopbackctl.transport.credentials import Credentials
from loopbackctl.transport.options import ConnectOptions
from loopbackctl.transport.shell import ShellSession

SECRET = "s3cret-Sudo!"

FAKE_SUDO = r"""#!/bin/bash
# Stand-in for sudo: -S (password from stdin, prompt on stderr), -n, -p PROMPT, -v, or a
# command; caches credentials in a stamp file.
prompt="[sudo] password: "; mode=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p) prompt="$2"; shift 2;; -v) mode=v; shift;; -n) mode=n; shift;; -S) shift;;
    *) break;;
  esac
done
if [ ! -e "$FAKE_SUDO_STAMP" ]; then
  if [ "$mode" = n ]; then echo "sudo: a password is required" >&2; exit 1; fi
  for try in 1 2 3; do
    printf '%s' "${prompt//%%/%}" >&2; IFS= read -r pw
    if [ "$pw" = "$FAKE_SUDO_PW" ]; then
      [ -n "$FAKE_SUDO_FORGET" ] || : > "$FAKE_SUDO_STAMP"; break
    fi
    echo "Sorry, try again." >&2
    if [ "$try" = 3 ]; then echo "sudo: 3 incorrect password attempts" >&2; exit 1; fi
  done
fi
if [ $# -gt 0 ]; then exec env FAKE_ROOT=1 "$@"; fi
exit 0
"""
FAKE_ID = """#!/bin/sh
if [ "$FAKE_ROOT" = 1 ] && [ "$1" = -u ]; then echo 0; else echo 1000; fi
"""


class PipeChannel:
    """A paramiko.Channel look-alike: `sh` on pipes, stderr merged, as `exec sh` over SSH."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["sh"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.timeout: float | None = None

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self, nbytes: int) -> bytes:
        ready, _, _ = select.select([self.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError
        return os.read(self.stdout.fileno(), nbytes)

    def sendall(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.stdin.close()
        with contextlib.suppress(OSError):
            self.stdout.close()


class FakeConn:
    def __init__(self, chan: PipeChannel) -> None:
        self.remote_conn = chan

    def disconnect(self) -> None:
        self.remote_conn.close()


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[tuple[ShellSession, PipeChannel]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sudo", FAKE_SUDO), ("id", FAKE_ID)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(tmp_path),
        "FAKE_SUDO_PW": SECRET,
        "FAKE_SUDO_STAMP": str(tmp_path / "stamp"),
    }
    chan = PipeChannel(env)
    creds = Credentials("box", 22, "user", password=None, secret=SECRET)
    s = ShellSession(FakeConn(chan), creds, ConnectOptions(command_timeout=5))
    try:
        yield s, chan
    finally:
        s.close()


def test_framing_statuses_and_odd_output(shell: tuple[ShellSession, PipeChannel]) -> None:
    s, _ = shell
    a, b, c, d = s.exec_many(
        [
            "printf 'no newline'",
            "echo one; echo two >&2; false",
            "true",
            "echo \"it's $((6 * 7))\"; exit_code_text='E=1'; echo $exit_code_text",
        ]
    )
    assert (a.status, a.output) == (0, "no newline")
    assert (b.status, b.output) == (1, "one\ntwo")
    assert (c.status, c.output) == (0, "")
    assert (d.status, d.output) == (0, "it's 42\nE=1")
    long = s.exec("head -c 6000 /dev/zero | tr '\\0' x")
    assert long.output == "x" * 6000
    with pytest.raises(DeviceError, match=r"`ls /nonexistent-lbc` failed \(exit 2\)"):
        s.run("ls /nonexistent-lbc")
    assert s.run("echo still in step") == "still in step"


def test_timeout_closes_the_session(shell: tuple[ShellSession, PipeChannel]) -> None:
    s, _ = shell
    with pytest.raises(ConnectionLostError, match=r"no answer to 'sleep 5' within 0.3s"):
        s.exec("sleep 5", timeout=0.3)
    with pytest.raises(ConnectionLostError, match="closed"):
        s.exec("true")


def test_a_dead_shell_is_a_lost_connection(shell: tuple[ShellSession, PipeChannel]) -> None:
    s, chan = shell
    assert s.run("echo up") == "up"
    chan.proc.kill()
    with pytest.raises(ConnectionLostError, match="connection lost"):
        s.exec("echo again")


def test_write_file_is_atomic_keeps_backup_and_cleans_up(
    shell: tuple[ShellSession, PipeChannel], tmp_path: Path
) -> None:
    s, _ = shell
    target = tmp_path / "d" / "f.yaml"
    target.parent.mkdir()
    assert s.read_file(str(target)) is None
    big = ("line with 'quotes' and $dollars\n" * 400).encode()  # several chunks
    s.write_file(str(target), big)
    assert target.read_bytes() == big
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    s.write_file(str(target), b"new\n")
    assert (tmp_path / "d" / "f.yaml.bak").read_bytes() == big
    assert s.read_file(str(target)) == b"new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.yaml", "f.yaml.bak"]
    (tmp_path / "blocker").write_text("")
    with pytest.raises(
        DeviceError, match=r"could not write .*blocker/x: .*(Not a directory|nonexistent)"
    ):
        s.write_file(str(tmp_path / "blocker" / "x"), b"data")


def test_sudo_with_the_secret(shell: tuple[ShellSession, PipeChannel], tmp_path: Path) -> None:
    s, _ = shell
    s.become_root()
    assert s.uid == 0
    assert s.run("id -u") == "0"
    assert s.run("echo $FAKE_ROOT") == "1"  # commands now run in the root shell
    assert SECRET not in s._buf


def test_sudo_with_cached_credentials_asks_nothing(
    shell: tuple[ShellSession, PipeChannel], tmp_path: Path
) -> None:
    s, _ = shell
    (tmp_path / "stamp").write_text("")
    s.become_root()
    assert s.uid == 0


def test_sudo_refuses_a_wrong_secret(shell: tuple[ShellSession, PipeChannel]) -> None:
    s, _ = shell
    s.creds = Credentials("box", 22, "user", secret="wrong-one")
    with pytest.raises(DeviceError, match="sudo refused the secret for user") as err:
        s.become_root()
    assert "wrong-one" not in str(err.value)


def test_sudo_that_keeps_no_credentials_is_reported(
    shell: tuple[ShellSession, PipeChannel],
) -> None:
    s, _ = shell
    s.run("export FAKE_SUDO_FORGET=1")
    with pytest.raises(DeviceError, match=r"did not keep the credentials .*password is required"):
        s.become_root()


def test_a_command_reading_stdin_does_not_swallow_the_next_frames(
    shell: tuple[ShellSession, PipeChannel],
) -> None:
    s, _ = shell
    a, b = s.exec_many(["cat", "echo after"])
    assert (a.status, a.output, b.output) == (0, "", "after")


def test_not_root_without_a_secret(shell: tuple[ShellSession, PipeChannel]) -> None:
    s, _ = shell
    s.creds = Credentials("box", 22, "user")
    with pytest.raises(DeviceError, match="not root and there is no sudo secret"):
        s.become_root()


def test_configure_stops_at_the_first_failure_in_one_round_trip(
    shell: tuple[ShellSession, PipeChannel], tmp_path: Path
) -> None:
    s, _ = shell
    a, b = tmp_path / "a", tmp_path / "b"
    with pytest.raises(DeviceError, match=r"`false` failed \(exit 1\)"):
        s.configure([f"touch {a}", "false", f"touch {b}"])
    assert a.exists() and not b.exists()
    assert s.sent == [f"touch {a}", "false"]


def test_configure_as_root_checks_root_in_the_same_round_trip(
    shell: tuple[ShellSession, PipeChannel], tmp_path: Path
) -> None:
    s, _ = shell
    s.configure_as_root([f"echo $FAKE_ROOT > {tmp_path / 'who'}"])  # not root: sudo first
    assert s.uid == 0 and (tmp_path / "who").read_text() == "1\n"
