"""`loopbackctl lab`: up, status, down and reaping from the command line, the README's
first set-up (apply and verify on a lab of Linux hosts, FRR routers and simulated IOS
routers), two labs side by side, rehearsal twins (the shipped example; a mixed inventory
with the user's own templates), a lab without the IOS simulator installed.

`lab up` runs as a real subprocess (its keeper outlives it, as it does for a user); every
test removes its labs with `lab down` even when it fails.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from loopbackctl.lab import netns, state
from loopbackctl.lab.build import Lab
from tests.bed.fixtures import require_linux_bed
from tests.iossim import require_ios_bed

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "loopbackctl"]


def run(
    argv: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", **(env or {}))
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def lab(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return run([*CLI, "lab", *argv], cwd)


def printed_commands(out: str) -> list[list[str]]:
    """The commands `lab up` printed after "next:", as argv for this interpreter."""
    lines = out.split("next:\n", 1)[1].splitlines()
    cmds = [shlex.split(line.strip()) for line in lines if line.startswith("  loopbackctl ")]
    return [[*CLI, *c[1:]] for c in cmds]


def pointer(directory: Path) -> dict[str, object]:
    return dict(json.loads((directory / "lab.json").read_text()))


def kernel_names(prefix: str) -> list[str]:
    """Namespaces and root links whose name starts with the prefix."""
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    spaces = os.listdir(netns.NETNS_DIR) if os.path.isdir(netns.NETNS_DIR) else []
    return sorted(
        [n for n in spaces if n.startswith(prefix)]
        + [ln["ifname"] for ln in links if ln["ifname"].startswith(prefix)]
    )


def lab_pids(prefix: str) -> list[int]:
    """Every process inside the lab's namespaces, and its keeper."""
    names = netns.netns_names(state.netns_pattern(prefix))
    pids = [p for ps in netns.pids_in_netns(names).values() for p in ps]
    owner = state.Owner.read(state.BASE_DIR / prefix)
    return pids + ([owner.pid] if owner else [])


@pytest.fixture
def labs(tmp_path: Path) -> Iterator[list[Path]]:
    """Directories of labs a test makes; each gets `lab down` at the end."""
    require_linux_bed()
    dirs: list[Path] = []
    yield dirs
    for d in dirs:
        lab(tmp_path, "down", "--dir", str(d))


def up(tmp_path: Path, labs: list[Path], name: str, *argv: str) -> tuple[Path, str]:
    d = tmp_path / name
    labs.append(d)
    res = lab(tmp_path, "up", "--dir", name, *argv)
    assert res.returncode == 0, res.stderr + res.stdout
    return d, res.stdout


# ------------------------------------------------------------------- the README's first set-up


