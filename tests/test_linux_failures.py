"""Runtime failures on the namespace bed: each ends as one clear line for its host in every
format, exit 1, the other hosts unaffected, no host half-applied, and no secret shown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import junitparser
import pytest

from tests.linux_helpers import Fleet, fleet, kill_sessions, lo, other_key_line

PASSWORD = "Pw-right-7q!"
WRONG = "Pw-wrong-3x?"
PROTECTED = frozenset({"127.0.0.1/8", "::1/128"})


def _lbs(n: int) -> dict[str, list[dict[str, object]]]:
    return {
        f"h{i}": [{"name": "lo", "addresses": [f"198.18.220.{i}/32", f"2001:db8:220::{i}/128"]}]
        for i in range(1, n + 1)
    }


def _no_secret(*texts: str) -> None:
    for t in texts:
        assert PASSWORD not in t and WRONG not in t


@pytest.fixture
def broken(linux_bed, tmp_path: Path) -> Fleet:
    """Ten hosts; h2..h9 each fail in their own way (see the test)."""
    bed = linux_bed(10, password=PASSWORD)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    good_dir = tmp_path / "netplan-h10"
    good_dir.mkdir()
    data = {
        "h9": {"persist": "netplan", "netplan_dir": f"{blocker}/netplan"},
        "h10": {"persist": "netplan", "netplan_dir": str(good_dir)},
    }
    f = fleet(bed, tmp_path, _lbs(10), host_data=data)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "wrong_key")],
        check=True,
    )
    no_key = {"netmiko": {"extras": {}}}
    f.edit_hosts(
        h2={
            "connection_options": {"netmiko": {"extras": {"key_file": str(tmp_path / "wrong_key")}}}
        },
        h3={"connection_options": no_key, "password": WRONG},
        h4={"connection_options": no_key, "password": PASSWORD},
    )
    bed.take_down("h5")
    bed.stop_sshd("h6")
    f.known_hosts.write_text(other_key_line(bed["h7"].ip4, tmp_path))
    bed.exec("h8", ["sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=1"], check=True)
    return f


EXPECT = {
    "h1": ("changed", None),
    "h2": ("failed", "authentication failed"),
    "h3": ("failed", "authentication failed"),
    "h4": ("changed", None),
    # Down: the first connect times out; later ones fail at once (neighbour unreachable).
    "h5": ("unreachable", "no answer within 2s|no route to host"),
    "h6": ("unreachable", "connection refused"),
    "h7": ("failed", "HOST KEY CHANGED"),
    # The IPv6 address is not pushed (lo cannot hold it): after the IPv4 one, the check
    # fails with the reason and the change is rolled back.
    "h8": ("failed", "lo cannot hold it while IPv6 is disabled"),
    "h9": ("failed", "could not write .*(Not a directory|nonexistent)"),
    "h10": ("changed", None),
}


def test_each_failure_is_one_line_for_its_host_only(broken: Fleet) -> None:
    bed, f = broken.bed, broken
    before = {h.name: lo(bed, h.name) for h in bed if h.name not in ("h5",)}
    kh_before = f.known_hosts.read_text()
    env: dict[str, str] = {}  # no $LOOPBACKCTL_PASSWORD: h2 must not fall back to one
    args = ("--connect-timeout", "2", "--workers", "10")

    r = f.run("apply", "--format", "json", *args, env=env)
    assert r.rc == 1
    _no_secret(r.out, r.err)
    for name, (status, words) in EXPECT.items():
        h = r.host(name)
        assert h["status"] == status, (name, h)
        if words is None:
            assert h["error"] is None
            continue
        assert re.search(words, h["error"]), (name, h["error"])
        assert "\n" not in h["error"]
    assert r.host("h8")["rollback"] == "restored"
    assert "rolled back: restored" in r.host("h8")["error"]
    assert r.host("h9")["rollback"] == "restored"
    assert "ssh-keygen -R" in r.host("h7")["error"]

    # Nothing half-applied: failed hosts are as before, healthy ones converged.
    for name in ("h2", "h3", "h6", "h7", "h8", "h9"):
        assert lo(bed, name) == before[name], name
    for i in (1, 4, 10):
        assert {f"198.18.220.{i}/32", f"2001:db8:220::{i}/128"} <= lo(bed, f"h{i}")[1]
    assert list((Path(f.inventory).parent / "netplan-h10").iterdir())
    # The changed key was not replaced; new hosts were recorded once each.
    kh = f.known_hosts.read_text()
    assert kh.startswith(kh_before)
    assert bed["h7"].ip4 not in kh[len(kh_before) :]
    assert kh.count(bed["h1"].ip4 + " ") == 1

    # The same one line in the table and in JUnit.
    r = f.run("apply", *args, env=env)
    assert r.rc == 1
    _no_secret(r.out, r.err)
    rows = {line.split()[0]: line for line in r.out.splitlines()[1:-1]}
    for name, (status, words) in EXPECT.items():
        if words is not None:
            assert status in rows[name] and re.search(words, rows[name]), rows[name]
    r = f.run("apply", "--format", "junit", *args, env=env)
    _no_secret(r.out, r.err)
    xml = Path(f.inventory).parent / "r.xml"
    xml.write_text(r.out)
    status_cases = {
        c.classname.split(".", 1)[1]: c
        for suite in junitparser.JUnitXml.fromfile(str(xml))
        for c in suite
        if c.name == "status"
    }
    for name, (_, words) in EXPECT.items():
        case = status_cases[name]
        if words is None:
            assert case.is_passed
        else:
            assert re.search(words, case.result[0].message)


def test_strict_refuses_unknown_hosts_and_off_records_nothing(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    f = fleet(bed, tmp_path, _lbs(2))
    r = f.run("verify", "--host-keys", "strict", "--format", "json")
    assert r.rc == 1
    for h in r.doc["hosts"]:
        assert h["status"] == "failed" and "is not in" in h["error"] and "strict" in h["error"]
    assert f.known_hosts.read_text() == ""

    # off: a changed key is not checked, and nothing is recorded.
    f.known_hosts.write_text(other_key_line(bed["h1"].ip4, tmp_path))
    r = f.run("apply", "--host-keys", "off", "--format", "json")
    assert r.rc == 0, r.out
    assert f.known_hosts.read_text() == other_key_line(bed["h1"].ip4, tmp_path)

    # strict with the right keys recorded: works.
    f.known_hosts.write_text("\n".join(bed.known_hosts_lines()) + "\n")
    assert f.run("verify", "--host-keys", "strict").rc == 0


def test_silent_sshd_times_out_and_others_finish(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(3)
    f = fleet(bed, tmp_path, _lbs(3))
    pid = bed["h2"].sshd_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # accepts TCP (kernel backlog), never says a word
    try:
        t0 = time.monotonic()
        r = f.run("apply", "--connect-timeout", "1.5", "--format", "json")
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.rc == 1
    assert r.host("h2")["status"] == "unreachable", r.host("h2")["error"]
    assert "no SSH banner within 1.5s" in r.host("h2")["error"]
    assert [r.host(h)["status"] for h in ("h1", "h3")] == ["changed", "changed"]
    assert took < 10


def test_connection_cut_mid_push_is_rolled_back_over_a_new_session(
    linux_bed, tmp_path: Path
) -> None:
    bed = linux_bed(2)
    many = [f"198.18.{230 + i // 250}.{i % 250 + 1}/32" for i in range(400)]
    lbs = {
        "h1": [{"name": "lo", "addresses": many}],
        **{k: v for k, v in _lbs(2).items() if k == "h2"},
    }
    f = fleet(bed, tmp_path, lbs)
    before = lo(bed, "h1")
    box: dict[str, object] = {}
    t = threading.Thread(target=lambda: box.update(r=f.run("apply", "--format", "json")))
    t.start()
    killed: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and t.is_alive():
        n = len(lo(bed, "h1")[1] - before[1])
        if n >= 20:
            killed = kill_sessions(bed, "h1")
            break
        time.sleep(0.01)
    t.join(120)
    assert killed, "the push ended before the connection could be cut"
    r = box["r"]
    assert r.rc == 1  # type: ignore[attr-defined]
    h1 = r.host("h1")  # type: ignore[attr-defined]
    assert h1["status"] == "failed"
    assert "connection lost" in h1["error"] and "rolled back: restored" in h1["error"]
    assert lo(bed, "h1") == before  # nothing half-applied
    assert r.host("h2")["status"] == "changed"  # type: ignore[attr-defined]
    assert lo(bed, "h1")[1] >= PROTECTED
