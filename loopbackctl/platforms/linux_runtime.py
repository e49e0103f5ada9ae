"""Linux at runtime: `lo` read with `ip -j`, changed with `ip`, persisted with netplan.

Quirks (iproute2, kernel 6.x):
- `lo` up shows `UP` in flags; its operstate reads UNKNOWN, never UP.
- Address order in `ip -j` is not stable: addresses are compared as sets.
- Taking lo down deletes its global IPv6 addresses, so `up` is always sent first.
- `ip address add` of an existing address fails ("Address already assigned" on new
  kernels, "File exists" on old ones): `ip address replace` makes a re-push harmless.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from loopbackctl.driver import ConnectOptions, SavedFile, Session
from loopbackctl.errors import DeviceError
from loopbackctl.model import Host, IPInterface, Loopback
from loopbackctl.plan import Change, Policy
from loopbackctl.transport import ping as pinger
from loopbackctl.transport.shell import Result

LO = "lo"
READ_ADDR = "ip -j addr show dev lo"
READ_LINK = "ip -j link show dev lo"
NETPLAN_DIR = "/etc/netplan"
NETPLAN_FILE = "60-loopbackctl-lo.yaml"
PROTECTED: frozenset[IPInterface] = frozenset(
    {ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("::1/128")}
)


class Shell(Session, Protocol):
    """What this driver needs beyond a Session (transport.shell.ShellSession has it)."""

    uid: int | None

    def exec_many(self, commands: Sequence[str], timeout: float | None = None) -> list[Result]: ...

    def refusal(self, res: Result) -> str: ...

    def become_root(self) -> None: ...

    def configure_as_root(self, commands: Sequence[str]) -> str: ...

    def write_file(self, path: str, content: bytes, mode: str = "600") -> list[str]: ...

    def read_file(self, path: str) -> bytes | None: ...


def _shell(session: Session) -> Shell:
    return cast(Shell, session)


def _where(session: Session) -> str:
    creds = getattr(session, "creds", None)
    return str(getattr(creds, "where", "host"))


def _json(session: Session, res: Result) -> list[dict[str, Any]]:
    if not res.ok:
        raise DeviceError(_shell(session).refusal(res))
    try:
        data = json.loads(res.output)
    except ValueError:
        raise DeviceError(
            f"{_where(session)}: `{res.command}` did not answer JSON"
            f" ({res.output.strip()[:80]!r}); is iproute2 new enough for -j?"
        ) from None
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise DeviceError(f"{_where(session)}: `{res.command}` answered an unexpected shape")
    if data[0].get("ifname") != LO:
        raise DeviceError(f"{_where(session)}: `{res.command}` did not describe lo")
    return cast(list[dict[str, Any]], data)


# iproute2 prints `address` in an addr_info entry only for `ip address add A peer P`: a
# point-to-point address, which is not A/prefixlen and which loopbackctl does not manage.
PEER_KEY = "address"
FAMILIES = {"inet": 4, "inet6": 6}


def parse_lo(addr_json: list[dict[str, Any]], link_json: list[dict[str, Any]]) -> Loopback:
    """`lo` from `ip -j addr show dev lo` and `ip -j link show dev lo`; ValueError when
    either does not look like iproute2's answer for lo. Keys it does not read are ignored;
    an address entry it cannot read exactly (another family, a peer, a prefix length that
    is not a number) is refused, never skipped or rounded."""
    link = link_json[0]
    flags = link.get("flags")
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ValueError("link answer has no list of flags")
    if link.get("link_type") != "loopback":
        raise ValueError("link answer is not a loopback")
    infos = addr_json[0].get("addr_info")
    if not isinstance(infos, list):
        raise ValueError("address answer has no addr_info list")
    addrs: list[IPInterface] = []
    for info in infos:
        if not isinstance(info, dict) or info.get("family") not in FAMILIES:
            raise ValueError(f"unexpected address entry {info!r:.80}")
        local, prefix = info.get("local"), info.get("prefixlen")
        if not isinstance(local, str) or type(prefix) is not int:
            raise ValueError(f"address entry without local and prefixlen {info!r:.80}")
        if PEER_KEY in info:
            raise ValueError(f"{local} has a peer address; loopbackctl does not manage those")
        addr = ipaddress.ip_interface(f"{local}/{prefix}")
        if addr.version != FAMILIES[info["family"]]:
            raise ValueError(f"{local} is not an {info['family']} address")
        addrs.append(addr)
    return Loopback(name=LO, addresses=tuple(addrs), shutdown="UP" not in flags)


class LinuxDriver:
    """Driver (and Persisting, Pinging) for platform `linux` over transport.shell."""

    policy = Policy(owns_interface=False, primary=False, protected=PROTECTED)

    def connect(self, host: Host, options: ConnectOptions) -> Session:
        from loopbackctl.transport.shell import open_shell

        return open_shell(host, options)

    def read(self, session: Session, host: Host) -> tuple[Loopback, ...]:
        addr, link = _shell(session).exec_many([READ_ADDR, READ_LINK])
        try:
            return (parse_lo(_json(session, addr), _json(session, link)),)
        except (ValueError, KeyError, TypeError) as exc:
            raise DeviceError(f"{_where(session)}: could not parse lo's state: {exc}") from None

    def commands(self, host: Host, changes: Sequence[Change]) -> list[str]:
        first: list[str] = []
        rest: list[str] = []
        last: list[str] = []
        for c in changes:
            if c.interface != LO or c.kind in ("create", "delete", "set_primary"):
                raise DeviceError(f"{host.name}: Linux cannot {c} (only lo's addresses and state)")
            if c.kind == "enable":
                first.append("ip link set dev lo up")
            elif c.kind == "disable":
                last.append("ip link set dev lo down")
            elif c.kind == "add_address":
                rest.append(f"ip address replace {c.address} dev lo")
            elif c.kind == "remove_address":
                rest.append(f"ip address del {c.address} dev lo")
            # descriptions do not exist on Linux lo (refused by validation)
        return first + rest + last

    def push(self, session: Session, host: Host, commands: Sequence[str]) -> None:
        if commands:
            _shell(session).configure_as_root(commands)

    def save(self, session: Session, host: Host) -> None:
        return None  # runtime state is saved by netplan (Persisting), when asked for

    # -- Persisting: netplan ------------------------------------------------------------

    @staticmethod
    def netplan_path(host: Host) -> str:
        directory = str(host.data.get("netplan_dir") or NETPLAN_DIR).rstrip("/") or "/"
        return f"{directory}/{NETPLAN_FILE}"

    def read_saved(
        self, session: Session, host: Host, artifacts: Mapping[str, str]
    ) -> tuple[SavedFile, SavedFile] | None:
        if host.data.get("persist") != "netplan":
            return None
        sh = _shell(session)
        sh.become_root()  # netplan files are root-only (mode 600)
        path = self.netplan_path(host)
        raw = sh.read_file(path)
        have = None if raw is None else raw.decode("utf-8", "replace")
        return SavedFile(path, have), SavedFile(path, artifacts["netplan"])

    def write_saved(self, session: Session, host: Host, want: SavedFile) -> list[str]:
        sh = _shell(session)
        sh.become_root()
        if want.content is None:
            return self._remove(sh, want.path)
        return sh.write_file(want.path, want.content.encode())

    def restore_saved(self, session: Session, host: Host, old: SavedFile) -> list[str]:
        sh = _shell(session)
        sh.become_root()
        if old.content is None:
            return self._remove(sh, old.path)
        return sh.write_file(old.path, old.content.encode())

    @staticmethod
    def _remove(sh: Shell, path: str) -> list[str]:
        cmd = f"rm -f '{path}'"
        sh.configure([cmd])
        return [cmd]

    # -- Pinging ------------------------------------------------------------------------

    def interface_addresses(self, session: Session, host: Host) -> set[str]:
        res = _shell(session).exec_many(["ip -j addr show"])[0]
        if not res.ok:
            raise DeviceError(_shell(session).refusal(res))
        try:
            links = json.loads(res.output)
            return {
                str(ipaddress.ip_address(a["local"]))
                for link in links
                for a in link.get("addr_info", [])
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DeviceError(f"{_where(session)}: `ip -j addr show` was not parsable") from None

    def ping_own(
        self, session: Session, host: Host, addresses: Sequence[IPInterface]
    ) -> list[str | None]:
        out: list[str | None] = [None] * len(addresses)
        todo: list[tuple[int, str]] = []
        for i, a in enumerate(addresses):
            if not pinger.allowed(a.ip):
                out[i] = "not pinged: outside the ping allow-list"
            else:
                todo.append((i, f"ping -n -q -c 1 -W 1 {a.ip}"))
        results = _shell(session).exec_many([cmd for _, cmd in todo]) if todo else []
        for (i, _), res in zip(todo, results, strict=True):
            if not res.ok:
                said = " ".join(res.output.split())[-120:]
                out[i] = f"no answer (exit {res.status}): {said}"
        return out
