"""Local mode against real kernel state: each test gets a fresh network namespace.

A namespace made by `ip netns add` has lo DOWN with no addresses: a real broken loopback.
Packets go only to 127.0.0.0/8 and ::1 inside such namespaces (and to 127.0.0.1 in the
root namespace for `probe`); the only other addresses used are 198.18.0.0/15 and
2001:db8::/32 on the test namespace's own lo. Needs root: without it the tests FAIL.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from loopbackctl.cli import main
from loopbackctl.local import system
from tests.localns import ip, require_root

A4 = "198.18.200.1/32"
A6 = "2001:db8:200::1/128"
UNNAMED = "198.18.77.1/32"
GONE = "198.18.201.1/32"
FRESH_FAILURES = {
    "lo up",
    "lo 127.0.0.1/8",
    "lo ::1/128",
    "icmp 127.0.0.1",
    "icmp ::1",
    "http 127.0.0.1",
    "http ::1",
    "refused 127.0.0.1",
    "refused ::1",
    "answers 127.0.0.2",
}
V6_CHECKS = {"lo ::1/128", "icmp ::1", "http ::1", "refused ::1"}
# The fleet's JSON document (report.to_json): one schema for every command.
HOST_KEYS = [
    "name",
    "platform",
    "status",
    "changes",
    "checks",
    "error",
    "commands",
    "diff",
    "unmanaged",
    "rollback",
    "router_id",
    "router_ids",
    "duration",
]


def lo_json(ns: str) -> dict[str, Any]:
    doc: list[dict[str, Any]] = json.loads(ip("-n", ns, "-j", "addr", "show", "dev", "lo"))
    return doc[0]


def lo_addresses(ns: str) -> set[str]:
    return {f"{a['local']}/{a['prefixlen']}" for a in lo_json(ns)["addr_info"]}


def sysctl(ns: str, key: str, value: str) -> None:
    ip("netns", "exec", ns, "sysctl", "-qw", f"{key}={value}")


@pytest.fixture(autouse=True)
def _no_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Local mode reads ./inventory when it exists; the tests choose their own.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOOPBACKCTL_INVENTORY", raising=False)


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(list(argv))
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def host_of(out: str) -> dict[str, Any]:
    """The one host of a local run's JSON document, which is the fleet's."""
    doc = json.loads(out)
    assert list(doc) == ["hosts", "summary"] and len(doc["hosts"]) == 1
    host: dict[str, Any] = doc["hosts"][0]
    assert list(host) == HOST_KEYS
    assert doc["summary"]["total"] == 1 and doc["summary"][host["status"]] == 1
    return host


def verify(cli: Cli, ns: str, *extra: str) -> tuple[int, dict[str, Any]]:
    rc, out, err = cli(*extra, "verify", "--local", "--netns", ns, "--format", "json")
    assert err == "", err
    return rc, host_of(out)


def apply(cli: Cli, ns: str, *extra: str) -> tuple[int, dict[str, Any]]:
    rc, out, err = cli(*extra, "apply", "--local", "--netns", ns, "--format", "json")
    assert err == "", err
    return rc, host_of(out)


def result(c: dict[str, Any]) -> str:
    """ok / FAIL / warn / n/a, as the table words it (README: from ok and severity)."""
    if c["ok"]:
        return "ok"
    return {"error": "FAIL", "warning": "warn"}.get(c["severity"], "n/a")


def failed(doc: dict[str, Any]) -> set[str]:
    return {c["name"] for c in doc["checks"] if result(c) == "FAIL"}


def inventory_host(doc: dict[str, Any]) -> str:
    """The "inventory" check names the inventory host standing for this machine."""
    return str(check(doc, "inventory")["detail"])


def check(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in doc["checks"] if c["name"] == name)
    return found


def inventory(tmp_path: Path, addresses: list[str], absent: list[str] | None = None) -> str:
    """An inventory whose host `self` (data.local: true) declares `addresses` on lo."""
    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    lines = [
        "self:",
        "  platform: linux",
        "  data:",
        "    local: true",
        "    loopbacks:",
        "      - name: lo",
        f"        addresses: {json.dumps(addresses)}",
    ]
    if absent:
        lines.append(f"        absent_addresses: {json.dumps(absent)}")
    lines += [
        "other:",
        "  platform: linux",
        "  data:",
        "    loopbacks:",
        "      - name: lo",
        '        addresses: ["198.18.202.1/32"]',
    ]
    (inv / "hosts.yaml").write_text("\n".join(lines) + "\n")
    return str(inv)


# ---------------------------------------------------------------- verify and apply


def test_fresh_namespace_fails_verify_with_named_failures(netns: str, cli: Cli) -> None:
    rc, doc = verify(cli, netns)
    assert rc == 1
    assert (doc["name"], doc["platform"], doc["status"]) == (netns, "linux", "drift")
    assert failed(doc) == FRESH_FAILURES
    assert "DOWN" in check(doc, "lo up")["detail"]
    assert "unreachable" in check(doc, "icmp 127.0.0.1")["detail"]
    assert doc["changes"] == ["lo: add 127.0.0.1/8", "lo: add ::1/128", "lo: bring up"]
    assert all(list(c) == ["name", "ok", "detail", "severity"] for c in doc["checks"])


def test_apply_repairs_then_verify_passes_and_a_second_run_changes_nothing(
    netns: str, cli: Cli
) -> None:
    rc, doc = apply(cli, netns, "-v")  # -v is a global option: harmless here
    assert (rc, doc["status"], doc["rollback"]) == (0, "changed", None)
    assert doc["commands"] == [
        "ip link set dev lo up",
        "ip address replace 127.0.0.1/8 dev lo",
        "ip address replace ::1/128 dev lo",
    ]
    assert lo_addresses(netns) == {"127.0.0.1/8", "::1/128"}

    rc, doc = verify(cli, netns)
    assert (rc, doc["status"], failed(doc)) == (0, "ok", set())
    assert check(doc, "icmp 127.0.0.1")["detail"].startswith("3 sent, 3 received, 0% loss, rtt")
    assert "→ 200, body matches" in check(doc, "http ::1")["detail"]
    assert "refused in" in check(doc, "refused 127.0.0.1")["detail"]
    assert check(doc, "answers 127.0.0.2")["ok"]

    rc, doc = apply(cli, netns)
    assert (rc, doc["status"], doc["changes"], doc["commands"]) == (0, "ok", [], [])
    rc, out, _ = cli("apply", "--local", "--netns", netns)
    assert rc == 0 and f"{netns}: change:" not in out
    assert out.splitlines()[-1] == "1 host(s): 1 ok"


def test_check_mode_shows_the_plan_and_changes_nothing(netns: str, cli: Cli) -> None:
    rc, out, err = cli("apply", "--local", "--check", "--diff", "--netns", netns)
    assert (rc, err) == (1, "")
    assert f"{netns}: change: lo: bring up" in out
    assert f"# {netns}: would send\nip link set dev lo up\n" in out
    assert f"+++ {netns} lo (after apply)" in out and "+ ::1/128" in out
    assert out.splitlines()[-1] == "1 host(s): 1 drift"
    assert "UP" not in lo_json(netns)["flags"]
    assert lo_addresses(netns) == set()
    rc, out, _ = cli("apply", "--local", "--check", "--netns", netns, "--format", "json")
    doc = host_of(out)
    assert (rc, doc["status"], doc["rollback"]) == (1, "drift", None)
    assert doc["commands"][0] == "ip link set dev lo up"
    assert "UP" not in lo_json(netns)["flags"]


def test_a_failing_step_is_rolled_back(
    netns: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply --local is the fleet's pipeline: a command the kernel refuses mid-change puts
    lo back as it was before the run (here: DOWN, without the inventory's address)."""
    from loopbackctl.platforms.linux.driver import LinuxDriver

    commands = LinuxDriver.commands
    refused = "ip address add 198.18.200.9/33 dev lo"  # prefix length 33: ip refuses it

    def with_a_failing_step(self: LinuxDriver, *args: Any) -> list[str]:
        out = commands(self, *args)
        return [*out, refused] if any("replace" in c for c in out) else out

    monkeypatch.setattr(LinuxDriver, "commands", with_a_failing_step)
    rc, doc = apply(cli, netns, "-i", inventory(tmp_path, [A4]))
    assert (rc, doc["status"], doc["rollback"]) == (1, "failed", "restored")
    assert f"`{refused}` failed (exit" in doc["error"] and "rolled back: restored" in doc["error"]
    assert doc["commands"][:2] == ["ip link set dev lo up", "ip address replace 127.0.0.1/8 dev lo"]
    assert "ip link set dev lo down" in doc["commands"]  # the restore, after the refusal
    assert "UP" not in lo_json(netns)["flags"]
    assert A4 not in lo_addresses(netns)
    # The packet checks ran after the rollback, on the lo it left behind.
    assert not check(doc, "icmp 127.0.0.1")["ok"]


