"""The Linux namespace bed itself works: hosts, sshd, controls, teardown, reaping."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from netmiko import ConnectHandler

from loopbackctl.lab import sshd as lab_sshd
from tests.bed import netns
from tests.bed.netns import BedHost, LinuxBed, check_prerequisites, reap_stale_beds

# The fixtures (linux_bed, linux_bed_session), whether or not conftest registers them too.
pytest_plugins = ["tests.bed.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
BedFactory = Callable[..., LinuxBed]


def require_linux_bed() -> None:
    """Same check as the fixture (tests.bed.fixtures is loaded as a plugin, not imported)."""
    problems = check_prerequisites()
    if problems:
        pytest.fail("Linux test bed unavailable: " + "; ".join(problems), pytrace=False)


def connect(host: BedHost, /, **kw: Any) -> Any:
    params = host.netmiko_params()
    params.update(kw)
    return ConnectHandler(**params)


def tcp_connect(addr: str, port: int = 22, timeout: float = 3.0) -> None:
    """Open and close a TCP connection (raises OSError when refused/unreachable)."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((addr, port))


def system_names(prefix: str) -> tuple[list[str], list[str]]:
    """(namespaces, links) on this machine whose name starts with the bed prefix."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    return (
        [line.split()[0] for line in ns.splitlines() if line.startswith(prefix)],
        [link["ifname"] for link in links if link["ifname"].startswith(prefix)],
    )


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.fixture
def stray_sleep() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- prerequisites


def test_missing_root_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.fail.Exception, match="needs root"):
        require_linux_bed()


def test_missing_sshd_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_sshd, "SSHD", "/nonexistent/sshd")
    with pytest.raises(pytest.fail.Exception, match="openssh-server"):
        require_linux_bed()


# --------------------------------------------------------------------------- hosts over SSH


def test_netmiko_sees_each_namespaces_lo_and_hostname(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=3)
    assert len({h.ip4 for h in bed}) == 3
    for h in bed:
        # Give every lo one address of its own so "that namespace's lo" is checkable.
        bed.exec(h, ["ip", "addr", "add", f"198.18.201.{h.index}/32", "dev", "lo"], check=True)
    hostnames = set()
    for h in bed:
        conn = connect(h)
        try:
            out = str(conn.send_command("ip -j addr show dev lo"))
            hostnames.add(str(conn.send_command("hostname")).strip())
        finally:
            conn.disconnect()
        data = json.loads(out)
        assert data[0]["ifname"] == "lo"
        assert "UP" in data[0]["flags"]
        seen = {(a["family"], f"{a['local']}/{a['prefixlen']}") for a in data[0]["addr_info"]}
        assert seen == bed.lo_addresses(h)
        assert ("inet", f"198.18.201.{h.index}/32") in seen
        assert ("inet", "127.0.0.1/8") in seen
    assert hostnames == {"h1", "h2", "h3"}


def test_ipv6_and_key_only_params(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=1)
    h = bed["h1"]
    conn = connect(h, host=h.ip6)
    try:
        assert conn.send_command("hostname").strip() == "h1"
    finally:
        conn.disconnect()
    # The inventory passes only key_file as an extra: that alone must be enough.
    conn = ConnectHandler(
        device_type="linux", host=h.ip4, username="root", key_file=str(h.key_file)
    )
    try:
        assert str(conn.send_command("whoami")).strip() == "root"
    finally:
        conn.disconnect()


def test_lo_left_down(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=1, lo_up=False)
    h = bed["h1"]
    assert not bed.lo_is_up(h)
    assert bed.lo_addresses(h) == set()
    conn = connect(h)
    try:
        data = json.loads(conn.send_command("ip -j addr show dev lo"))
    finally:
        conn.disconnect()
    assert "UP" not in data[0]["flags"]
    assert data[0].get("addr_info", []) == []


def test_lean_shell_skips_dotfiles_and_full_shell_reads_them(linux_bed: BedFactory) -> None:
    bashrc = Path("/root/.bashrc")
    real_size = bashrc.stat().st_size if bashrc.exists() else 0
    pyenv = bashrc.exists() and "PYENV_ROOT" in bashrc.read_text()
    results = {}
    for lean in (True, False):
        bed = linux_bed(n=1, lean=lean)
        h = bed["h1"]
        start = time.monotonic()
        conn = connect(h)
        try:
            size = conn.send_command("wc -c < /root/.bashrc").strip()
            marker = conn.send_command("echo ${PYENV_ROOT:-none}").strip()
        finally:
            conn.disconnect()
        results[lean] = (size, marker, time.monotonic() - start)
        # The bind mounts stay inside that sshd's mount namespace.
        assert bashrc.stat().st_size == real_size
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(bed.state_dir) not in mounts
    print(f"\nsession lean {results[True][2]:.2f}s, full shell {results[False][2]:.2f}s")
    if real_size:
        assert results[True][0] == "0"
        assert results[False][0] == str(real_size)
    assert results[True][1] == "none"
    if pyenv:
        assert results[False][1] != "none"


def test_password_auth_without_touching_etc_shadow(linux_bed: BedFactory) -> None:
    before = os.stat("/etc/shadow")
    bed = linux_bed(n=1, password="bed-Secret-1")
    h = bed["h1"]
    conn = ConnectHandler(
        device_type="linux",
        host=h.ip4,
        username="root",
        password="bed-Secret-1",
        use_keys=False,
        allow_agent=False,
    )
    try:
        assert str(conn.send_command("whoami")).strip() == "root"
    finally:
        conn.disconnect()
    with pytest.raises(Exception, match=r"(?i)auth"):
        ConnectHandler(
            device_type="linux",
            host=h.ip4,
            username="root",
            password="wrong",
            use_keys=False,
            allow_agent=False,
        )
    after = os.stat("/etc/shadow")
    assert (before.st_ino, before.st_mtime_ns, before.st_size) == (
        after.st_ino,
        after.st_mtime_ns,
        after.st_size,
    )


# --------------------------------------------------------------------------- controls


def test_stop_sshd_refuses_and_cuts_sessions(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=2)
    h1, h2 = bed["h1"], bed["h2"]
    conn = connect(h1)
    assert conn.send_command("hostname").strip() == "h1"
    pid = h1.sshd_pid
    assert pid is not None
    bed.stop_sshd(h1)
    assert h1.sshd_pid is None
    assert not pid_alive(pid)
    with pytest.raises(Exception):  # noqa: B017 - netmiko/paramiko raise various types
        conn.send_command("hostname", read_timeout=5)
    conn.disconnect()
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(h1.ip4)
    tcp_connect(h2.ip4)
    bed.start_sshd(h1)
    tcp_connect(h1.ip4)


def test_host_without_sshd_has_a_closed_port(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=2, no_sshd=["h2"])
    assert bed["h2"].sshd_pid is None
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(bed["h2"].ip4)
    tcp_connect(bed["h1"].ip4)


def test_link_down_makes_host_unreachable(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=2)
    h1 = bed["h1"]
    tcp_connect(h1.ip4)
    bed.take_down(h1)
    with pytest.raises(OSError):  # timeout or "no route to host"
        tcp_connect(h1.ip4, timeout=2)
    tcp_connect(bed["h2"].ip4)
    bed.set_link(h1, True)
    tcp_connect(h1.ip4, timeout=5)


def test_route_to_loopbacks(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=2)
    h = bed["h2"]
    # Per-bed addresses (the subnet index is unique among live beds): parallel runs
    # do not fight over one route in the root namespace.
    v4 = f"198.18.202.{bed.subnet_index}"
    v6 = f"2001:db8:202::{bed.subnet_index:x}"
    bed.exec(h, ["ip", "addr", "add", f"{v4}/32", "dev", "lo"], check=True)
    bed.exec(h, ["ip", "addr", "add", f"{v6}/128", "dev", "lo"], check=True)
    bed.add_route_to_loopbacks(h, [f"{v4}/32", f"{v6}/128"])
    for addr in (v4, v6):
        ping = subprocess.run(["ping", "-c", "1", "-W", "2", addr], capture_output=True)
        assert ping.returncode == 0, ping.stdout
    for bad in ("10.0.0.1/32", "198.19.0.0/24", "2001:db9::/64", "2001:db8:ff01::1/128"):
        with pytest.raises(ValueError):
            bed.add_route_to_loopbacks(h, [bad])
    bed.close()
    routes = subprocess.run(["ip", "route", "show", f"{v4}/32"], capture_output=True, text=True)
    assert routes.stdout.strip() == ""


def test_exec_takes_argv_not_a_shell_string(linux_bed: BedFactory) -> None:
    bed = linux_bed(n=1)
    with pytest.raises(TypeError):
        bed.exec("h1", "ip addr")
    res = bed.exec("h1", ["echo", "$(id)", ";", "x"])
    assert res.stdout.strip() == "$(id) ; x"


# --------------------------------------------------------------------------- inventory


def test_write_inventory_shape_and_nornir(linux_bed: BedFactory, tmp_path: Path) -> None:
    bed = linux_bed(n=2)
    loops = {"h1": [{"name": "lo", "addresses": ["198.18.200.1/32"]}]}
    inv = bed.write_inventory(tmp_path / "inv", loops, extra_data={"command_timeout": 20})
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    groups = yaml.safe_load((inv / "groups.yaml").read_text())
    assert hosts["h1"] == {
        "hostname": bed["h1"].ip4,
        "port": 22,
        "username": "root",
        "platform": "linux",
        "groups": ["bed"],
        "data": {"loopbacks": loops["h1"], "command_timeout": 20},
    }
    assert hosts["h2"]["data"] == {"command_timeout": 20}
    assert groups == {
        "bed": {"connection_options": {"netmiko": {"extras": {"key_file": str(bed.key_file)}}}}
    }
    assert not (inv / "defaults.yaml").exists()

    from nornir import InitNornir
    from nornir_netmiko.tasks import netmiko_send_command

    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": 2}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(inv / "hosts.yaml"),
                "group_file": str(inv / "groups.yaml"),
            },
        },
        logging={"enabled": False},
    )
    try:
        result = nr.run(task=netmiko_send_command, command_string="hostname")
    finally:
        nr.close_connections()
    assert not result.failed
    assert {name: r[0].result.strip() for name, r in result.items()} == {"h1": "h1", "h2": "h2"}


# --------------------------------------------------------------------------- teardown


def test_teardown_leaves_nothing_even_with_open_sessions() -> None:
    require_linux_bed()
    bed = LinuxBed(2).start()
    prefix, state_dir = bed.prefix, bed.state_dir
    conn = connect(bed["h1"])  # an open session: an sshd child inside the namespace
    session = netns._pids_in_netns([bed["h1"].netns])[bed["h1"].netns]
    pids = [h.sshd_pid for h in bed if h.sshd_pid] + session
    assert len(pids) >= 3
    assert system_names(prefix) != ([], [])
    bed.close()
    bed.close()  # idempotent
    with pytest.raises(Exception):  # noqa: B017
        conn.send_command("hostname", read_timeout=3)
    conn.disconnect()
    assert system_names(prefix) == ([], [])
    assert [p for p in pids if pid_alive(p)] == []
    assert not state_dir.exists()


def test_failed_start_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    require_linux_bed()
    bed = LinuxBed(2)

    def boom() -> None:
        raise RuntimeError("sshd -T exploded")

    monkeypatch.setattr(bed, "_check_configs", boom)
    with pytest.raises(RuntimeError, match="exploded"):
        bed.start()
    assert bed.prefix
    assert system_names(bed.prefix) == ([], [])
    assert not bed.state_dir.exists()


def _run_child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigterm_tears_down_a_context_managed_bed() -> None:
    require_linux_bed()
    child = _run_child(
        """
        import time
        from tests.bed.netns import LinuxBed, sigterm_to_keyboard_interrupt
        sigterm_to_keyboard_interrupt()
        with LinuxBed(2) as bed:
            print(bed.prefix, *[h.sshd_pid for h in bed], flush=True)
            time.sleep(120)
        """
    )
    assert child.stdout is not None
    prefix, *pids = child.stdout.readline().split()
    assert system_names(prefix)[0]
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    assert system_names(prefix) == ([], [])
    assert not any(pid_alive(int(p)) for p in pids)


def test_sigterm_tears_down_fixture_beds_under_pytest(tmp_path: Path) -> None:
    require_linux_bed()
    marker = tmp_path / "prefix"
    (tmp_path / "test_sleepy.py").write_text(
        textwrap.dedent(
            f"""
            import time
            from pathlib import Path

            def test_sleepy(linux_bed):
                bed = linux_bed(n=2)
                Path({str(marker)!r}).write_text(bed.prefix)
                time.sleep(120)
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.bed.fixtures", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_sleepy.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), child.communicate(timeout=5)[0] if child.poll() is not None else ""
    prefix = marker.read_text()
    assert system_names(prefix)[0]
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)
    assert system_names(prefix) == ([], []), out
    assert not (netns.BASE_DIR / prefix).exists()


