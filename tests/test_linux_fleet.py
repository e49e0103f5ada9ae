"""apply and verify over SSH against real sshd hosts in network namespaces (tests/bed).

Never skipped: without root or sshd the bed fixture fails the test with the reason.
Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.
"""

from __future__ import annotations

import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest
import yaml

from tests.linux_helpers import fleet, ip_lo, lo, watch

V4 = "198.18.200.{}/32"
V6 = "2001:db8:200::{}/128"
PROTECTED = {"127.0.0.1/8", "::1/128"}


def _lbs(names: list[str], **extra: object) -> dict[str, list[dict[str, object]]]:
    return {
        n: [{"name": "lo", "addresses": [V4.format(i), V6.format(i)], **extra}]
        for i, n in enumerate(names, start=1)
    }


def test_apply_converges_check_changes_nothing_and_second_apply_sends_nothing(
    linux_bed, tmp_path: Path
) -> None:
    bed = linux_bed(3, lo_up=False)  # fresh namespaces: lo DOWN, no addresses
    names = [h.name for h in bed]
    lbs = _lbs(names)
    lbs["h2"][0]["absent_addresses"] = ["198.18.209.9/32"]  # one we used to manage
    f = fleet(bed, tmp_path, lbs)
    ip_lo(bed, "h2", "addr", "add", "198.18.209.9/32", "dev", "lo")  # stale, managed
    ip_lo(bed, "h2", "addr", "add", "198.18.209.7/32", "dev", "lo")  # someone else's

    before = {n: lo(bed, n) for n in names}
    r = f.run("verify", "--format", "json")
    assert r.rc == 1, r.err
    assert {h["status"] for h in r.doc["hosts"]} == {"drift"}
    h2 = r.host("h2")
    details = {c["name"]: c for c in h2["checks"]}
    assert not details["lo up"]["ok"]
    assert not details["lo 198.18.200.2/32"]["ok"]
    assert not details["lo 198.18.209.9/32 absent"]["ok"]
    assert details["lo 198.18.209.7/32"]["ok"]  # unmanaged is reported, not drift
    assert h2["unmanaged"] == ["198.18.209.7/32"]

    # --check --diff: the plan as a diff of lo, and nothing changes.
    r = f.run("apply", "--check", "--diff")
    assert r.rc == 1, r.out + r.err
    assert {n: lo(bed, n) for n in names} == before
    out = r.out.splitlines()
    assert "--- h2 lo (now)" in out and "+++ h2 lo (after apply)" in out
    for line in ("- state DOWN", "+ state UP", "+ 198.18.200.2/32", "+ 2001:db8:200::2/128"):
        assert line in out
    assert "- 198.18.209.9/32" in out
    assert "  198.18.209.7/32  (unmanaged)" in out

    r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["changed"] * 3
    assert r.doc["summary"]["changed"] == 3
    for i, n in enumerate(names, start=1):
        up, addrs = lo(bed, n)
        assert up
        assert {V4.format(i), V6.format(i)} | PROTECTED <= addrs
    assert "198.18.209.9/32" not in lo(bed, "h2")[1]
    assert "198.18.209.7/32" in lo(bed, "h2")[1]  # left alone
    assert r.host("h2")["commands"][0] == "ip link set dev lo up"

    # Converged: the second apply sends no configuration command at all.
    with watch(bed, names) as events:
        r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert [h["status"] for h in r.doc["hosts"]] == ["ok"] * 3
    assert all(h["commands"] == [] and h["changes"] == [] for h in r.doc["hosts"])
    assert events == {n: "" for n in names}

    r = f.run("verify")
    assert r.rc == 0, r.out
    assert "3 host(s): 3 ok" in r.out


