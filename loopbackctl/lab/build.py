"""A lab: Linux hosts, FRR routers and simulated IOS routers on this machine, built and
torn down as one.

``Lab(spec).start()`` builds, ``close()`` tears down (also after a failed start, and
idempotent); ``Lab.attach(state_dir)`` rebuilds the object in another process (``lab
down``, ``lab status``). The test suite's beds are Labs of kind "bed" owned by the test
process; ``loopbackctl lab up`` builds one of kind "lab" owned by its keeper (see
`state` for names and owners, `addresses` for the address plan).

Build order: under the lock, reap dead labs, claim a prefix, pick slots and create the
bridges (so a parallel build sees the slots taken); then keys and files; namespaces,
veths and links; addresses inside the namespaces; `sshd -T` of one config per kind; and
every sshd (routers: FRR daemons first) started at once, waited for by PidFile, while
a kind that starts its devices itself (the IOS simulator) starts them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from loopbackctl.lab import fabric, frr, netns, prereq, sshd, state, teardown
from loopbackctl.lab.addresses import PER_SLOT, Slot, pick_slots, slots_needed
from loopbackctl.lab.errors import LabError
from loopbackctl.lab.kinds import DeviceKind, Mount, kind, registry
from loopbackctl.lab.node import Link, Node

if TYPE_CHECKING:
    from loopbackctl.lab.ios import IosOptions, Simulator

MAX_NODES = PER_SLOT * 16
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Seeder = Callable[[Node], Sequence[IPInterface]]


@dataclass(frozen=True)
class LabSpec:
    """What to build. `devices` are (kind, name) pairs, the name being the device's
    hostname; `seeded(node)` gives the lo addresses a device starts with (an IOS
    router's Loopback0); `ios_options` how named IOS routers differ from the lab's defaults;
    `kind` "lab" records `dir`, the directory the lab's files were written to; `topology`:
    the FRR routers form a ring (a line of two) or a line."""

    devices: tuple[tuple[str, str], ...] = (("linux", "h1"), ("linux", "h2"), ("linux", "h3"))
    lean: bool = True
    lo_up: bool = True
    login: sshd.Login = field(default_factory=sshd.Login)
    no_sshd: frozenset[str] = frozenset()
    kind: Literal["bed", "lab"] = "bed"
    dir: str | None = None
    seeded: Seeder | None = field(default=None, compare=False)
    topology: fabric.Shape = "ring"
    ios_options: Mapping[str, IosOptions] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls,
        hosts: Sequence[str] = (),
        routers: Sequence[str] = (),
        ios: Sequence[str] = (),
        **kw: Any,
    ) -> LabSpec:
        """Linux hosts, FRR routers and IOS routers with these names."""
        devices = [("linux", h) for h in hosts] + [("frr", r) for r in routers]
        devices += [("cisco_ios", r) for r in ios]
        return cls(devices=tuple(devices), **kw)

    @classmethod
    def numbered(cls, hosts: int = 3, routers: int = 0, ios: int = 0, **kw: Any) -> LabSpec:
        """Hosts h1..hN, FRR routers r1..rM and IOS routers ios1..iosK."""
        return cls.of(
            [f"h{i}" for i in range(1, hosts + 1)],
            [f"r{i}" for i in range(1, routers + 1)],
            [f"ios{i}" for i in range(1, ios + 1)],
            **kw,
        )

    def names(self, kind_name: str | None = None) -> tuple[str, ...]:
        """Device names, of one kind or all."""
        return tuple(n for k, n in self.devices if kind_name in (None, k))

    @property
    def kinds(self) -> list[DeviceKind]:
        """The kinds present, in build order."""
        present = {k for k, _ in self.devices}
        return [k for name, k in registry().items() if name in present]

    @property
    def fabric(self) -> int:
        """How many devices join the OSPF fabric."""
        return sum(1 for k, _ in self.devices if kind(k).fabric)

    def check(self) -> None:
        """ValueError for a spec that cannot be built."""
        names = self.names()
        if not 1 <= len(names) <= MAX_NODES:
            raise ValueError(f"a lab holds 1..{MAX_NODES} devices, not {len(names)}")
        for k, _ in self.devices:
            kind(k)
        bad = [n for n in names if not NAME_RE.fullmatch(n)]
        if bad:
            raise ValueError(f"not usable as a hostname: {bad[0]!r}")
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique")
        unknown = self.no_sshd - set(names)
        if unknown:
            raise ValueError(f"no_sshd names unknown hosts: {sorted(unknown)}")
        not_ios = set(self.ios_options) - set(self.names("cisco_ios"))
        if not_ios:
            raise ValueError(f"ios options for devices that are not IOS routers: {sorted(not_ios)}")
        self.login.check()


class Lab:
    """Hosts and routers in network namespaces, each with its own sshd (IOS routers: served
    by one simulator process).

    Use as a context manager or call `start` and `close`. Iterating yields every device
    (hosts, then routers); `lab["h1"]` finds one by name.
    """

    def __init__(
        self,
        spec: LabSpec | None = None,
        *,
        base_dir: Path = state.BASE_DIR,
        start_timeout: float = 20.0,
    ) -> None:
        spec = spec or LabSpec()
        spec.check()
        self._reset(spec, base_dir, start_timeout)

    def _reset(self, spec: LabSpec, base_dir: Path, start_timeout: float) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.state_dir = Path()
        self.slots: list[Slot] = []
        self.link_slot: Slot | None = None
        self.nodes: list[Node] = []
        self.links: list[Link] = []
        self.routes: list[tuple[str, str]] = []
        self.sudo_uid = -1
        self.extra: dict[str, Any] = {}
        self.children: list[subprocess.Popen[bytes]] = []  # started by kinds; reaped at close
        self.timings: dict[str, float] = {}
        self._by_name: dict[str, Node] = {}
        self._started = False
        self._closed = False

    # -- views -----------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return self.state_dir.name if self.state_dir.name else ""

    @property
    def files(self) -> sshd.Files:
        return sshd.Files(self.state_dir)

    def of_kind(self, kind_name: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind_name]

    @property
    def hosts(self) -> list[Node]:
        """The Linux hosts."""
        return self.of_kind("linux")

    @property
    def routers(self) -> list[Node]:
        """The FRR routers."""
        return self.of_kind("frr")

    @property
    def ios_routers(self) -> list[Node]:
        """The simulated IOS routers."""
        return self.of_kind("cisco_ios")

    @property
    def simulator(self) -> Simulator:
        """The IOS simulator serving the lab's IOS routers (LabError without one)."""
        from loopbackctl.lab.ios import Simulator

        return Simulator(self)

    @property
    def fabric(self) -> list[Node]:
        """The devices of the OSPF fabric, in build order."""
        return [n for n in self.nodes if kind(n.kind).fabric]

    @property
    def bridges(self) -> list[str]:
        return [f"{self.prefix}b{k}" for k in range(len(self.slots))]

    @property
    def bridge(self) -> str:
        return self.bridges[0]

    @property
    def subnet_index(self) -> int:
        """The first management slot (its /24 is 198.19.<subnet_index>.0)."""
        return self.slots[0].index if self.slots else -1

    @property
    def net4(self) -> ipaddress.IPv4Network:
        return self.slots[0].net4

    @property
    def net6(self) -> ipaddress.IPv6Network:
        return self.slots[0].net6

    @property
    def gw4(self) -> str:
        return str(self.slots[0].gw4)

    @property
    def gw6(self) -> str:
        return str(self.slots[0].gw6)

    @property
    def key_file(self) -> Path:
        """Client private key (ed25519) accepted for root on every device."""
        return self.files.client_key

    @property
    def known_hosts(self) -> Path:
        """An empty known_hosts file (tests fill it or check it stays empty)."""
        return self.files.known_hosts

    @property
    def host_key_pub(self) -> Path:
        return self.files.host_key.with_suffix(".pub")

    @property
    def sudo_home(self) -> Path:
        assert self.spec.login.sudo_user is not None
        return self.files.sudo_home(self.spec.login.sudo_user)

    def __getitem__(self, name: str) -> Node:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node: str | Node) -> Node:
        """The device, by name or itself; KeyError naming the lab when unknown."""
        name = node.name if isinstance(node, Node) else node
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no device {name!r} in lab {self.prefix}") from None

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Lab:
        if not self._started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> Lab:
        """Build the lab; on any failure (or KeyboardInterrupt) tear down what exists."""
        if self._started:
            raise LabError("lab already started")
        sudo = self.spec.login.sudo_user is not None
        prereq.require("a lab", kinds=[k.name for k in self.spec.kinds], sudo=sudo)
        problems = prereq.capacity(len(self.spec.devices), self.spec.fabric)
        if problems:
            raise LabError(problems[0])
        self._started = True
        t0 = time.monotonic()
        try:
            self._build()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            raise
        self.timings["up"] = time.monotonic() - t0
        return self

    def _build(self) -> None:
        phases: tuple[tuple[str, Callable[[], None]], ...] = (
            ("lock+bridges", self._claim),
            ("keys+files", self._make_files),
            ("namespaces", self._make_namespaces),
            ("sshd -T", self._check_configs),
            ("sshd", self._launch),
            ("settle", self._settle),
        )
        for name, phase in phases:
            t = time.monotonic()
            phase()
            self.timings[name] = time.monotonic() - t

    def _claim(self) -> None:
        with state.locked(self.base_dir):
            self.timings["reaped"] = float(len(teardown.reap_unlocked(self.base_dir)))
            self.state_dir = state.claim(self.base_dir, state.Owner.current())
            count = slots_needed(len(self.spec.devices), self.spec.fabric)
            taken = state.taken_slots(self.base_dir, self.state_dir)
            start = int(self.prefix[2:], 16) % 256
            picked = pick_slots(count, taken, netns.machine_networks(), start)
            if self.spec.fabric >= 2:
                self.link_slot = picked.pop()
            self.slots = picked
            self._make_nodes()
            self.save()
            netns.ip_batch(self._bridge_lines())

    def _bridge_lines(self) -> list[str]:
        lines = []
        for name, slot in zip(self.bridges, self.slots, strict=True):
            lines += [
                f"link add {name} address {slot.gw_mac} type bridge forward_delay 0 stp_state 0",
                f"link set {name} addrgenmode none",
                f"addr add {slot.gw4}/24 dev {name}",
                f"addr add {slot.gw6}/64 dev {name} nodad",
                f"link set {name} up",
            ]
        return lines

    def _make_nodes(self) -> None:
        order = list(registry())
        devices = sorted(self.spec.devices, key=lambda d: order.index(d[0]))
        counters = dict.fromkeys(order, 0)
        for number, (kind_name, name) in enumerate(devices, start=1):
            counters[kind_name] += 1
            self._add_node(kind(kind_name), counters[kind_name], number, name)
        self.links = fabric.make_links(self.fabric, self.link_slot, self.spec.topology)

    def _add_node(self, k: DeviceKind, index: int, number: int, name: str) -> None:
        slot = (number - 1) // PER_SLOT
        short = f"{k.letter}{index}"
        node = Node(
            kind=k.name,
            index=index,
            number=number,
            name=name,
            netns=f"{self.prefix}{short}",
            veth=f"{self.prefix}v{number}",
            bridge=self.bridges[slot],
            slot=self.slots[slot],
            host=(number - 1) % PER_SLOT + 1,
            dir=self.state_dir / short,
            key_file=self.files.client_key,
            known_hosts=self.files.known_hosts,
            username=k.username,
            password=self.spec.login.password,
        )
        self.nodes.append(node)
        self._by_name[name] = node

    def save(self) -> None:
        """Record everything made so far in state.json (before it is made)."""
        state.write_state(
            self.state_dir,
            {
                "prefix": self.prefix,
                "kind": self.spec.kind,
                "dir": self.spec.dir,
                "slots": [s.index for s in self.slots]
                + ([self.link_slot.index] if self.link_slot else []),
                "link_slot": self.link_slot.index if self.link_slot else None,
                "nodes": [n.to_json() for n in self.nodes],
                "links": [ln.to_json() for ln in self.links],
                "routes": [list(r) for r in self.routes],
                "lean": self.spec.lean,
                **self.extra,
            },
        )

    def _make_files(self) -> None:
        files = self.files
        sshd.make_keys(files, self.prefix)
        self.sudo_uid = sshd.make_login_files(files, self.prefix, self.spec.login)
        for node in self.nodes:
            node.dir.mkdir(mode=0o755)
            if kind(node.kind).start is None:  # its own sshd
                node.netplan_dir.mkdir(mode=0o755)
                node.lock_dir.mkdir()
                node.lock_dir.chmod(0o1777)  # as /run/lock
                node.host_dir.mkdir(mode=0o700)
                if self.spec.lean:
                    sshd.make_home(node)
                text = sshd.config_text(node, files, self.prefix, self.spec.login)
                node.config_file.write_text(text)
            kind(node.kind).prepare(self, node)

    def _make_namespaces(self) -> None:
        group = teardown.link_group(self.prefix)
        root: list[str] = [f"netns add {n.netns}" for n in self.nodes]
        for n in self.nodes:
            root += [
                f"link add {n.veth} type veth peer name eth0 address {n.mac} netns {n.netns}",
                f"link set {n.veth} addrgenmode none master {n.bridge} group {group} up",
                f"neigh replace {n.ip4} lladdr {n.mac} dev {n.bridge} nud permanent",
                f"neigh replace {n.ip6} lladdr {n.mac} dev {n.bridge} nud permanent",
            ]
        root += fabric.link_commands(self.links, {r.name: r.netns for r in self.fabric})
        t = time.monotonic()
        netns.ip_batch(root)
        self.timings["namespaces:root"] = time.monotonic() - t
        jobs = [([netns.IP, "-n", n.netns, "-batch", "-"], self._netns_text(n)) for n in self.nodes]
        errors = netns.run_many(jobs)
        if errors:
            raise LabError("configuring namespaces failed:\n" + "\n".join(errors[:20]))

    def _netns_text(self, node: Node) -> str:
        gw_mac = node.slot.gw_mac
        lines = [
            "link set eth0 up",
            f"addr add {node.ip4}/24 dev eth0",
            f"addr add {node.ip6}/64 dev eth0 nodad",
            f"neigh replace {node.gw4} lladdr {gw_mac} dev eth0 nud permanent",
            f"neigh replace {node.gw6} lladdr {gw_mac} dev eth0 nud permanent",
            *kind(node.kind).netns_lines(self, node),
        ]
        return "".join(line + "\n" for line in lines)

    def _check_configs(self) -> None:
        """`sshd -T` one config of each kind: all are made from one template."""
        seen: set[str] = set()
        for node in self.nodes:
            if node.kind not in seen and kind(node.kind).start is None:
                seen.add(node.kind)
                sshd.check_config(node)

    def _mounts(self, node: Node) -> list[Mount]:
        mounts = sshd.binds(self.files, self.spec.login)
        mounts += sshd.node_binds(node, lean=self.spec.lean)
        return mounts + kind(node.kind).mounts(node)

    def _launch(self, nodes: Sequence[Node] | None = None) -> None:
        todo = [n for n in (nodes or self.nodes) if n.name not in self.spec.no_sshd]
        own = [n for n in todo if kind(n.kind).start is None]
        for node in own:
            sshd.launch(node, self._mounts(node), kind(node.kind).pre_sshd)
        self.save()
        for k in self.spec.kinds:
            if k.start is not None:
                k.start(self, [n for n in todo if n.kind == k.name])
        sshd.wait_listening(own, self.start_timeout)

    def _settle(self) -> None:
        """Wait until every device is settled (routers: OSPF Full on each link)."""
        pending = [
            n
            for n in self.nodes
            if kind(n.kind).settled is not None and n.name not in self.spec.no_sshd
        ]
        deadline = time.monotonic() + max(self.start_timeout, 30.0)
        while pending:
            pending = [n for n in pending if not self._settled(n)]
            if pending and time.monotonic() > deadline:
                names = ", ".join(n.name for n in pending[:10])
                raise LabError(f"not settled within {max(self.start_timeout, 30.0):g}s: {names}")
            if pending:
                time.sleep(0.1)

    def _settled(self, node: Node) -> bool:
        settled = kind(node.kind).settled
        return settled is None or settled(self, node)

    def close(self) -> None:
        """Tear down: processes, root-side veths, bridges, namespaces, files."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        t0 = time.monotonic()
        procs = [n.proc for n in self.nodes if n.proc is not None] + self.children
        try:
            if self.prefix:
                teardown.destroy(self.state_dir, procs, self.timings)
        finally:
            for n in self.nodes:
                n.sshd_pid, n.proc = None, None
            self.children = []
            self.timings["down"] = time.monotonic() - t0

    @classmethod
    def attach(cls, state_dir: Path, *, base_dir: Path | None = None) -> Lab:
        """The lab recorded in `state_dir`, as built by another process."""
        data = state.read_state(state_dir)
        lab = cls.__new__(cls)
        nodes = data.get("nodes", [])
        devices = tuple((str(n["kind"]), str(n["name"])) for n in nodes)
        spec = LabSpec(devices, lean=bool(data.get("lean", True)),
                       kind=data.get("kind", "bed"), dir=data.get("dir"))  # fmt: skip
        lab._reset(spec, base_dir or state_dir.parent, 20.0)
        lab.state_dir = state_dir
        lab.slots = [Slot(s) for s in data.get("slots", []) if s != data.get("link_slot")]
        link_slot = data.get("link_slot")
        lab.link_slot = Slot(link_slot) if isinstance(link_slot, int) else None
        files = lab.files
        lab.nodes = [Node.from_json(n, files.client_key, files.known_hosts) for n in nodes]
        lab._by_name = {n.name: n for n in lab.nodes}
        lab.links = [Link.from_json(x) for x in data.get("links", [])]
        lab.routes = [(str(a), str(b)) for a, b in data.get("routes", [])]
        lab.extra = {k: data[k] for k in ("workspace", "ready", "ios") if k in data}
        lab._started = True
        return lab

    # -- per-device controls ---------------------------------------------------------

    def exec(
        self,
        node: str | Node,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float = 30,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the device's network namespace (``ip netns exec``); no shell.
        Returns the CompletedProcess; LabError with `check` when it fails."""
        n = self.node(node)
        if isinstance(argv, str):
            raise TypeError("argv must be a sequence of strings, not a string")
        res = netns.run([netns.IP, "netns", "exec", n.netns, *argv], input=input,
                        check=False, timeout=timeout)  # fmt: skip
        if check and res.returncode != 0:
            raise LabError(f"{n.name}: {' '.join(argv)} failed ({res.returncode}): {res.stderr}")
        return res

    def lo_addresses(self, node: str | Node) -> set[tuple[str, str]]:
        """Addresses on the device's lo as {(family, "addr/prefixlen")}; order-free."""
        data = netns.ip_json(["-n", self.node(node).netns, "addr", "show", "dev", "lo"])
        return {
            (str(a["family"]), f"{a['local']}/{a['prefixlen']}")
            for link in data
            for a in link.get("addr_info", [])
        }

    def lo_is_up(self, node: str | Node) -> bool:
        data = netns.ip_json(["-n", self.node(node).netns, "link", "show", "dev", "lo"])
        return bool(data) and "UP" in data[0].get("flags", [])

    def stop_sshd(self, node: str | Node, *, sessions: bool = True) -> None:
        """Kill the device's sshd by PID; with sessions=True also its open SSH sessions
        (every process in its namespace but the kind's own daemons)."""
        n = self.node(node)
        pids: list[int] = []
        if sessions:
            daemons = kind(n.kind).daemons(n)
            pids = [p for p in netns.pids_in_netns([n.netns]).get(n.netns, [])
                    if p not in daemons]  # fmt: skip
        procs = [n.proc] if n.proc is not None else []
        if n.sshd_pid is not None and n.proc is None:
            pids.append(n.sshd_pid)
        left = netns.signal_and_wait(pids, procs)
        n.sshd_pid, n.proc = None, None
        self.save()
        if left:
            raise LabError(f"{n.name}: processes would not die: {left}")

    def start_sshd(self, node: str | Node) -> None:
        """(Re)start the device's sshd and wait until it listens (not for a kind whose
        sshd starts with its daemons, such as a router)."""
        n = self.node(node)
        if kind(n.kind).start is not None:
            raise LabError(f"{n.name}: it has no sshd (the lab's {n.kind} devices are simulated)")
        if kind(n.kind).pre_sshd:
            raise LabError(f"{n.name}: its sshd starts with its daemons; rebuild the lab")
        if n.proc is not None and n.proc.poll() is None:
            return
        sshd.launch(n, self._mounts(n))
        self.save()
        sshd.wait_listening([n], self.start_timeout)

    def set_link(self, node: str | Node, up: bool) -> None:
        """Set the root-side veth of the device down (unreachable) or up again."""
        netns.run([netns.IP, "link", "set", "dev", self.node(node).veth, "up" if up else "down"])

    def take_down(self, node: str | Node) -> None:
        self.set_link(node, False)

    def add_route_to_loopbacks(self, node: str | Node, prefixes: Sequence[str]) -> None:
        """Route loopback prefixes, in the ROOT namespace, via the device's eth0 address.

        Prefixes must lie in 198.18.0.0/15 or 2001:db8::/32 and outside the management
        part (198.19.0.0/16, 2001:db8:ff00::/40). Routes are removed at teardown. Another
        lab routing the same prefix makes this fail: pick prefixes per test.
        """
        from loopbackctl.lab.addresses import in_lab_space, in_management

        n = self.node(node)
        todo: list[tuple[str, str]] = []
        for text in prefixes:
            net = ipaddress.ip_network(text, strict=True)
            if not in_lab_space(net) or in_management(net):
                raise ValueError(
                    f"{net}: loopback routes must be in 198.18.0.0/15 or 2001:db8::/32, "
                    "outside 198.19.0.0/16 and 2001:db8:ff00::/40"
                )
            todo.append((str(net), n.ip4 if net.version == 4 else n.ip6))
        for dst, via in todo:
            self.routes.append((dst, via))
            self.save()
            netns.run([netns.IP, "route", "add", dst, "via", via])

    def known_hosts_lines(self) -> list[str]:
        """known_hosts lines for every device address (all share the lab's host key)."""
        from loopbackctl.lab.inventory import known_hosts_lines

        return known_hosts_lines(self.nodes, self.host_key_pub)

    # -- routers ---------------------------------------------------------------------

    def vtysh(self, router: str | Node, *commands: str) -> subprocess.CompletedProcess[str]:
        """`vtysh -c ...` on the router, in its namespaces; the CompletedProcess."""
        return frr.vtysh(self.node(router), commands)

    def frr_conf(self, router: str | Node) -> str:
        """The router's saved configuration (its private /etc/frr/frr.conf)."""
        return (self.node(router).dir / "etc" / "frr.conf").read_text()

    def ospf_neighbors(self, router: str | Node) -> dict[str, str]:
        """The router's OSPF neighbors: router-id → state ("Full/-" when adjacent)."""
        return frr.ospf_neighbors(self.node(router))

    def ospf6_neighbors(self, router: str | Node) -> dict[str, str]:
        """The router's OSPFv3 neighbors: router-id → state ("Full" when adjacent)."""
        return frr.ospf6_neighbors(self.node(router))

    def link_between(self, a: str, b: str) -> Link:
        for ln in self.links:
            if {ln.a, ln.b} == {a, b}:
                return ln
        raise KeyError(f"no link between {a} and {b} in lab {self.prefix}")

    def cut_link(self, a: str, b: str) -> None:
        """Cut the link between routers a and b (both ends lose carrier)."""
        ln = self.link_between(a, b)
        frr.set_link(self.node(ln.a).netns, ln.if_a, False)

    def restore_link(self, a: str, b: str) -> None:
        ln = self.link_between(a, b)
        frr.set_link(self.node(ln.a).netns, ln.if_a, True)
