"""Helpers for the confirm-or-revert tests on real devices (Linux hosts and FRR routers of
loopbackctl.lab): what a device's revert directory holds, its revert jobs still running,
and a change armed and pushed by a driver whose session then ends without a confirm."""

from __future__ import annotations

from pathlib import Path

from loopbackctl import platforms
from loopbackctl.fleet import FleetOptions
from loopbackctl.fleet import jobs as fleet_jobs
from loopbackctl.inventory import load
from loopbackctl.lab import netns
from loopbackctl.lab.node import Node
from loopbackctl.plan import plan_host
from loopbackctl.platforms.base import Confirming, Persisting, SavedFile, Undo
from loopbackctl.platforms.linux import revert
from loopbackctl.runner import Job


def job_state(node: Node) -> list[str]:
    """The files in the device's revert directory (the lab binds one per device)."""
    d = node.host_dir / "revert"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def revert_pids(node: Node) -> list[int]:
    """Revert jobs still running on the device: `sh .../revert.sh` in its namespace."""
    out = []
    for pid in netns.pids_in_netns([node.netns]).get(node.netns, []):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if revert.SCRIPT.encode() in argv:
            out.append(pid)
    return out


def jobs(inventory: Path) -> dict[str, Job]:
    """The apply jobs of an inventory, by host name."""
    inv, _ = load(str(inventory))
    return {j.host.name: j for j in fleet_jobs(FleetOptions(mode="apply", host_keys="off"), inv)}


def armed_and_abandoned(job: Job, timeout: float, file: SavedFile | None = None) -> list[str]:
    """What apply does up to the push (and the netplan file), then the session ends
    without a confirm, as when loopbackctl dies there. Returns the commands pushed."""
    host = job.host
    drv = platforms.driver(host.platform)
    assert isinstance(drv, Confirming)
    policy = platforms.lookup(host.platform)
    assert policy is not None
    artifacts = job.templates.for_host(host, job.artifacts)
    s = drv.connect(host, job.options)
    try:
        before = drv.read(s, host)
        want = drv.wanted(host, before, purge=False)
        plan = plan_host(want, before.loopbacks, policy.policy)
        commands = drv.commands(host, before, plan, artifacts)
        assert commands, f"{host.name}: nothing to change"
        saved = drv.read_saved(s, host, artifacts) if isinstance(drv, Persisting) else None
        drv.arm(s, host, Undo(before, plan, tuple(commands), file), timeout)
        drv.push(s, host, commands)
        if saved is not None and isinstance(drv, Persisting):
            drv.write_saved(s, host, saved[1])
    finally:
        s.close()
    return commands


def cancel(job: Job) -> None:
    """Confirm (cancel) the device's pending revert."""
    drv = platforms.driver(job.host.platform)
    assert isinstance(drv, Confirming)
    s = drv.connect(job.host, job.options)
    try:
        drv.confirm(s, job.host)
    finally:
        s.close()