def test_removing_ipv6_loopback_fails_exactly_the_ipv6_checks(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "addr", "del", "::1/128", "dev", "lo")
    rc, doc = verify(cli, netns)
    assert rc == 1
    assert failed(doc) == V6_CHECKS
    rc, doc = apply(cli, netns)
    assert (rc, doc["commands"]) == (0, ["ip address replace ::1/128 dev lo"])
    assert failed(verify(cli, netns)[1]) == set()


def test_removing_ipv4_loopback_is_restored(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "addr", "del", "127.0.0.1/8", "dev", "lo")
    rc, doc = verify(cli, netns)
    assert rc == 1
    assert failed(doc) == {
        "lo 127.0.0.1/8",
        "icmp 127.0.0.1",
        "http 127.0.0.1",
        "refused 127.0.0.1",
        "answers 127.0.0.2",
    }
    rc, doc = apply(cli, netns)
    assert (rc, doc["commands"]) == (0, ["ip address replace 127.0.0.1/8 dev lo"])
    assert "127.0.0.1/8" in lo_addresses(netns)


def test_lo_down_deletes_global_ipv6_and_verify_reports_it(
    netns: str, cli: Cli, tmp_path: Path
) -> None:
    inv = inventory(tmp_path, [A4, A6])
    rc, doc = apply(cli, netns, "-i", inv)
    assert rc == 0 and "inventory host self" in inventory_host(doc)
    assert doc["commands"] == [
        "ip link set dev lo up",
        "ip address replace 127.0.0.1/8 dev lo",
        "ip address replace ::1/128 dev lo",
        f"ip address replace {A4} dev lo",
        f"ip address replace {A6} dev lo",
    ]
    assert {A4, A6} <= lo_addresses(netns)

    ip("-n", netns, "link", "set", "lo", "down")
    have = lo_addresses(netns)
    assert A4 in have and A6 not in have  # the kernel fact this test is about
    rc, doc = verify(cli, netns, "-i", inv)
    assert rc == 1
    assert {"lo up", f"lo {A6}"} <= failed(doc) and f"lo {A4}" not in failed(doc)
    assert "taking lo down deletes" in check(doc, f"lo {A6}")["detail"]

    ip("-n", netns, "link", "set", "lo", "up")  # up again: ::1 comes back, A6 does not
    rc, doc = verify(cli, netns, "-i", inv)
    assert (rc, failed(doc)) == (1, {f"lo {A6}"})
    rc, doc = apply(cli, netns, "-i", inv)
    assert (rc, doc["commands"]) == (0, [f"ip address replace {A6} dev lo"])
    assert failed(verify(cli, netns, "-i", inv)[1]) == set()


