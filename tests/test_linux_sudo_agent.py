"""Connecting for real as the inventory says (issue 4, item 2): a non-root user that
becomes root through the host's real sudo with the secret, key auth through a real
ssh-agent, and password auth. The bed adds the sudo user inside each sshd's private mount
namespace only (tests/bed/netns.py, ``sudo_user=``).

Never skipped: without root, sshd or sudo the bed fixture fails the test with the reason.
Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopbackctl.lab import sshd as lab_sshd
from tests.bed import netns
from tests.bed.fixtures import require_linux_bed
from tests.linux_helpers import Fleet, fleet, lo, watch

USER = "netops"
SECRET = "Sudo-Secret-4t!"
WRONG = "Sudo-Wrong-9z?"
PROTECTED = frozenset({"127.0.0.1/8", "::1/128"})
ENV_VARS = ("LOOPBACKCTL_PASSWORD", "LOOPBACKCTL_SSH_KEY", "LOOPBACKCTL_SECRET", "SSH_AUTH_SOCK")


def _lbs(names: list[str]) -> dict[str, list[dict[str, object]]]:
    return {
        n: [{"name": "lo", "addresses": [f"198.18.230.{i}/32", f"2001:db8:230::{i}/128"]}]
        for i, n in enumerate(names, start=1)
    }


def _want(i: int) -> frozenset[str]:
    return frozenset({f"198.18.230.{i}/32", f"2001:db8:230::{i}/128"})


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the caller's environment: each test sets what it means."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def _no_secret(*texts: str) -> None:
    for t in texts:
        assert SECRET not in t and WRONG not in t


def _logins(f: Fleet, host: str) -> list[str]:
    """`Accepted <method> for <user>` lines from the host's sshd log."""
    text = f.bed[host].log_file.read_text(errors="replace")
    return [" ".join(line.split()[:4]) for line in text.splitlines() if "Accepted " in line]


# ------------------------------------------------------------------------------ the bed