def test_the_kernels_addresses_and_lo_health_are_checked_on_every_managed_lo(
    linux_bed, tmp_path: Path
) -> None:
    """A Linux lo the inventory manages must carry 127.0.0.1/8 (and ::1/128 while IPv6 is
    enabled): one without it is drift, apply restores it. lo's health is reported as in
    local mode. A host that declares no loopbacks is left alone (--purge included)."""
    bed = linux_bed(2)
    f = fleet(bed, tmp_path, _lbs(["h1"]))
    for a in (V4.format(1), V6.format(1)):
        ip_lo(bed, "h1", "addr", "add", a, "dev", "lo")
    ip_lo(bed, "h1", "addr", "del", "127.0.0.1/8", "dev", "lo")
    ip_lo(bed, "h2", "addr", "add", "198.18.209.7/32", "dev", "lo")
    r = f.run("verify", "--format", "json")
    assert r.rc == 1, r.out + r.err
    h1 = {c["name"]: c for c in r.host("h1")["checks"]}
    assert [n for n, c in h1.items() if not c["ok"]] == ["lo 127.0.0.1/8"]
    assert list(h1)[:5] == ["lo exists", "lo type", "lo mtu", "ipv6 enabled", "lo up"]
    assert "LOWER_UP" in h1["lo up"]["detail"] and h1["lo ::1/128"]["ok"]
    assert r.host("h1")["changes"] == ["lo: add 127.0.0.1/8"]
    assert (r.host("h2")["status"], r.host("h2")["checks"]) == ("ok", [])

    r = f.run("apply", "--purge", "--format", "json")
    assert r.rc == 0, r.out + r.err
    assert r.host("h1")["commands"] == ["ip address replace 127.0.0.1/8 dev lo"]
    assert "127.0.0.1/8" in lo(bed, "h1")[1]
    assert r.host("h2")["commands"] == [] and "198.18.209.7/32" in lo(bed, "h2")[1]


