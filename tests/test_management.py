"""The management path (issue 14): a Linux bed host whose SSH session goes through an
address on its own lo (198.18.x, routed from this namespace via the host's eth0, with an
sshd of the test's listening there). A plan that takes that address away is refused
unless --allow-management-change; with it, the change goes out under confirm-or-revert,
loopbackctl reconnects through data.management_address, verifies and confirms; when it
cannot reconnect, the host puts back the old address by itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.linux_helpers import Fleet, fleet, ip_lo, lo

PORT = 2222
NSENTER = "/usr/bin/nsenter"
SSHD = "/usr/sbin/sshd"


@dataclass
class Managed:
    """h1, reached at `old` on its lo; `new` and `nowhere` are free addresses of h1's
    slot, `new` routed to h1 (and listened on), `nowhere` not routed at all."""

    f: Fleet
    old: str
    new: str
    nowhere: str

    def write(self, management_address: str | None) -> None:
        data = {"loopbacks": [{"name": "lo", "addresses": [f"{self.new}/32"],
                               "absent_addresses": [f"{self.old}/32"]}]}  # fmt: skip
        if management_address is not None:
            data["management_address"] = management_address
        self.f.edit_hosts(h1={"hostname": self.old, "port": PORT, "data": data})

    def addresses(self) -> frozenset[str]:
        return lo(self.f.bed, "h1")[1]


@pytest.fixture
def managed(linux_bed, tmp_path: Path) -> Iterator[Managed]:
    bed = linux_bed(1)
    node = bed["h1"]
    base = node.loopback4.ip
    old, new, nowhere = str(base), str(base + 100), str(base + 101)
    ip_lo(bed, "h1", "address", "add", f"{old}/32", "dev", "lo")
    bed.add_route_to_loopbacks("h1", [f"{old}/32", f"{new}/32"])
    # An sshd of the test's in h1's namespaces, on both lo addresses (the new one bound
    # before h1 holds it: ip_nonlocal_bind, in h1's network namespace only).
    bed.exec("h1", ["sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"], check=True)
    conf = tmp_path / "sshd_config"
    pid_file = tmp_path / "sshd-lo.pid"
    lines = [
        line
        for line in node.config_file.read_text().splitlines()
        if not line.startswith(("ListenAddress", "PidFile", "Port"))
    ]
    lines += [f"ListenAddress {old}:{PORT}", f"ListenAddress {new}:{PORT}", f"PidFile {pid_file}"]
    conf.write_text("\n".join(lines) + "\n")
    assert node.sshd_pid is not None
    proc = subprocess.Popen(
        [NSENTER, "-t", str(node.sshd_pid), "-n", "-m", "-u", "--", SSHD, "-D", "-f", str(conf),
         "-E", str(tmp_path / "sshd-lo.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists():
            assert proc.poll() is None, (tmp_path / "sshd-lo.log").read_text()
            assert time.monotonic() < deadline, "the test's sshd did not start"
            time.sleep(0.01)
        yield Managed(fleet(bed, tmp_path, {"h1": []}), old, new, nowhere)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_a_plan_that_cuts_the_session_is_refused_before_anything_is_sent(
    managed: Managed,
) -> None:
    managed.write(management_address=managed.new)
    before = managed.addresses()
    assert f"{managed.old}/32" in before
    r = managed.f.run("apply", "--format", "json")
    assert r.rc == 1, r.out + r.err
    h1 = r.host("h1")
    assert h1["status"] == "failed" and h1["commands"] == [], h1
    error = h1["error"]
    assert "\n" not in error and error.count(". ") == 0, error
    assert f"connects through {managed.old}, which is on lo" in error
    assert "--allow-management-change" in error
    assert managed.addresses() == before

    # --check says so too (a warning), and changes nothing.
    r = managed.f.run("apply", "--check", "--format", "json")
    warned = [c for c in r.host("h1")["checks"] if c["name"] == "management path"]
    assert warned and managed.old in warned[0]["detail"], r.host("h1")

    # Allowed, but nowhere to reconnect: no management_address, and the hostname's
    # address is what the plan removes.
    managed.write(management_address=None)
    r = managed.f.run("apply", "--allow-management-change", "--format", "json")
    assert r.rc == 1
    error = r.host("h1")["error"]
    assert "no data.management_address says where to reconnect" in error, error
    assert r.host("h1")["commands"] == []
    assert managed.addresses() == before

    # Without confirm-or-revert it is refused as well.
    managed.write(management_address=managed.new)
    r = managed.f.run("apply", "--allow-management-change", "--no-confirm", "--format", "json")
    assert r.rc == 1
    assert "needs confirm-or-revert" in r.host("h1")["error"]
    assert managed.addresses() == before


def test_allowed_change_reconnects_through_the_new_address_and_confirms(
    managed: Managed,
) -> None:
    managed.write(management_address=managed.new)
    t0 = time.monotonic()
    r = managed.f.run(
        "apply", "--allow-management-change", "--confirm-timeout", "20",
        "--command-timeout", "4", "--format", "json",
    )  # fmt: skip
    assert r.rc == 0, r.out + r.err
    h1 = r.host("h1")
    assert h1["status"] == "changed", h1
    after = managed.addresses()
    assert f"{managed.new}/32" in after and f"{managed.old}/32" not in after
    # Confirmed: past the confirm timeout the change is still in place.
    time.sleep(max(0.0, 20 + 3 - (time.monotonic() - t0)))
    assert managed.addresses() == after
    # The inventory now names the new address: verify goes through it.
    managed.f.edit_hosts(h1={"hostname": managed.new})
    r = managed.f.run("verify")
    assert r.rc == 0, r.out + r.err


def test_no_reconnect_leaves_the_host_to_revert_by_itself(managed: Managed) -> None:
    managed.write(management_address=managed.nowhere)
    before = managed.addresses()
    t0 = time.monotonic()
    r = managed.f.run(
        "apply", "--allow-management-change", "--confirm-timeout", "10",
        "--command-timeout", "4", "--connect-timeout", "3", "--format", "json",
    )  # fmt: skip
    assert r.rc == 1, r.out + r.err
    h1 = r.host("h1")
    assert h1["status"] == "failed" and h1["rollback"] == "left to the device", h1
    assert f"could not reconnect through {managed.nowhere}" in h1["error"]
    assert "by itself at" in h1["error"]
    time.sleep(max(0.0, 10 + 3 - (time.monotonic() - t0)))
    assert managed.addresses() == before  # the old address is back, the new one gone
    r = managed.f.run("apply", "--check", "--format", "json")  # through the old address
    assert r.host("h1")["status"] == "drift", r.out + r.err