def test_reaps_a_bed_whose_owner_died(
    linux_bed: BedFactory, stray_sleep: subprocess.Popen[bytes]
) -> None:
    live = linux_bed(n=1)  # a live bed of ours must survive the reaping
    child = _run_child(
        """
        import json, os, signal
        from tests.bed.netns import LinuxBed
        bed = LinuxBed(2).start()
        # A recorded PID that is not a process of this bed must never be killed.
        state = json.loads((bed.state_dir / "state.json").read_text())
        pids = [h.sshd_pid for h in bed]
        """
        + f"""
        state["nodes"][0]["sshd_pid"] = {stray_sleep.pid}
        (bed.state_dir / "state.json").write_text(json.dumps(state))
        print(bed.prefix, *pids, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)   # crash: no teardown at all
        """
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    prefix, *pids = out.split()
    ns, links = system_names(prefix)
    assert len(ns) == 2 and len(links) == 3
    assert all(pid_alive(int(p)) for p in pids)
    # A directory that does not match the exact pattern is never touched.
    odd = netns.BASE_DIR / "lb12345g"
    odd.mkdir(exist_ok=True)
    (odd / "owner.pid").write_text("999999999 1\n")
    try:
        reaped = reap_stale_beds()
        assert prefix in reaped
        assert live.prefix not in reaped
        assert odd.exists()
    finally:
        (odd / "owner.pid").unlink()
        odd.rmdir()
    assert system_names(prefix) == ([], [])
    assert not any(pid_alive(int(p)) for p in pids)
    assert pid_alive(stray_sleep.pid)
    assert not (netns.BASE_DIR / prefix).exists()
    tcp_connect(live["h1"].ip4)


# --------------------------------------------------------------------------- scale


def test_twenty_hosts_up_and_down(linux_bed: BedFactory) -> None:
    t0 = time.monotonic()
    bed = linux_bed(n=20)
    up = time.monotonic() - t0

    def hostname(h: BedHost) -> str:
        conn = connect(h)
        try:
            return str(conn.send_command("hostname", auto_find_prompt=False)).strip()
        finally:
            conn.disconnect()

    t1 = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        names = list(pool.map(hostname, bed.hosts))
    fleet = time.monotonic() - t1
    assert names == [f"h{i}" for i in range(1, 21)]
    prefix = bed.prefix
    bed.close()
    down = bed.timings["down"]
    assert system_names(prefix) == ([], [])
    print(f"\n20 hosts: up {up:.2f}s, netmiko hostname x20 (10 threads) {fleet:.2f}s, "
          f"down {down:.2f}s; phases {bed.timings}")  # fmt: skip
