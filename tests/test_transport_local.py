"""transport.local.LocalShell: the Shell protocol on this machine, as local mode uses it
through the Linux driver. Real subprocesses; files under tmp_path only."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest

from loopbackctl.errors import ConnectionLostError, DeviceError
from loopbackctl.local import system
from loopbackctl.model import Host
from loopbackctl.platforms.linux.driver import LinuxDriver
from loopbackctl.transport import local
from loopbackctl.transport.local import LocalShell
from loopbackctl.transport.options import ConnectOptions
from tests.localns import require_root


@pytest.fixture
def sh() -> LocalShell:
    return LocalShell("vm (local)", ConnectOptions(transport="local", command_timeout=5))


def test_exec_merges_stderr_and_keeps_the_exit_status(sh: LocalShell) -> None:
    res = sh.exec("echo out; echo err >&2; exit 3")
    assert (res.status, res.output) == (3, "out\nerr")
    assert sh.exec("printf 'no newline'").output == "no newline"
    assert sh.exec("kill -TERM $$").status == 128 + 15
    assert sh.sent == []  # reading changes nothing


def test_exec_many_runs_every_command_in_one_shell(sh: LocalShell) -> None:
    # What a command prints cannot pass for another's frame: the token is random.
    fake = "printf 'B1\\nE0=0\\n'"
    results = sh.exec_many(["false", "echo two; echo 2 >&2", fake, "cat"])
    assert [r.status for r in results] == [1, 0, 0, 0]
    assert [r.output for r in results] == ["", "two\n2", "B1\nE0=0", ""]  # stdin is empty
    assert [r.command for r in results] == ["false", "echo two; echo 2 >&2", fake, "cat"]


def test_a_shell_that_exits_mid_way_is_a_lost_session(sh: LocalShell) -> None:
    with pytest.raises(ConnectionLostError, match="ended before `exit 4` answered"):
        sh.exec_many(["exit 4", "true"])


def test_configure_stops_at_the_first_failure(sh: LocalShell, tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    with pytest.raises(DeviceError) as err:
        sh.configure([f"touch {mark}.1", "echo refused >&2; false", f"touch {mark}.3"])
    assert str(err.value) == "vm (local): `echo refused >&2; false` failed (exit 1): refused"
    assert (mark.with_suffix(".1").exists(), mark.with_suffix(".3").exists()) == (True, False)
    assert sh.sent == [f"touch {mark}.1", "echo refused >&2; false"]
    assert sh.chain(["false", "true"])[1] is None


def test_a_command_that_hangs_is_stopped(tmp_path: Path) -> None:
    sh = LocalShell("vm", ConnectOptions(transport="local", command_timeout=0.3))
    start = time.monotonic()
    with pytest.raises(ConnectionLostError, match=r"did not finish within 0\.3s"):
        sh.exec("sleep 30")
    assert time.monotonic() - start < 20  # killed, not waited for


def test_a_closed_shell_runs_nothing(sh: LocalShell) -> None:
    sh.close()
    with pytest.raises(ConnectionLostError, match="closed"):
        sh.exec("true")


def test_ip_is_found_with_a_users_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    res = LocalShell("vm").exec("command -v ip")
    assert res.ok and res.output.endswith("/ip")
    assert LocalShell("vm").exec("echo $LC_ALL").output == "C"


def test_write_file_is_atomic_and_keeps_a_backup(sh: LocalShell, tmp_path: Path) -> None:
    path = tmp_path / "60-loopbackctl-lo.yaml"
    assert sh.read_file(str(path)) is None
    done = sh.write_file(str(path), b"one\n")
    assert done == sh.sent and len(done) == 1 and str(path) in done[0]
    assert path.read_bytes() == b"one\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    sh.write_file(str(path), b"two\n", mode="644")
    assert sh.read_file(str(path)) == b"two\n" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert (tmp_path / "60-loopbackctl-lo.yaml.bak").read_bytes() == b"one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".bak"]


def test_a_failed_write_leaves_the_file_as_it_was(sh: LocalShell, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(DeviceError, match=r"could not write .*: Not a directory"):
        sh.write_file(f"{blocker}/x.yaml", b"x")
    # The temp file is written, then the rename fails: it is removed, the target stays.
    (tmp_path / "adir").mkdir()
    with pytest.raises(DeviceError, match="could not write"):
        sh.write_file(str(tmp_path / "adir"), b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "not-a-directory"]
    with pytest.raises(DeviceError, match="could not read"):
        sh.read_file(str(tmp_path))  # a directory


def test_privilege(sh: LocalShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sh.uid = 0
    sh.become_root()
    sh.uid = 1000
    monkeypatch.setattr(local, "has_cap", lambda bit: False)
    with pytest.raises(DeviceError, match="needs root and loopbackctl runs as uid 1000"):
        sh.become_root()
    with pytest.raises(DeviceError, match="run it as root"):
        sh.configure_as_root([f"touch {tmp_path}/ran"])
    assert not (tmp_path / "ran").exists() and sh.sent == []
    # CAP_NET_ADMIN is all `ip` needs to change lo.
    monkeypatch.setattr(local, "has_cap", lambda bit: bit == local.CAP_NET_ADMIN)
    sh.configure_as_root([f"touch {tmp_path}/ran"])
    assert (tmp_path / "ran").exists()


def test_the_linux_driver_opens_it_for_the_local_transport() -> None:
    session = LinuxDriver().connect(Host("vm", "linux"), ConnectOptions(transport="local"))
    assert isinstance(session, LocalShell) and session.where == "vm"


def test_it_runs_in_the_calling_threads_namespace(netns: str) -> None:
    """A fresh namespace's lo is DOWN; this machine's is UP."""
    require_root()
    here = LinuxDriver().read(LocalShell("here"), Host("here", "linux"))
    seen: list[bool] = []

    def inside() -> None:
        with system.inside_netns(netns):
            there = LinuxDriver().read(LocalShell(netns), Host(netns, "linux"))
            seen.append(there.loopbacks[0].shutdown)

    t = threading.Thread(target=inside)
    t.start()
    t.join()
    assert here.loopbacks[0].shutdown is False and seen == [True]
