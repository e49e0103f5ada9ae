"""The management path on a simulated IOS router managed through its Loopback0: the
simulator mirrors Loopback0's addresses onto the kernel's lo of the router's namespace
and answers SSH there (`mirror_loopback`), routed from this namespace via the router's
veth. Changing Loopback0's address is refused unless --allow-management-change; with it
apply reconnects through data.management_address and confirms; when it cannot, the
router's revert timer puts the old address back (and with it the way in). One IOS minute
lasts MINUTE seconds here ($IOSSIM_MINUTE_SECONDS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from loopbackctl.lab.iossim.server import MINUTE_ENV
from tests.clirun import Run, run_cli
from tests.iossim import DeviceSpec, IosSimBed

PASSWORD, SECRET = "admin", "enable"
MINUTE = 15.0


@dataclass
class Router:
    bed: IosSimBed
    old: str
    new: str
    nowhere: str

    def loopback0(self) -> list[str]:
        port = self.bed.interface("r1", "Loopback0") or {}
        return sorted(f"{a['address']}/{a['prefixlen']}" for a in port.get("ipv4", []))

    def kernel_lo(self) -> set[str]:
        lab = self.bed.lab
        assert lab is not None
        return {a for _, a in lab.lo_addresses("r1")} - {"127.0.0.1/8", "::1/128"}


@pytest.fixture(scope="module")
def router() -> Iterator[Router]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MINUTE_ENV, str(MINUTE))
        spec = DeviceSpec("r1", password=PASSWORD, secret=SECRET, mirror_loopback=True)
        with IosSimBed(devices=[spec]) as bed:
            lab = bed.lab
            assert lab is not None
            base = lab["r1"].loopback4.ip
            old, new, nowhere = str(base), str(base + 100), str(base + 101)
            lab.add_route_to_loopbacks("r1", [f"{old}/32", f"{new}/32"])
            yield Router(bed, old, new, nowhere)


@pytest.fixture
def r(router: Router) -> Router:
    router.bed.reset("r1")
    router.bed.apply("r1", ["interface Loopback0", f" ip address {router.old} 255.255.255.255"])
    _until(lambda: router.kernel_lo() == {f"{router.old}/32"}, "Loopback0 mirrored")
    return router


def _until(ok, what: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def _run(r: Router, tmp: Path, management: str | None, *argv: str) -> Run:
    inv = tmp / "inventory"
    inv.mkdir(exist_ok=True)
    data: dict[str, object] = {"loopbacks": [{"name": "Loopback0", "addresses": [f"{r.new}/32"]}]}
    if management is not None:
        data["management_address"] = management
    hosts = {"r1": {"hostname": r.old, "port": 22, "platform": "cisco_ios", "username": "admin",
                    "data": data}}  # fmt: skip
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    env = {"LOOPBACKCTL_PASSWORD": PASSWORD, "LOOPBACKCTL_SECRET": SECRET}
    return run_cli(inv, tmp / "known_hosts", [*argv, "--format", "json"], env)


def test_changing_loopback0_the_session_goes_through_is_refused(r: Router, tmp_path: Path) -> None:
    res = _run(r, tmp_path, r.new, "apply")
    assert res.rc == 1, res.out + res.err
    h = res.host("r1")
    assert h["status"] == "failed" and h["commands"] == [], h
    assert f"connects through {r.old}, which is on Loopback0" in h["error"]
    assert r.loopback0() == [f"{r.old}/32"]


def test_allowed_change_reconnects_through_the_new_loopback0_address(
    r: Router, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    res = _run(r, tmp_path, r.new, "apply", "--allow-management-change",
               "--confirm-timeout", "60", "--command-timeout", "3")  # fmt: skip
    assert res.rc == 0, res.out + res.err
    assert res.host("r1")["status"] == "changed", res.host("r1")
    assert r.loopback0() == [f"{r.new}/32"]
    assert r.kernel_lo() == {f"{r.new}/32"}
    state = r.bed.state("r1")
    assert state["revert"] is None, state["revert"]
    time.sleep(max(0.0, MINUTE + 2 - (time.monotonic() - t0)))  # past the timer: confirmed
    assert r.loopback0() == [f"{r.new}/32"]


def test_no_reconnect_leaves_the_router_to_revert_by_itself(r: Router, tmp_path: Path) -> None:
    t0 = time.monotonic()
    res = _run(r, tmp_path, r.nowhere, "apply", "--allow-management-change",
               "--confirm-timeout", "60", "--command-timeout", "3",
               "--connect-timeout", "3")  # fmt: skip
    assert res.rc == 1, res.out + res.err
    h = res.host("r1")
    assert h["status"] == "failed" and h["rollback"] == "left to the device", h
    assert f"could not reconnect through {r.nowhere}" in h["error"]
    _until(lambda: r.loopback0() == [f"{r.old}/32"], "the revert timer put Loopback0 back",
           timeout=MINUTE * 3 + 10)  # fmt: skip
    assert time.monotonic() - t0 >= MINUTE * 0.9
    _until(lambda: r.kernel_lo() == {f"{r.old}/32"}, "the old address back on the kernel")
    res = _run(r, tmp_path, r.new, "verify")  # in again through the old address
    assert res.host("r1")["status"] == "drift", res.out + res.err