def test_purge_removes_unmanaged_but_never_protected(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    f = fleet(bed, tmp_path, _lbs(["h1", "h2"]), host_data={"h2": {"purge": True}})
    for h in ("h1", "h2"):
        ip_lo(bed, h, "addr", "add", "198.18.209.7/32", "dev", "lo")
        ip_lo(bed, h, "addr", "add", "2001:db8:209::7/128", "dev", "lo")
    r = f.run("apply", "--format", "json")
    assert r.rc == 0, r.out
    assert {"198.18.209.7/32", "2001:db8:209::7/128"} <= lo(bed, "h1")[1]  # no purge
    assert lo(bed, "h2")[1] == PROTECTED | {V4.format(2), V6.format(2)}  # purge: true

    r = f.run("verify", "--format", "json")
    assert r.rc == 0
    assert r.host("h1")["unmanaged"] == ["198.18.209.7/32", "2001:db8:209::7/128"]

    r = f.run("apply", "--purge", "--format", "json")  # the flag does it for every host
    assert r.rc == 0
    assert lo(bed, "h1")[1] == PROTECTED | {V4.format(1), V6.format(1)}
    assert r.host("h1")["commands"] == [
        "ip address del 198.18.209.7/32 dev lo",
        "ip address del 2001:db8:209::7/128 dev lo",
    ]


def test_purge_acts_only_on_hosts_that_declare_their_loopbacks(linux_bed, tmp_path: Path) -> None:
    """h1 declares lo's addresses, h2 declares none may remain (`loopbacks: []`), h3 is in
    the inventory without loopbacks: --purge must leave every address of h3 alone."""
    bed = linux_bed(3)
    lbs = _lbs(["h1"])
    f = fleet(bed, tmp_path, lbs, host_data={"h2": {"loopbacks": []}})
    for h in ("h1", "h2", "h3"):
        ip_lo(bed, h, "addr", "add", "198.18.209.7/32", "dev", "lo")
    ip_lo(bed, "h3", "addr", "add", "198.18.209.3/32", "dev", "lo")  # h3's own, undeclared
    h3_before = lo(bed, "h3")
    r = f.run("apply", "--purge", "--format", "json")
    assert r.rc == 0, r.out
    assert lo(bed, "h1")[1] == PROTECTED | {V4.format(1), V6.format(1)}
    assert lo(bed, "h2")[1] == PROTECTED  # none may remain
    assert lo(bed, "h3") == h3_before  # not described: untouched
    h3 = r.host("h3")
    assert (h3["status"], h3["commands"], h3["changes"]) == ("ok", [], [])
    (purge,) = [c for c in h3["checks"] if c["name"] == "purge"]
    assert purge["severity"] == "warning" and "does not declare" in purge["detail"]
    assert not [c for c in r.host("h1")["checks"] if c["name"] == "purge"]

    table = f.run("apply", "--purge", "--check")
    assert table.rc == 0, table.out
    assert "purge not applied: the inventory does not declare this host's loopbacks" in table.out


def _netplan_parse(directory: Path) -> str | None:
    """Errors from netplan's own parser (Debian's python3), or None when it accepts."""
    code = (
        "import sys; sys.path.insert(0, '/usr/share/netplan');"
        "from netplan import libnetplan as n;"
        "p = n.Parser(); p.load_yaml_hierarchy(sys.argv[1])"
    )
    res = subprocess.run(
        ["/usr/bin/python3", "-c", code, str(directory)], capture_output=True, text=True
    )
    return None if res.returncode == 0 else res.stderr.strip()


def test_netplan_persistence_is_atomic_idempotent_and_kept(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    dirs = {h: tmp_path / f"netplan-{h}" for h in ("h1", "h2")}
    for d in dirs.values():
        d.mkdir()
    data = {h: {"persist": "netplan", "netplan_dir": str(d)} for h, d in dirs.items()}
    f = fleet(bed, tmp_path, _lbs(["h1", "h2"]), host_data=data)
    r = f.run("apply", "--diff")
    assert r.rc == 0, r.out
    assert f"+++ h1 {dirs['h1']}/60-loopbackctl-lo.yaml (after apply)" in r.out
    path = dirs["h1"] / "60-loopbackctl-lo.yaml"
    text = path.read_text()
    assert '- "198.18.200.1/32"' in text and '- "127.0.0.1/8"' in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in dirs["h1"].iterdir()) == ["60-loopbackctl-lo.yaml"]
    if os.path.exists("/usr/share/netplan/netplan"):
        assert _netplan_parse(dirs["h1"]) is None

    r = f.run("apply", "--format", "json")
    assert [h["commands"] for h in r.doc["hosts"]] == [[], []]

    # A new address: the file is replaced, the previous one kept as .bak.
    hosts = yaml.safe_load((f.inventory / "hosts.yaml").read_text())
    hosts["h1"]["data"]["loopbacks"][0]["addresses"].append("198.18.200.101/32")
    (f.inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    r = f.run("apply", "--format", "json")
    assert r.rc == 0 and r.host("h1")["status"] == "changed"
    assert (dirs["h1"] / "60-loopbackctl-lo.yaml.bak").read_text() == text
    assert '- "198.18.200.101/32"' in path.read_text()
    assert sorted(p.name for p in dirs["h1"].iterdir()) == [
        "60-loopbackctl-lo.yaml",
        "60-loopbackctl-lo.yaml.bak",
    ]

    # Edited by hand: verify reports it, apply puts it back.
    path.write_text(text.replace("198.18.200.101", "198.18.200.102"))
    r = f.run("verify", "--format", "json")
    assert r.rc == 1
    saved = next(c for c in r.host("h1")["checks"] if c["name"] == "saved file")
    assert not saved["ok"] and "differs" in saved["detail"]
    assert f.run("apply").rc == 0
    assert '- "198.18.200.101/32"' in path.read_text()


def test_reachability_from_here_and_on_each_host(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    lbs = {
        "h1": [{"name": "lo", "addresses": ["198.18.210.1/32", "2001:db8:210::1/128"]}],
        "h2": [{"name": "lo", "addresses": ["198.18.210.2/32"]}],
    }
    f = fleet(bed, tmp_path, lbs)
    bed.add_route_to_loopbacks("h1", ["198.18.210.1/32", "2001:db8:210::1/128"])
    assert f.run("apply").rc == 0
    # h2's address is not routed here: this run's allow-list (narrower than the suite's)
    # leaves it out, so no packet to it leaves this machine.
    allow = "198.18.210.1/32,2001:db8:210::1/128"
    r = f.run("verify", "--reachability", "--ping-allow", allow, "--format", "json")
    assert r.rc == 0, r.out
    checks = {c["name"]: c for c in r.host("h1")["checks"]}
    for a in ("198.18.210.1", "2001:db8:210::1"):
        assert checks[f"reach {a} from here"]["ok"], checks
        assert checks[f"reach {a} from here"]["detail"] == "answered"
        assert checks[f"reach {a} on the host"]["ok"]
    # Outside the allow-list: not pinged from here (info), pinged on h2.
    checks = {c["name"]: c for c in r.host("h2")["checks"]}
    here = checks["reach 198.18.210.2 from here"]
    assert here["severity"] == "info"
    assert here["detail"] == (
        "not pinged (outside allow-list; set LOOPBACKCTL_PING_ALLOW or --ping-allow)"
    )
    assert checks["reach 198.18.210.2 on the host"]["detail"] == "answered"

    # An address that does not answer on the host: drift, exit 1.
    bed.exec("h1", ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"], check=True)
    r = f.run("verify", "--reachability", "--ping-allow", allow, "--format", "json")
    assert r.rc == 1
    checks = {c["name"]: c for c in r.host("h1")["checks"]}
    assert not checks["reach 198.18.210.1 from here"]["ok"]
    assert not checks["reach 198.18.210.1 on the host"]["ok"]
    assert r.host("h1")["status"] == "drift"


def test_report_formats_json_junit_table(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2, lo_up=False)
    f = fleet(bed, tmp_path, _lbs(["h1", "h2"]))
    r = f.run("verify", "--format", "json")
    doc = r.doc
    assert set(doc) == {"hosts", "summary"}
    for h in doc["hosts"]:
        assert {"name", "platform", "status", "changes", "checks", "error"} <= set(h)
        assert h["platform"] == "linux"
    assert doc["summary"] == {
        "total": 2, "ok": 0, "changed": 0, "drift": 2, "failed": 0, "unreachable": 0,
        "skipped": 0,
    }  # fmt: skip

    r = f.run("verify", "--format", "junit")
    xml = tmp_path / "report.xml"
    xml.write_text(r.out)
    cases = [c for suite in junitparser.JUnitXml.fromfile(str(xml)) for c in suite]
    per_host = {(c.classname, c.name): c for c in cases}
    n_checks = sum(len(h["checks"]) + 1 for h in doc["hosts"])
    assert len(cases) == n_checks
    missing = per_host[("loopbackctl.h1", "lo 198.18.200.1/32")]
    assert not missing.is_passed and "missing" in missing.result[0].message

    # Through a pipe: plain text, no progress bar, no colour codes.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    res = subprocess.run(
        [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "verify",
         "--known-hosts", str(f.known_hosts)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 1
    assert "\x1b" not in res.stdout + res.stderr
    assert res.stdout.splitlines()[0].split() == [
        "host", "platform", "status", "changes", "checks", "ok", "unmanaged", "detail"
    ]  # fmt: skip
    assert res.stdout.splitlines()[-1] == "2 host(s): 2 drift"


@pytest.mark.parametrize("via", ["inventory key", "env key", "env password"])
def test_ipv6_management_and_credentials_from_the_environment(
    linux_bed, tmp_path: Path, via: str
) -> None:
    bed = linux_bed(1, password="pw-Six6!" if via == "env password" else None)
    f = fleet(bed, tmp_path, _lbs(["h1"]), ipv6=True)
    env = {}
    if via != "inventory key":
        f.edit_hosts(h1={"connection_options": {"netmiko": {"extras": {}}}})
        env = (
            {"LOOPBACKCTL_PASSWORD": "pw-Six6!"}
            if via == "env password"
            else {"LOOPBACKCTL_SSH_KEY": str(bed.key_file)}
        )
    r = f.run("apply", env=env)
    assert r.rc == 0, r.out
    assert "pw-Six6!" not in r.out + r.err
    assert f"[{bed['h1'].ip6}]" not in f.known_hosts.read_text()  # port 22: bare address
    assert bed["h1"].ip6 in f.known_hosts.read_text()


def test_progress_bar_on_a_terminal_only(linux_bed, tmp_path: Path) -> None:
    bed = linux_bed(2)
    f = fleet(bed, tmp_path, _lbs(["h1", "h2"]))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopbackctl", "-i", str(f.inventory), "verify",
         "--known-hosts", str(f.known_hosts)],
        stdout=subprocess.PIPE, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 1
    assert b"verifying" in seen and b"2/2" in seen  # rich.progress drew on the terminal
    assert b"\x1b" not in out  # the report went to a pipe: plain