def test_lo_down_with_addresses_kept_times_out_as_no_answer(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "link", "set", "lo", "down")  # 127.0.0.1/8 stays, packets go nowhere
    rc, doc = verify(cli, netns)
    assert rc == 1 and {"lo up", "icmp 127.0.0.1", "refused 127.0.0.1"} <= failed(doc)
    assert "0 received, 100% loss" in check(doc, "icmp 127.0.0.1")["detail"]
    assert "no answer" in check(doc, "refused 127.0.0.1")["detail"]


def test_ipv6_disabled_is_its_own_result(netns: str, cli: Cli, tmp_path: Path) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    sysctl(netns, "net.ipv6.conf.lo.disable_ipv6", "1")
    rc, doc = verify(cli, netns)
    assert (rc, doc["status"]) == (0, "ok")
    v6 = check(doc, "ipv6 enabled")
    assert result(v6) == "warn" and "disable_ipv6 = 1" in v6["detail"]
    assert {c["name"] for c in doc["checks"] if result(c) == "n/a"} == V6_CHECKS
    # An IPv6 address the inventory asks for cannot be added: a failed apply, in words,
    # without trying (nothing to roll back).
    rc, doc = apply(cli, netns, "-i", inventory(tmp_path, [A6]))
    assert (rc, doc["status"], doc["commands"], doc["rollback"]) == (1, "failed", [], None)
    assert "IPv6 is disabled" in doc["error"]
    assert not check(doc, f"lo {A6}")["ok"]