def test_a_bed_with_a_sudo_user_needs_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without sudo the fixture fails the test with the reason (never skips it)."""
    monkeypatch.setattr(lab_sshd, "SUDO", "/nonexistent/sudo")
    problems = netns.check_prerequisites(sudo=True)
    assert "/nonexistent/sudo is missing (Debian package sudo)" in problems
    assert "/nonexistent/sudo is missing (Debian package sudo)" not in (netns.check_prerequisites())
    with pytest.raises(pytest.fail.Exception, match="sudo is missing"):
        require_linux_bed(sudo=True)


def test_bed_sudo_user_lives_only_in_the_hosts_mount_namespaces(linux_bed) -> None:
    real = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/sudoers")
    before = {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in real}
    bed = linux_bed(1, sudo_user=USER, sudo_password=SECRET)
    h = bed["h1"]
    ssh = [
        "ssh", "-F", "/dev/null", "-i", str(bed.key_file), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{USER}@{h.ip4}",
    ]  # fmt: skip
    script = (
        "id -u; pwd; sudo -n true 2>/dev/null && echo CACHED;"
        f" printf '%s\\n' '{SECRET}' | sudo -S -p '' -v && sudo -n id -u"
    )
    res = subprocess.run([*ssh, script], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(bed.sudo_uid), str(bed.sudo_home), "0"]
    res = subprocess.run(
        [*ssh, f"printf '%s\\n' '{WRONG}' | sudo -S -p '' -v"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode != 0
    assert "incorrect password" in res.stderr
    # Outside sshd's mount namespace the user does not exist, and /etc is untouched.
    assert bed.exec(h, ["id", USER]).returncode != 0
    after = {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in real}
    assert after == before
    assert USER not in Path("/etc/passwd").read_text()


# ------------------------------------------------------------------------ sudo for real


def test_apply_and_verify_as_a_sudo_user_with_key_and_secret(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2, lo_up=False, sudo_user=USER, sudo_password=SECRET)
    names = [h.name for h in bed]
    f = fleet(bed, tmp_path, _lbs(names), username=USER)
    env = {"LOOPBACKCTL_SECRET": SECRET}

    r = f.run("verify", "--format", "json", env=env)  # reading needs no sudo
    assert r.rc == 1, r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["drift"] * 2

    r = f.run("apply", "--format", "json", env=env)
    assert r.rc == 0, r.out + r.err
    _no_secret(r.out, r.err)
    assert [h["status"] for h in r.doc["hosts"]] == ["changed"] * 2
    assert r.host("h1")["commands"][0] == "ip link set dev lo up"
    for i, n in enumerate(names, start=1):
        up, addrs = lo(bed, n)  # read as root, in the namespace, not over SSH
        assert up
        assert addrs == PROTECTED | _want(i)
        # Every login was the sudo user's, with the key: root never logged in.
        logins = set(_logins(f, n))
        assert logins == {f"Accepted publickey for {USER}"}, logins

    with watch(bed, names) as events:
        r = f.run("apply", "--format", "json", env=env)
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["ok"] * 2
    assert all(h["commands"] == [] and h["changes"] == [] for h in r.doc["hosts"])
    assert events == {n: "" for n in names}

    r = f.run("verify", env=env)
    assert r.rc == 0, r.out + r.err
    assert "2 host(s): 2 ok" in r.out
    _no_secret(r.out, r.err)


def test_wrong_or_missing_sudo_secret_fails_that_host_only(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(3, sudo_user=USER, sudo_password=SECRET)
    names = [h.name for h in bed]
    f = fleet(bed, tmp_path, _lbs(names), username=USER)
    before = {n: lo(bed, n) for n in names}

    # No secret anywhere (key auth, so no password to fall back on): every host says so,
    # when apply takes its lock as root, before it reads: nothing was sent, no rollback.
    r = f.run("apply", "--format", "json")
    assert r.rc == 1
    for n in names:
        h = r.host(n)
        assert h["status"] == "failed", h
        assert "is not root and there is no sudo secret" in h["error"]
        assert h["rollback"] is None and h["commands"] == []
    assert {n: lo(bed, n) for n in names} == before

    extras = {"key_file": str(bed.key_file), "secret": WRONG}
    f.edit_hosts(h2={"connection_options": {"netmiko": {"extras": extras}}})
    env = {"LOOPBACKCTL_SECRET": SECRET}
    with watch(bed, ["h2"]) as events:
        r = f.run("apply", "--format", "json", env=env)
    assert r.rc == 1, r.out + r.err
    _no_secret(r.out, r.err)
    assert "Traceback" not in r.err
    h2 = r.host("h2")
    assert h2["status"] == "failed", h2
    assert "\n" not in h2["error"]
    assert h2["error"] == (
        f"{USER}@{bed['h2'].ip4}:22: sudo refused the secret for {USER}; check"
        " connection_options.netmiko.extras.secret or $LOOPBACKCTL_SECRET"
    )
    assert h2["rollback"] is None and h2["commands"] == []
    assert events == {"h2": ""}
    assert lo(bed, "h2") == before["h2"]
    for i in (1, 3):
        assert r.host(f"h{i}")["status"] == "changed"
        assert lo(bed, f"h{i}")[1] == PROTECTED | _want(i)

    # The table says the same, on one line, and nothing else is printed.
    r = f.run("apply", env=env)
    assert r.rc == 1
    _no_secret(r.out, r.err)
    assert "Traceback" not in r.out + r.err
    line = next(x for x in r.out.splitlines() if x.startswith("h2 "))
    assert "sudo refused the secret" in line


def test_password_login_as_the_sudo_user_uses_it_for_sudo(linux_bed, tmp_path: Path) -> None:
    """LOOPBACKCTL_PASSWORD logs in and, with no secret set, answers sudo too."""
    bed = linux_bed(1, sudo_user=USER, sudo_password=SECRET)
    f = fleet(bed, tmp_path, _lbs(["h1"]), username=USER)
    f.edit_hosts(h1={"connection_options": {"netmiko": {"extras": {}}}})
    r = f.run("apply", "--format", "json", env={"LOOPBACKCTL_PASSWORD": SECRET})
    assert r.rc == 0, r.out + r.err
    _no_secret(r.out, r.err)
    assert lo(bed, "h1")[1] == PROTECTED | _want(1)
    assert set(_logins(f, "h1")) == {f"Accepted password for {USER}"}


def test_root_password_login_from_the_environment(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(1, password=SECRET)
    f = fleet(bed, tmp_path, _lbs(["h1"]))
    f.edit_hosts(h1={"connection_options": {"netmiko": {"extras": {}}}})
    r = f.run("apply", "--format", "json", env={"LOOPBACKCTL_PASSWORD": SECRET})
    assert r.rc == 0, r.out + r.err
    _no_secret(r.out, r.err)
    assert lo(bed, "h1")[1] == PROTECTED | _want(1)
    assert set(_logins(f, "h1")) == {"Accepted password for root"}
    r = f.run("verify", "--format", "json", env={"LOOPBACKCTL_PASSWORD": WRONG})
    assert r.rc == 1
    _no_secret(r.out, r.err)
    assert "authentication failed (tried: password)" in r.host("h1")["error"]


# ---------------------------------------------------------------------------- ssh-agent


@pytest.fixture
def ssh_agent() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ssh-agent in the foreground on a private socket; killed by PID at the end."""
    tool = shutil.which("ssh-agent")
    if tool is None:
        pytest.fail("ssh-agent is missing (Debian package openssh-client)", pytrace=False)
    sock_dir = tempfile.mkdtemp(prefix="lbc-agent-")  # short: sun_path holds 108 bytes
    sock = os.path.join(sock_dir, "agent.sock")
    proc = subprocess.Popen(
        [tool, "-D", "-a", sock],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ssh-agent did not start (rc={proc.poll()})", pytrace=False)
            time.sleep(0.01)
        yield sock, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(sock_dir, ignore_errors=True)


def _ssh_add(sock: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSH_AUTH_SOCK": sock}
    return subprocess.run(
        ["ssh-add", *argv], env=env, capture_output=True, text=True, timeout=30, check=True
    )


def test_key_from_a_running_ssh_agent(
    linux_bed,
    tmp_path: Path,
    ssh_agent: tuple[str, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sock, _ = ssh_agent
    bed = linux_bed(2)
    _ssh_add(sock, str(bed.key_file))
    assert f"@{bed.prefix}" in _ssh_add(sock, "-l").stdout
    f = fleet(bed, tmp_path, _lbs(["h1", "h2"]))
    # No key anywhere: h1 may use the agent, h2 refuses it.
    f.edit_hosts(
        h1={"connection_options": {"netmiko": {"extras": {}}}},
        h2={"connection_options": {"netmiko": {"extras": {"allow_agent": False}}}},
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", sock)

    r = f.run("apply", "--format", "json")
    assert r.rc == 1, r.out + r.err
    assert r.host("h1")["status"] == "changed", r.host("h1")
    assert lo(bed, "h1")[1] == PROTECTED | _want(1)
    assert set(_logins(f, "h1")) == {"Accepted publickey for root"}
    h2 = r.host("h2")
    assert h2["status"] == "failed", h2
    assert "\n" not in h2["error"]
    assert "no credentials to try" in h2["error"] or "authentication failed" in h2["error"]
    assert "Traceback" not in r.err
    assert _logins(f, "h2") == []

    r = f.run("verify", "--format", "json")
    assert r.host("h1")["status"] == "ok", r.host("h1")

    # The agent really is what logged in: emptied, it no longer can.
    _ssh_add(sock, "-D")
    r = f.run("verify", "--format", "json")
    assert r.host("h1")["status"] == "failed"
    assert "the ssh-agent holds no keys" in r.host("h1")["error"]