def test_up_apply_verify_down_leaves_nothing(tmp_path: Path, labs: list[Path]) -> None:
    require_ios_bed()
    d, out = up(tmp_path, labs, "lab", "--hosts", "3", "--routers", "3", "--ios", "3")
    prefix = str(pointer(d)["prefix"])
    assert out.startswith(f"lab {prefix} up in ")
    assert "3 Linux host(s), 3 FRR router(s), 3 IOS router(s)" in out
    apply, verify, down = printed_commands(out)
    assert down[-3:] == ["down", "--dir", "lab"]
    assert sorted(p.name for p in d.iterdir()) == [
        "README.md", "id_ed25519", "id_ed25519.pub", "inventory", "known_hosts", "lab.json"
    ]  # fmt: skip
    hosts = yaml.safe_load((d / "inventory" / "hosts.yaml").read_text())
    assert set(hosts) == {"h1", "h2", "h3", "r1", "r2", "r3", "ios1", "ios2", "ios3"}
    assert "not in the inventory" not in out
    groups = yaml.safe_load((d / "inventory" / "groups.yaml").read_text())
    secret = groups["lab_ios"]["connection_options"]["netmiko"]["extras"]["secret"]
    assert secret and secret not in out

    status = lab(tmp_path, "status")
    assert status.returncode == 0, status.stdout
    assert "healthy" in status.stdout and status.stdout.count(" ok ") == 9

    # apply has work on some devices (h2, r2 and ios2 lack their IPv6 loopback, h3, r3 and
    # ios3 both), none on h1, r1 and ios1.
    first = run([*apply, "--format", "json"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert secret not in first.stdout + first.stderr
    report = {h["name"]: h for h in json.loads(first.stdout)["hosts"]}
    assert {n: h["status"] for n, h in report.items()} == {
        "h1": "ok", "h2": "changed", "h3": "changed", "r1": "ok", "r2": "changed", "r3": "changed",
        "ios1": "ok", "ios2": "changed", "ios3": "changed",
    }  # fmt: skip
    assert len(report["h3"]["changes"]) == 2
    assert [c for c in report["r3"]["changes"] if c.startswith("lo: add")] == [
        f"lo: add {a}" for a in hosts["r3"]["data"]["loopbacks"][0]["addresses"]
    ]
    assert run(verify, tmp_path).returncode == 0
    again = run([*apply, "--format", "json"], tmp_path)
    assert {h["status"] for h in json.loads(again.stdout)["hosts"]} == {"ok"}
    sim = Lab.attach(state.BASE_DIR / prefix).simulator
    ios3 = sim.state("ios3")
    loopback0 = next(i for i in ios3["interfaces"] if i["name"] == "Loopback0")
    assert [a["address"] for a in loopback0["ipv4"]] == [hosts["ios3"]["data"]["loopbacks"][0][
        "addresses"][0].split("/")[0]]  # fmt: skip
    assert ios3["saved"] is True

    pids = lab_pids(prefix)
    # sshd each, FRR's daemons, the IOS simulator, the keeper
    assert len(pids) >= 6 + 3 * 3 + 1 + 1
    assert sim.pid in pids
    assert kernel_names(prefix)
    res = run(down, tmp_path)
    assert res.returncode == 0, res.stderr
    assert kernel_names(prefix) == []
    assert [p for p in pids if netns.alive(p)] == []
    assert not (state.BASE_DIR / prefix).exists()
    assert not d.exists()
    again_down = lab(tmp_path, "down")
    assert again_down.returncode == 0
    assert "nothing to remove" in again_down.stdout


def test_two_labs_side_by_side(tmp_path: Path, labs: list[Path]) -> None:
    a, out_a = up(tmp_path, labs, "a", "--hosts", "2", "--routers", "0")
    b, out_b = up(tmp_path, labs, "b", "--hosts", "2", "--routers", "0")
    pa, pb = pointer(a)["prefix"], pointer(b)["prefix"]
    assert pa != pb
    addr_a = {
        h["hostname"] for h in yaml.safe_load((a / "inventory/hosts.yaml").read_text()).values()
    }
    addr_b = {
        h["hostname"] for h in yaml.safe_load((b / "inventory/hosts.yaml").read_text()).values()
    }
    assert addr_a.isdisjoint(addr_b)
    apply_a = printed_commands(out_a)[0]
    assert run(apply_a, tmp_path).returncode == 0
    assert lab(tmp_path, "down", "--dir", "a").returncode == 0
    assert kernel_names(str(pa)) == []
    status_b = lab(tmp_path, "status", "--dir", "b")
    assert status_b.returncode == 0, status_b.stdout
    verify_b = run(printed_commands(out_b)[1], tmp_path)
    assert verify_b.returncode == 1  # b's seeded drift is untouched by a's apply
    assert run(printed_commands(out_b)[0], tmp_path).returncode == 0
    assert run(printed_commands(out_b)[1], tmp_path).returncode == 0


def test_a_lab_whose_keeper_was_killed_is_reaped_by_the_next_lab_up(
    tmp_path: Path, labs: list[Path]
) -> None:
    require_ios_bed()
    a, _ = up(tmp_path, labs, "a", "--hosts", "2", "--routers", "2", "--ios", "1")
    prefix = str(pointer(a)["prefix"])
    keeper = state.Owner.read(state.BASE_DIR / prefix)
    assert keeper is not None and keeper.is_keeper(state.BASE_DIR / prefix)
    pids = lab_pids(prefix)
    os.kill(keeper.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while netns.alive(keeper.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    status = lab(tmp_path, "status", "--dir", "a")
    assert status.returncode == 1
    assert "DEAD" in status.stdout
    assert kernel_names(prefix)  # nothing reaps it before the next build
    up(tmp_path, labs, "b", "--hosts", "1", "--routers", "0")
    assert kernel_names(prefix) == []
    assert [p for p in pids if netns.alive(p)] == []
    assert not (state.BASE_DIR / prefix).exists()
    assert not a.exists()  # its files went with it
    assert lab(tmp_path, "status", "--dir", "b").returncode == 0
    again = lab(tmp_path, "down", "--dir", "a")
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_interrupted_lab_up_leaves_nothing(tmp_path: Path, labs: list[Path]) -> None:
    labs.append(tmp_path / "big")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [*CLI, "lab", "up", "--dir", "big", "--hosts", "250", "--routers", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _building(tmp_path / "big"):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert _building(tmp_path / "big") == []
    assert not (tmp_path / "big").exists()


def test_a_lab_up_killed_before_it_reports_leaves_nothing(tmp_path: Path, labs: list[Path]) -> None:
    """Nobody would know about that lab: its builder tears it down itself."""
    labs.append(tmp_path / "orphan")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [*CLI, "lab", "up", "--dir", "orphan", "--hosts", "60", "--routers", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _building(tmp_path / "orphan"):
        time.sleep(0.02)
    prefix = _building(tmp_path / "orphan")[0]
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 60
    while _building(tmp_path / "orphan") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _building(tmp_path / "orphan") == []
    assert kernel_names(prefix) == []
    assert not (tmp_path / "orphan").exists()


def _building(directory: Path) -> list[str]:
    """Prefixes of labs recorded for `directory` (while being built, too)."""
    target = str(directory.resolve())
    return [
        sd.name
        for sd in state.state_dirs(state.BASE_DIR)
        if state.read_state(sd).get("dir") == target
    ]


# ------------------------------------------------------------------------------- refusals


def test_refusals_exit_2_with_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from loopbackctl.cli import main
    from loopbackctl.lab import kinds, service, sshd

    def no_build(*args: object, **kw: object) -> None:
        raise AssertionError("a refused lab up must not start a builder")

    monkeypatch.setattr(service.subprocess, "Popen", no_build)

    def refused(*argv: str) -> str:
        assert main(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0, err
        return err

    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine\n")
    assert "full is not empty" in refused("lab", "up", "--dir", "full")
    assert "drop --hosts" in refused("lab", "up", "--from", "inventory", "--hosts", "2")
    assert "drop --hosts/--routers/--ios" in refused(
        "lab", "up", "--from", "inventory", "--ios", "1"
    )
    ios = kinds.kind("cisco_ios")
    monkeypatch.setitem(
        kinds.registry(),
        "cisco_ios",
        dataclasses.replace(ios, unavailable=lambda: "the IOS simulator is not installed"),
    )
    assert refused("lab", "up", "--hosts", "0", "--routers", "0", "--ios", "2") == (
        "loopbackctl: error: no IOS routers: the IOS simulator is not installed; "
        "the lab runs without them"
    )
    frr = kinds.kind("frr")
    monkeypatch.setitem(
        kinds.registry(), "frr", dataclasses.replace(frr, needs=(("/nonexistent/zebra", "frr"),))
    )
    err = refused("lab", "up", "--routers", "2")
    assert err == (
        "loopbackctl: error: lab up needs /nonexistent/zebra, which is missing: "
        "install the Debian package frr (apt-get install frr)"
    )
    monkeypatch.setattr(sshd, "SSHD", "/nonexistent/sshd")
    assert "install the Debian package openssh-server" in refused("lab", "up", "--routers", "0")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for action in ("up", "down", "status"):
        assert refused("lab", action) == (
            f"loopbackctl: error: lab {action} needs root (network namespaces, sshd): "
            "run it as root"
        )
    assert not (tmp_path / "lab").exists()


# ------------------------------------------------------------------------ rehearsal twin


def test_twin_of_the_shipped_example_converges(tmp_path: Path, labs: list[Path]) -> None:
    """The example's IOS routers r1, r2 become simulated IOS routers, web1 and web2 Linux
    hosts; apply converges all four (with $LOOPBACKCTL_SECRET set to a production value,
    which the twin never uses) and verify finds them clean."""
    require_ios_bed()
    source = ROOT / "inventory"
    d, out = up(tmp_path, labs, "twin", "--from", str(source))
    assert "left out of the twin" not in out
    assert "2 Linux host(s), 2 IOS router(s)" in out
    inv = d / "inventory"
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    original = yaml.safe_load((source / "hosts.yaml").read_text())
    assert set(hosts) == {"r1", "r2", "web1", "web2"}
    for name, entry in hosts.items():
        assert entry["groups"] == original[name]["groups"]
        assert entry["data"]["loopbacks"] == original[name]["data"]["loopbacks"]
        assert entry["hostname"].startswith("198.19.")
    assert hosts["web2"]["data"]["persist"] == "netplan"
    for f in ("groups.yaml", "defaults.yaml"):
        assert (inv / f).read_bytes() == (source / f).read_bytes()

    apply, verify, _ = printed_commands(out)
    prod = {"LOOPBACKCTL_SECRET": "production-secret", "LOOPBACKCTL_PASSWORD": "production-pw"}
    res = run([*apply, "--format", "json"], tmp_path, env=prod)
    assert res.returncode == 0, res.stdout + res.stderr
    assert {h["name"]: h["status"] for h in json.loads(res.stdout)["hosts"]} == {
        "r1": "changed", "r2": "changed", "web1": "changed", "web2": "changed"
    }  # fmt: skip
    assert run(verify, tmp_path, env=prod).returncode == 0
    prefix = str(pointer(d)["prefix"])
    r1 = Lab.attach(state.BASE_DIR / prefix).simulator.state("r1")
    by_name = {i["name"]: i for i in r1["interfaces"]}
    assert [a["address"] for a in by_name["Loopback1"]["ipv4"]] == ["10.255.1.1", "10.255.2.1"]
    assert by_name["Loopback0"]["description"] == "router-id"
    assert by_name["Loopback0"]["ipv6"] == ["2001:DB8:FF::1/128"]
    assert r1["saved"] is True
    assert "production" not in json.dumps(r1["command_log"])
    # web2 persisted into its own /etc/netplan, never this machine's.
    web2 = next(
        n for n in state.read_state(state.BASE_DIR / prefix)["nodes"] if n["name"] == "web2"
    )
    assert (Path(web2["dir"]) / "netplan" / "60-loopbackctl-lo.yaml").exists()
    assert not Path("/etc/netplan/60-loopbackctl-lo.yaml").exists()
    hostname = run(["ssh", "-i", str(d / "id_ed25519"), "-o", f"UserKnownHostsFile={d}/known_hosts",
                    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                    f"root@{hosts['web1']['hostname']}", "hostname"], tmp_path)  # fmt: skip
    assert hostname.stdout.strip() == "web1", hostname.stderr


def test_down_removes_the_files_of_a_lab_that_is_already_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a restart the namespaces and the state are gone but DIR's files are not."""
    from loopbackctl.cli import main
    from loopbackctl.lab import workspace

    require_linux_bed()
    ws = workspace.create(tmp_path / "old")
    ws.write_text("inventory/hosts.yaml", "h1: {}\n")
    ws.write_text("known_hosts", "")
    workspace.write_pointer(ws, "lb0000ff", state.BASE_DIR / "lb0000ff")
    (tmp_path / "old" / "notes.txt").write_text("mine\n")
    assert main(["lab", "down", "--dir", str(tmp_path / "old")]) == 0
    out = capsys.readouterr().out
    assert "lab lb0000ff was already gone" in out
    assert "kept in" in out and "notes.txt" in out
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["notes.txt"]


MIXED_HOSTS = {
    "srv1": {"hostname": "srv1.prod.example", "groups": ["servers"], "data": {
        "loopbacks": [{"name": "lo", "addresses": ["198.18.220.1/32", "2001:db8:220::1/128"]}]}},
    "core1": {"hostname": "core1.prod.example", "groups": ["core"], "data": {"loopbacks": [
        {"name": "Loopback0", "description": "router-id",
         "addresses": ["10.255.0.1/32", "2001:db8:ff::1/128"]},
        {"name": "Loopback10", "addresses": ["10.255.10.1/32", "10.255.11.1/32"]}]}},
    "edge1": {"hostname": "edge1.prod.example", "platform": "cisco_xe", "groups": ["core"],
              "data": {"loopbacks": [{"name": "Loopback0", "addresses": ["10.255.0.2/32"]}]}},
    "fab1": {"hostname": "fab1.prod.example", "groups": ["fabric"], "data": {"loopbacks": [
        {"name": "lo", "addresses": ["198.18.231.1/32", "2001:db8:231::1/128"]}]}},
    "fab2": {"hostname": "fab2.prod.example", "groups": ["fabric"], "data": {"loopbacks": [
        {"name": "lo", "addresses": ["198.18.231.2/32"]}]}},
}  # fmt: skip
MIXED_GROUPS = {
    "servers": {"platform": "linux", "username": "deploy"},
    "core": {"platform": "cisco_ios", "username": "netops", "data": {"site": "par1"},
             "connection_options": {"netmiko": {"extras": {"ssh_config_file": "/prod/ssh"}}}},
    "fabric": {"platform": "frr", "username": "frrops", "password": "production-frr"},
}  # fmt: skip


def test_twin_of_a_mixed_inventory_rehearses_apply_with_the_users_templates(
    tmp_path: Path, labs: list[Path]
) -> None:
    """Linux, IOS, IOS-XE and FRR hosts (production names, production credentials in the
    groups and the environment): the twin builds all of them; apply with the user's
    template override (an OSPF line on every IOS loopback) converges, a second apply sends
    nothing, verify is clean."""
    from tests.test_ios_remediation import extras_template

    require_ios_bed()
    prod = tmp_path / "prod"
    prod.mkdir()
    (prod / "hosts.yaml").write_text(yaml.safe_dump(MIXED_HOSTS, sort_keys=False))
    (prod / "groups.yaml").write_text(yaml.safe_dump(MIXED_GROUPS, sort_keys=False))
    (prod / "defaults.yaml").write_text("data:\n  command_timeout: 20\n")
    templates = extras_template(tmp_path / "templates", "ip ospf 1 area 0")
    d, out = up(tmp_path, labs, "twin", "--from", str(prod))
    assert "1 Linux host(s), 2 FRR router(s), 2 IOS router(s)" in out and "left out" not in out
    apply, verify, _ = printed_commands(out)
    with_templates = [*CLI, "--templates", str(templates), *apply[len(CLI) :]]
    env = {"LOOPBACKCTL_SECRET": "production-secret", "LOOPBACKCTL_PASSWORD": "production-pw"}
    res = run([*with_templates, "--format", "json"], tmp_path, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    report = {h["name"]: h for h in json.loads(res.stdout)["hosts"]}
    assert {n: (h["platform"], h["status"]) for n, h in report.items()} == {
        "srv1": ("linux", "changed"), "core1": ("cisco_ios", "changed"),
        "edge1": ("cisco_xe", "changed"), "fab1": ("frr", "changed"), "fab2": ("frr", "changed"),
    }  # fmt: skip
    assert report["core1"]["commands"].count(" ip ospf 1 area 0") == 2  # both loopbacks
    again = run([*with_templates, "--format", "json"], tmp_path, env=env)
    assert {h["name"]: (h["status"], h["commands"]) for h in json.loads(again.stdout)["hosts"]} == {
        "srv1": ("ok", []), "core1": ("ok", []), "edge1": ("ok", []), "fab1": ("ok", []),
        "fab2": ("ok", []),
    }  # fmt: skip
    checked = run([*CLI, "--templates", str(templates), *verify[len(CLI) :]], tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    twin_lab = Lab.attach(state.BASE_DIR / str(pointer(d)["prefix"]))
    assert ("inet6", "2001:db8:231::1/128") in twin_lab.lo_addresses("fab1")
    assert " ip address 198.18.231.2/32" in twin_lab.frr_conf("fab2")  # saved
    sim = twin_lab.simulator
    core1 = {i["name"]: i for i in sim.state("core1")["interfaces"]}
    assert core1["Loopback10"]["extras"] == ["ip ospf 1 area 0"]
    assert [a["address"] for a in core1["Loopback10"]["ipv4"]] == ["10.255.10.1", "10.255.11.1"]
    lab_host = yaml.safe_load((d / "inventory" / "hosts.yaml").read_text())["srv1"]["hostname"]
    assert lab_host.startswith("198.19.")
    assert (d / "inventory" / "groups.yaml").read_bytes() == (prod / "groups.yaml").read_bytes()


def test_lab_up_without_the_simulator_installed_runs_without_ios(
    tmp_path: Path, labs: list[Path]
) -> None:
    """fake-switches cannot be imported (a finder refuses it, as if it were not
    installed): `lab up --ios 2` says so in one line and builds the rest."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'fake_switches':\n"
        "            raise ModuleNotFoundError(name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Blocker())\n"
    )
    d = tmp_path / "noios"
    labs.append(d)
    env = dict(os.environ, PYTHONPATH=f"{blocker}:{ROOT}", NO_COLOR="1")
    res = subprocess.run([*CLI, "lab", "up", "--dir", "noios", "--hosts", "1", "--routers", "0",
                          "--ios", "2"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    notes = [line for line in res.stdout.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: no IOS routers: the IOS simulator is not installed (no Python module "
        "fake_switches): pip install 'loopbackctl[lab]' && pip install --no-deps "
        "fake-switches==1.5.0; the lab runs without them"
    ]
    assert "1 Linux host(s)," in res.stdout and "IOS router(s)" not in res.stdout
    assert set(yaml.safe_load((d / "inventory" / "hosts.yaml").read_text())) == {"h1"}
    assert lab(tmp_path, "status", "--dir", "noios").returncode == 0