def test_unnamed_addresses_are_listed_and_left_alone(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "addr", "add", UNNAMED, "dev", "lo")
    rc, doc = apply(cli, netns)
    assert (rc, doc["commands"], doc["unmanaged"]) == (0, [], [UNNAMED])
    assert UNNAMED in check(doc, "unmanaged")["detail"]
    assert check(doc, f"lo {UNNAMED}")["ok"]
    assert UNNAMED in lo_addresses(netns)


def test_absent_addresses_are_removed(netns: str, cli: Cli, tmp_path: Path) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "addr", "add", GONE, "dev", "lo")
    ip("-n", netns, "addr", "add", UNNAMED, "dev", "lo")
    inv = inventory(tmp_path, [A4], absent=[GONE])
    rc, doc = verify(cli, netns, "-i", inv)
    assert failed(doc) == {f"lo {A4}", f"lo {GONE} absent"}
    rc, doc = apply(cli, netns, "-i", inv)
    assert rc == 0
    assert doc["commands"] == [f"ip address del {GONE} dev lo", f"ip address replace {A4} dev lo"]
    assert lo_addresses(netns) == {"127.0.0.1/8", "::1/128", A4, UNNAMED}


def test_local_host_picked_by_flag_and_by_hostname(netns: str, cli: Cli, tmp_path: Path) -> None:
    inv = inventory(tmp_path, [A4])
    ip("-n", netns, "link", "set", "lo", "up")
    argv = ["-i", inv, "verify", "--local", "--netns", netns, "--format", "json"]
    rc, out, _ = cli(*argv, "--local-host", "other")
    doc = host_of(out)
    assert rc == 1 and "inventory host other (--local-host)" in inventory_host(doc)
    assert failed(doc) == {"lo 198.18.202.1/32"}
    rc, out, err = cli(*argv, "--local-host", "nope")
    assert rc == 2 and "nope" in err and out == ""

    me = socket.gethostname().split(".", 1)[0]
    (Path(inv) / "hosts.yaml").write_text(
        f"{me}:\n  platform: linux\n  data:\n    loopbacks:\n"
        f"      - name: lo\n        addresses: [{A4}]\n"
    )
    rc, doc = verify(cli, netns, "-i", inv)
    assert f"inventory host {me} (named like this machine)" in inventory_host(doc)
    assert failed(doc) == {f"lo {A4}"}


def test_inventory_errors_exit_2(netns: str, cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "hosts.yaml").write_text("self:\n  platform: linux\n  data: {local: maybe}\n")
    rc, out, err = cli("-i", str(bad), "verify", "--local", "--netns", netns)
    assert rc == 2 and out == "" and "local" in err


