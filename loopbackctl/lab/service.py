"""`lab up`, `lab down` and `lab status`, as functions that return data (the cli prints).

`up` checks what it can at once (root, packages, the directory, a twin's source
inventory: exit 2 before anything is built; IOS routers without the simulator installed
are left out, with one line saying so), then starts the lab's builder,
``python -m loopbackctl.lab.keeper build``, in a session of its own. The builder builds
the lab, writes its directory, reports one JSON line on its stdout and stays on as the
lab's keeper: the owner of the lab, and the parent that reaps its sshd, FRR and IOS
simulator processes, until `lab down`. Ctrl-C during `up` stops the builder, which
tears down what it built. A builder whose report cannot be delivered (the `up` process
died) tears down too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from loopbackctl import platforms
from loopbackctl.errors import UsageError
from loopbackctl.lab import health, inventory, netns, prereq, state, twin, workspace
from loopbackctl.lab.build import Lab, LabSpec
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.kinds import kind, registry
from loopbackctl.lab.node import Node

DEFAULT_DIR = "lab"
# Every file a lab may write into its directory (listed before any is written, so a
# teardown at any point removes exactly these).
FILES = (
    "inventory/hosts.yaml",
    "inventory/groups.yaml",
    "inventory/defaults.yaml",
    "id_ed25519",
    "id_ed25519.pub",
    "known_hosts",
    "README.md",
    workspace.LAB_JSON,
)


@dataclass(frozen=True)
class UpRequest:
    """`lab up [--hosts N] [--routers M] [--ios K] [--dir DIR] [--from INVENTORY]`."""

    dir: str = DEFAULT_DIR
    hosts: int = 3
    routers: int = 3
    ios: int = 0
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpRequest:
        return cls(**data)


@dataclass(frozen=True)
class Device:
    name: str
    kind: str
    address: str
    in_inventory: bool


@dataclass(frozen=True)
class UpResult:
    prefix: str
    dir: str
    seconds: float
    devices: tuple[Device, ...]
    kinds: str  # "3 Linux host(s), 3 FRR router(s), 2 IOS router(s)"
    slots: tuple[str, ...]
    notes: tuple[str, ...] = ()
    commands: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpResult:
        data = dict(data)
        data["devices"] = tuple(Device(**d) for d in data["devices"])
        for key in ("slots", "notes", "commands"):
            data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class Plan:
    """What `lab up` builds: its devices (kind, name), a twin's plan, and notes (one line
    each) on what it leaves out."""

    devices: tuple[tuple[str, str], ...]
    twin_plan: twin.TwinPlan | None
    notes: tuple[str, ...]


def prepare(req: UpRequest) -> Plan:
    """Everything that can be refused before building (UsageError / LabUnavailable /
    InventoryError, all exit 2); IOS routers are left out, with a note, when the
    simulator is not installed."""
    if req.hosts < 0 or req.routers < 0 or req.ios < 0:
        raise UsageError("--hosts, --routers and --ios take 0 or more")
    notes: list[str] = []
    tp = twin.plan(req.source) if req.source else None
    if tp is not None:
        devices = tp.devices
        notes += tp.notes()
    else:
        ios = req.ios
        why = kind("cisco_ios").unavailable() if ios else None
        if why is not None:
            notes.append(f"no IOS routers: {why}; the lab runs without them")
            ios = 0
        devices = LabSpec.numbered(req.hosts, req.routers, ios).devices
    if not devices:
        raise UsageError(notes[0] if notes else "a lab needs at least one device "
                         "(--hosts, --routers, --ios)")  # fmt: skip
    plan = Plan(devices, tp, tuple(notes))
    spec = _spec(plan, None)
    try:
        spec.check()
    except ValueError as exc:
        raise UsageError(f"lab up: {exc}") from None
    prereq.require("lab up", kinds=[k.name for k in spec.kinds])
    workspace.check_free(Path(req.dir))
    return plan


def listed(kind_name: str) -> bool:
    """Devices of a kind go into the inventory only when loopbackctl has a platform of
    that name (routers: once the frr platform exists), so the inventory validates."""
    return platforms.lookup(kind_name) is not None


def _spec(plan: Plan, directory: str | None) -> LabSpec:
    if plan.twin_plan is not None:
        return LabSpec(plan.devices, kind="lab", dir=directory)
    return LabSpec(plan.devices, kind="lab", dir=directory, seeded=inventory.seeded)


def build(req: UpRequest) -> tuple[Lab, UpResult]:
    """Build the lab and write its directory (in the builder process)."""
    t0 = time.monotonic()
    plan = prepare(req)
    lab = Lab(_spec(plan, str(Path(req.dir).resolve())))
    ws = workspace.create(Path(req.dir))
    ws.files = list(FILES)
    lab.extra["workspace"] = ws.to_json()
    try:
        lab.start()
        notes = [*plan.notes, *_write(ws, lab, plan.twin_plan)]
        lab.extra["ready"] = True
        lab.save()
    except BaseException:
        with contextlib.suppress(Exception):
            lab.close()
        workspace.discard(ws)
        raise
    return lab, _result(req, lab, ws, notes, time.monotonic() - t0, plan.twin_plan is not None)


def _write(ws: workspace.Workspace, lab: Lab, tp: twin.TwinPlan | None) -> list[str]:
    key = ws.dir / "id_ed25519"
    ws.write_text("id_ed25519", lab.key_file.read_text(), 0o600)
    ws.write_text("id_ed25519.pub", lab.key_file.with_suffix(".pub").read_text())
    ws.write_text("known_hosts", "\n".join(lab.known_hosts_lines()) + "\n")
    notes: list[str] = []
    extras = {k.name: k.extras(lab) for k in lab.spec.kinds}
    if tp is not None:
        ws.record(*twin.write(tp, lab.nodes, ws.dir / "inventory", key, extras))
    else:
        kinds = [k for k in registry() if listed(k)]
        hosts, groups = inventory.lab_documents(lab.nodes, key, kinds, extras)
        ws.record(*inventory.write(ws.dir / "inventory", hosts, groups))
        for k in registry().values():
            if lab.of_kind(k.name) and not listed(k.name):
                notes.append(
                    f"{_names(lab.of_kind(k.name))} ({k.title}s) run but are not in the "
                    f"inventory: this loopbackctl has no {k.name} platform yet"
                )
    ws.write_text("README.md", readme(lab, ws.dir))
    workspace.write_pointer(ws, lab.prefix, lab.state_dir)
    return notes


def _names(nodes: list[Node]) -> str:
    if len(nodes) <= 4:
        return ", ".join(n.name for n in nodes)
    return f"{nodes[0].name} .. {nodes[-1].name}"


def commands(directory: str) -> tuple[str, ...]:
    """The three commands to run next, with the directory as the user wrote it."""
    inv = shlex.quote(os.path.join(directory, "inventory"))
    kh = shlex.quote(os.path.join(directory, "known_hosts"))
    return (
        f"loopbackctl -i {inv} apply --known-hosts {kh}",
        f"loopbackctl -i {inv} verify --known-hosts {kh}",
        f"loopbackctl lab down --dir {shlex.quote(directory)}",
    )


def _result(
    req: UpRequest, lab: Lab, ws: workspace.Workspace, notes: list[str], took: float, is_twin: bool
) -> UpResult:
    return UpResult(
        prefix=lab.prefix,
        dir=str(ws.dir),
        seconds=round(took, 2),
        devices=tuple(Device(n.name, n.kind, n.ip4, is_twin or listed(n.kind)) for n in lab.nodes),
        kinds=_kinds(lab),
        slots=tuple(str(s.net4) for s in lab.slots),
        notes=tuple(notes),
        commands=commands(req.dir),
    )


def _kinds(lab: Lab) -> str:
    return ", ".join(f"{len(lab.of_kind(k.name))} {k.title}(s)" for k in lab.spec.kinds)


def readme(lab: Lab, directory: Path) -> str:
    """DIR/README.md: what is there and what to run."""
    kinds = _kinds(lab)
    d = shlex.quote(str(directory))
    served = " (IOS routers: served by the IOS simulator)" if lab.ios_routers else ""
    first, ios = lab.nodes[0], lab.ios_routers
    other = f" (an IOS router: `admin@{ios[0].ip4}`)" if ios and first.kind != ios[0].kind else ""
    lines = [
        f"# loopbackctl lab {lab.prefix}",
        "",
        f"{kinds} on this machine, each a network namespace with its own sshd{served}",
        f"(management {', '.join(str(s.net4) for s in lab.slots)}). Files here:",
        "",
        "- `inventory/`: the lab's inventory (Nornir layout)",
        "- `id_ed25519`: the key root logs in with on every device (IOS routers: user "
        "`admin`, whose enable secret is in the inventory)",
        "- `known_hosts`: every device's host key",
        "- `lab.json`: which lab this is; `loopbackctl lab down` removes all of these",
        "",
        "Run:",
        "",
        *[f"    {c}" for c in commands(str(directory))],
        "",
        f"Log in by hand: `ssh -i {d}/id_ed25519 -o UserKnownHostsFile={d}/known_hosts "
        f"{first.username}@{first.ip4}`{other}. Health: `loopbackctl lab status --dir {d}`.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------- up (the CLI side)


def up(req: UpRequest, *, timeout: float = 3600) -> UpResult:
    """Check, start the builder, wait for its report; raises as the builder did."""
    prepare(req)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", state.KEEPER_MODULE, "build"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            line = _converse(proc, req, timeout)
        except BaseException:
            _stop_builder(proc)
            raise
        return _answer(line, err)


def _converse(proc: subprocess.Popen[bytes], req: UpRequest, timeout: float) -> bytes:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(req.to_json()).encode())
    proc.stdin.close()
    line = proc.stdout.readline()
    proc.stdout.close()
    if not line:  # it ended without a report: collect it; its stderr says why
        proc.wait(timeout)
    return line


def _stop_builder(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C: the builder tears down what it built, then exits."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=120)


def _answer(line: bytes, err: IO[bytes]) -> UpResult:
    try:
        msg = json.loads(line)
    except ValueError:
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
        raise LabError("the lab builder failed: " + " | ".join(tail)) from None
    if msg.get("ok"):
        return UpResult.from_json(msg["result"])
    code = int(msg.get("code", 1))
    if code == 130:
        raise KeyboardInterrupt
    if code == 2:
        raise UsageError(str(msg.get("error")))
    raise LabError(str(msg.get("error")))


# ----------------------------------------------------------------------- down and status


@dataclass(frozen=True)
class DownResult:
    """`prefix` None: no lab ran; `stale` names a lab already gone whose files were left
    in DIR (and are now removed); `kept`: what is left in DIR that lab up did not write."""

    prefix: str | None
    kept: tuple[str, ...] = ()
    stale: str | None = None


def down(directory: Path, base_dir: Path = state.BASE_DIR) -> DownResult:
    """Remove the lab of `directory`: every namespace, link, process and file it made.
    Safe to run twice (the second finds nothing)."""
    prereq.require("lab down")
    state_dir = workspace.find(directory, base_dir)
    if state_dir is None:
        pointer = workspace.read_pointer(directory)
        if pointer is None:
            return DownResult(None)
        return DownResult(None, tuple(workspace.remove(pointer)), str(pointer.get("prefix")))
    _cancel_build(state_dir)
    record = state.read_state(state_dir).get("workspace")
    if state_dir.exists():
        Lab.attach(state_dir).close()
    return DownResult(state_dir.name, tuple(_kept(record)))


def _kept(record: Any) -> list[str]:
    if not isinstance(record, dict) or not record.get("dir"):
        return []
    return workspace.contents(Path(str(record["dir"])))


def _cancel_build(state_dir: Path) -> None:
    """A lab still being built: stop its builder, which tears down what it built."""
    if state.read_state(state_dir).get("ready"):
        return
    owner = state.Owner.read(state_dir)
    if owner is None or not owner.alive() or state.KEEPER_MODULE not in netns.cmdline(owner.pid):
        return
    netns.signal_and_wait([owner.pid], timeout=120)


def status(directory: Path, base_dir: Path = state.BASE_DIR) -> health.LabStatus | None:
    """The status of the lab of `directory`, or None when there is none."""
    prereq.require("lab status")
    state_dir = workspace.find(directory, base_dir)
    return health.check(state_dir) if state_dir is not None else None


def status_all(base_dir: Path = state.BASE_DIR) -> list[health.LabStatus]:
    """Every lab and test bed on this machine."""
    prereq.require("lab status")
    return [health.check(sd) for sd in state.state_dirs(base_dir)]
