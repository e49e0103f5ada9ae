"""The one teardown of a lab or test bed, used by `Lab.close`, `lab down` and reaping.

It finds what to remove by the prefix's exact name patterns (see `state`), so it also
works when state.json is incomplete (a build killed half way). Order matters: processes
first (everything inside the namespaces, then the sshd listeners, so each parent reaps its
children), then the root-side veths (in one batch per link group), the bridges, the
namespaces, and last the state directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from loopbackctl.lab import netns, state
from loopbackctl.lab.errors import LabError


def link_group(prefix: str) -> int:
    """Link group of the prefix's root-side veths (unique per live prefix)."""
    return 0x4C000000 | int(prefix[2:], 16)


def destroy(
    state_dir: Path,
    procs: Iterable[subprocess.Popen[bytes]] = (),
    timings: dict[str, float] | None = None,
) -> None:
    """Remove everything of the lab or bed recorded in `state_dir`; LabError listing what
    could not be removed (the state directory is then kept, so a later run retries)."""
    prefix = state_dir.name
    if not state.PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"not a lab state directory: {state_dir}")
    data = state.read_state(state_dir)
    errors: list[str] = []
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("routes", lambda: _del_routes(data.get("routes", []))),
        ("processes", lambda: _kill(prefix, data, list(procs))),
        ("veths", lambda: _del_veths(prefix)),
        ("bridges", lambda: _del_bridges(prefix)),
        ("netns", lambda: _del_netns(prefix)),
        ("keeper", lambda: _stop_keeper(state_dir)),
        ("files", lambda: _remove_files(data)),
    )
    with netns.signals_deferred():
        for what, step in steps:
            t = time.monotonic()
            try:
                step()
            except Exception as exc:
                errors.append(f"{what}: {exc}")
            if timings is not None:
                timings[f"down:{what}"] = time.monotonic() - t
        t = time.monotonic()
        left = leftovers(prefix)
        if left:
            errors.append("left behind: " + ", ".join(left[:20]))
        if not errors:
            shutil.rmtree(state_dir, ignore_errors=True)
        if timings is not None:
            timings["down:check+state"] = time.monotonic() - t
    if errors:
        raise LabError(f"teardown of lab {prefix} incomplete: " + "; ".join(errors))


def leftovers(prefix: str) -> list[str]:
    """Namespaces and root links of the prefix that still exist."""
    return netns.link_names(state.link_pattern(prefix)) + netns.netns_names(
        state.netns_pattern(prefix)
    )


def _del_routes(routes: Iterable[object]) -> None:
    lines = [f"route del {r[0]} via {r[1]}" for r in routes if isinstance(r, list) and len(r) == 2]
    netns.ip_batch(lines, force=True)


def _kill(prefix: str, data: dict[str, object], procs: list[subprocess.Popen[bytes]]) -> None:
    """Everything in the namespaces but the sshd listeners, then the listeners: each sshd
    reaps its sessions and daemons, and the owner reaps the listeners."""
    members = netns.pids_in_netns(netns.netns_names(state.netns_pattern(prefix)))
    inside = {p for ps in members.values() for p in ps}
    listeners = {p.pid for p in procs} | _recorded_listeners(data)
    left = netns.signal_and_wait(inside - listeners)
    left += netns.signal_and_wait(inside & listeners, procs)
    if left:
        raise LabError(f"processes would not die: {left}")


def _recorded_listeners(data: dict[str, object]) -> set[int]:
    nodes = data.get("nodes", [])
    out: set[int] = set()
    for node in nodes if isinstance(nodes, list) else []:
        pid = node.get("sshd_pid") if isinstance(node, dict) else None
        if isinstance(pid, int):
            out.add(pid)
    return out


def _del_veths(prefix: str) -> None:
    # One `link del group G` unregisters all veths in one kernel batch (one RCU grace
    # period instead of one per link); only if every link in G is one of ours.
    # (iproute2 6.1 prints an empty JSON object for each link the group filter drops.)
    group = str(link_group(prefix))
    in_group = [str(ln["ifname"]) for ln in netns.ip_json(["link", "show", "group", group])
                if "ifname" in ln]  # fmt: skip
    pattern = state.link_pattern(prefix)
    if in_group and all(pattern.fullmatch(n) for n in in_group):
        netns.ip_batch([f"link del group {group}"], force=True)
    veths = [n for n in netns.link_names(pattern) if n[len(prefix)] == "v"]
    netns.ip_batch([f"link del {n}" for n in veths], force=True)


def _del_bridges(prefix: str) -> None:
    bridges = [n for n in netns.link_names(state.link_pattern(prefix)) if n[len(prefix)] == "b"]
    netns.ip_batch([f"link del {n}" for n in bridges], force=True)


def _del_netns(prefix: str) -> None:
    names = netns.netns_names(state.netns_pattern(prefix))
    netns.ip_batch([f"netns del {n}" for n in names], force=True)


def _stop_keeper(state_dir: Path) -> None:
    """A lab's keeper (never a test process, never ourselves) ends with its lab."""
    owner = state.Owner.read(state_dir)
    if owner is None or owner.pid == os.getpid():
        return
    if owner.is_keeper(state_dir):
        left = netns.signal_and_wait([owner.pid], timeout=10)
        if left:
            raise LabError(f"keeper {owner.pid} would not stop")


def _remove_files(data: dict[str, object]) -> None:
    record = data.get("workspace")
    if isinstance(record, dict):
        from loopbackctl.lab import workspace

        workspace.remove(record)


def reap(base_dir: Path = state.BASE_DIR) -> list[str]:
    """Tear down labs and beds under base_dir whose owner is dead; returns their prefixes.

    Only directories named exactly ``lb`` + 6 hex digits are considered. Takes the lock.
    """
    if not base_dir.is_dir():
        return []
    with state.locked(base_dir):
        return reap_unlocked(base_dir)


def reap_unlocked(base_dir: Path) -> list[str]:
    """`reap`, for a caller that holds the lock."""
    reaped = []
    for entry in state.state_dirs(base_dir):
        owner = state.Owner.read(entry)
        if owner is not None and owner.alive():
            continue
        try:
            young = time.time() - entry.stat().st_mtime < 60
        except FileNotFoundError:
            continue  # its owner removed it meanwhile (a run outside this lock's users)
        if owner is None and young:
            continue  # no owner file yet: never happens with the rename dance, but be safe
        with contextlib.suppress(LabError):
            destroy(entry)
            reaped.append(entry.name)
    return reaped