def test_inventory_in_working_directory_is_used(
    netns: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = Path(inventory(tmp_path, [A4]))
    inv.rename(tmp_path / "inventory")
    ip("-n", netns, "link", "set", "lo", "up")
    rc, doc = verify(cli, netns)
    assert rc == 1
    assert "inventory host self (data.local: true)" in inventory_host(doc)
    assert failed(doc) == {f"lo {A4}"}


def test_no_inventory_is_fine_and_said(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    rc, doc = verify(cli, netns)
    assert rc == 0 and inventory_host(doc).startswith("no inventory")
    assert "no extra addresses expected" in check(doc, "inventory")["detail"]


def test_ping_socket_used_where_ping_group_range_allows(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")
    sysctl(netns, "net.ipv4.ping_group_range", "0 2147483647")
    rc, doc = verify(cli, netns)
    assert rc == 0
    assert check(doc, "icmp 127.0.0.1")["detail"].endswith("(ping socket)")
    assert check(doc, "icmp ::1")["detail"].endswith("(ping socket)")
    sysctl(netns, "net.ipv4.ping_group_range", "1 0")
    rc, doc = verify(cli, netns)
    assert check(doc, "icmp 127.0.0.1")["detail"].endswith("(raw socket)")


def test_formats_table_and_junit(netns: str, cli: Cli) -> None:
    rc, out, _ = cli("verify", "--local", "--netns", netns)
    lines = out.splitlines()
    assert rc == 1 and lines[0] == f"{netns}: change: lo: add 127.0.0.1/8"
    assert any(line.startswith(f"{netns}: FAIL: lo up: lo is DOWN") for line in lines)
    assert f"{netns}: ok: lo exists: lo is interface 1" in lines
    assert lines[-2].split()[:5] == [netns, "linux", "drift", "3", "6/16"]
    assert lines[-1] == "1 host(s): 1 drift"
    rc, out, _ = cli("verify", "--local", "--netns", netns, "--format", "junit")
    root = ET.fromstring(out)
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(cases) >= FRESH_FAILURES
    assert all(cases[n].find("failure") is not None for n in FRESH_FAILURES)
    assert cases["lo exists"].find("failure") is None


def test_calling_thread_returns_to_its_own_namespace(netns: str, cli: Cli) -> None:
    before = os.readlink("/proc/thread-self/ns/net")
    verify(cli, netns)
    assert os.readlink("/proc/thread-self/ns/net") == before


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--local", "--netns", "lblnosuch0"],
        ["apply", "--local", "--netns", "lblnosuch0"],
        ["apply", "--local", "--check", "--netns", "lblnosuch0"],
        ["probe", "127.0.0.1:9", "--netns", "lblnosuch0"],
    ],
)
def test_unknown_namespace_exits_2_naming_it(argv: list[str], cli: Cli) -> None:
    require_root()
    rc, out, err = cli(*argv)
    assert (rc, out) == (2, "")
    assert err.count("\n") == 1 and "'lblnosuch0' does not exist" in err


# ---------------------------------------------------------------- probe


def _in_netns(ns: str, fn: Callable[[], Any]) -> Any:
    """Run fn in a thread inside `ns` (sockets it makes stay in that namespace)."""
    box: list[Any] = []

    def body() -> None:
        with system.inside_netns(ns):
            box.append(fn())

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return box[0]


def test_probe_listening_and_refused(cli: Cli) -> None:
    require_root()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        rc, out, _ = cli("probe", f"127.0.0.1:{port}")
        assert rc == 0 and out.startswith(f"something is listening on 127.0.0.1:{port}")
    with socket.socket() as held:  # bound, not listening: a port where nothing listens
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        rc, out, _ = cli("probe", f"127.0.0.1:{port}")
        assert rc == 1 and out.startswith(f"nothing is listening on 127.0.0.1:{port}")
    with socket.socket(socket.AF_INET6) as held6:
        held6.bind(("::1", 0))
        port = held6.getsockname()[1]
        rc, out, _ = cli("probe", f"[::1]:{port}")
        assert rc == 1 and out.startswith(f"nothing is listening on [::1]:{port}")


def test_probe_timeout_explains_the_likely_cause(netns: str, cli: Cli) -> None:
    ip("-n", netns, "link", "set", "lo", "up")

    def full_backlog() -> list[socket.socket]:
        # backlog 0 holds one connection; while nobody accepts, further SYNs are dropped.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 8080))
        listener.listen(0)
        held = [listener]
        for _ in range(2):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", 8080))
            held.append(s)
        return held

    held = _in_netns(netns, full_backlog)
    try:
        time.sleep(0.05)
        rc, out, _ = cli("probe", "127.0.0.1:8080", "--netns", netns, "--timeout", "0.3")
        assert rc == 1
        assert out.startswith("no answer from 127.0.0.1:8080 within 0.3 s; likely cause:")
        assert "backlog is full" in out
    finally:
        for s in held:
            s.close()


def test_probe_in_broken_namespace(netns: str, cli: Cli) -> None:
    rc, out, _ = cli("probe", "127.0.0.1:8080", "--netns", netns)
    assert rc == 1 and "unreachable" in out and "lo is DOWN" in out
    rc, out, _ = cli("probe", "[::1]:8080", "--netns", netns)
    assert rc == 1 and "::1 is not assigned to lo" in out


@pytest.mark.parametrize("target", ["10.0.0.1:80", "198.18.0.1:22", "[2001:db8::1]:80"])
def test_probe_refuses_non_loopback(target: str, cli: Cli) -> None:
    rc, out, err = cli("probe", target)
    assert (rc, out) == (2, "") and "only reaches loopback addresses" in err
