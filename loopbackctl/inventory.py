"""Inventory: Nornir SimpleInventory files → validated `Inventory`, or every error at once.

Resolution follows Nornir: a host field is the host's own value, else the first value
found in its groups (in order, each group before its parents, depth first), else the
defaults. `data` resolves per top-level key the same way; a connection option's fields
likewise, with `extras` taken whole from the first place that sets it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal

from loopbackctl import yamlsrc
from loopbackctl.errors import Diagnostic, InventoryError, Mark
from loopbackctl.model import Host, Inventory, IPInterface, Loopback
from loopbackctl.platforms import RULES, Rules
from loopbackctl.yamlsrc import Document, Path

ENV_INVENTORY = "LOOPBACKCTL_INVENTORY"

_NUMBER = (int, float)
# Fields Nornir knows, with their types; `groups` is not allowed in defaults.
FIELDS: dict[str, type | tuple[type, ...]] = {
    "hostname": str,
    "port": int,
    "username": str,
    "password": str,
    "platform": str,
    "groups": list,
    "data": dict,
    "connection_options": dict,
}
CONNECTION_FIELDS: dict[str, type | tuple[type, ...]] = {
    "hostname": str,
    "port": int,
    "username": str,
    "password": str,
    "platform": str,
    "extras": dict,
}
# loopbackctl's own settings under `data`; other keys there belong to other tools.
DATA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "loopbacks": list,
    "router_id": str,
    "purge": bool,
    "persist": str,
    "netplan_dir": str,
    "connect_timeout": _NUMBER,
    "command_timeout": _NUMBER,
    "allow_subnet_loopbacks": bool,
    "local": bool,
}
LOOPBACK_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "addresses": list,
    "description": str,
    "shutdown": bool,
    "state": str,
    "absent_addresses": list,
    "anycast": bool,
}
PERSIST_MODES = ("netplan",)
SECRET_EXTRAS = ("secret", "passphrase", "key_passphrase")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a mapping",
    }
    if isinstance(t, tuple):
        return "a number"
    return names.get(t, t.__name__)


def _is(value: Any, t: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and t is not bool:
        return False
    return isinstance(value, t)


def _number(value: Any) -> float | None:
    """`value` when it is an int or float (bools excluded), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _got(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return (
        f"{type(value).__name__} {value!r}"
        if not isinstance(value, dict | list)
        else ("a mapping" if isinstance(value, dict) else "a list")
    )


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class Entity:
    """A host, group or the defaults as written, with where it was written."""

    kind: str  # "host" | "group" | "defaults"
    name: str
    doc: Document
    path: Path
    fields: dict[str, Any]

    def mark(self, *sub: str | int, key: bool = False) -> Mark:
        return self.doc.mark((*self.path, *sub), key=key)


@dataclass
class _Found:
    value: Any
    owner: Entity
    path: tuple[str | int, ...]

    def mark(self, *sub: str | int, key: bool = False) -> Mark:
        return self.owner.mark(*self.path, *sub, key=key)


@dataclass
class _Checker:
    diags: list[Diagnostic] = field(default_factory=list)

    def error(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.diags.append(Diagnostic(mark, msg, "error", host, key))

    def warn(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.diags.append(Diagnostic(mark, msg, "warning", host, key))


def _keyname(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------------------------------------------------------------- reading files


def default_path() -> str:
    return os.environ.get(ENV_INVENTORY) or "inventory"


def _read(path: FsPath, chk: _Checker) -> Document | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        chk.error(Mark(str(path), 1, 1), f"cannot read the file: {exc.strerror}")
        return None
    return yamlsrc.load(str(path), raw, chk.diags)


def _entities(doc: Document, base: Path, kind: str, chk: _Checker) -> dict[str, Entity]:
    section: Any = doc.data
    for part in base:
        section = section.get(part) if isinstance(section, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        where = f"'{base[0]}'" if base else "the file's top level"
        chk.error(doc.mark(base), f"{where} must be a mapping of names to {kind} fields")
        return {}
    out: dict[str, Entity] = {}
    for name, fields in section.items():
        if not isinstance(name, str):
            chk.error(doc.mark((*base, name), key=True), f"{kind} name {name!r} must be text")
            continue
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            chk.error(
                doc.mark((*base, name)),
                f"{kind} {name!r} must be a mapping of fields, not {_got(fields)}",
            )
            continue
        out[name] = Entity(kind, name, doc, (*base, name), fields)
    return out


def _load_sources(
    location: str, chk: _Checker
) -> tuple[dict[str, Entity], dict[str, Entity], Entity | None, tuple[str, ...]]:
    path = FsPath(location)
    if path.is_dir():
        hosts_file = path / "hosts.yaml"
        if not hosts_file.exists():
            hosts_file = path / "hosts.yml"
        if not hosts_file.exists():
            chk.error(
                Mark(str(path), 1, 1),
                "inventory directory has no hosts.yaml; create it (Nornir SimpleInventory"
                " layout: hosts.yaml, optional groups.yaml and defaults.yaml)",
            )
            return {}, {}, None, ()
        files: dict[str, FsPath] = {"hosts": hosts_file}
        for key in ("groups", "defaults"):
            for ext in ("yaml", "yml"):
                if (path / f"{key}.{ext}").exists():
                    files[key] = path / f"{key}.{ext}"
                    break
        docs = {key: _read(p, chk) for key, p in files.items()}
        for doc in docs.values():
            if doc is not None and not isinstance(doc.data, dict):
                chk.error(doc.mark(()), "the file's top level must be a mapping of names")
        hdoc = docs.get("hosts")
        hosts = _entities(hdoc, (), "host", chk) if hdoc else {}
        gdoc = docs.get("groups")
        groups = _entities(gdoc, (), "group", chk) if gdoc else {}
        ddoc = docs.get("defaults")
        defaults = None
        if ddoc is not None and isinstance(ddoc.data, dict):
            defaults = Entity("defaults", "defaults", ddoc, (), ddoc.data)
        return hosts, groups, defaults, tuple(str(p) for p in files.values())
    if not path.exists():
        chk.error(
            Mark(str(path), 1, 1),
            f"no such inventory file or directory; pass -i PATH or set ${ENV_INVENTORY}",
        )
        return {}, {}, None, ()
    doc = _read(path, chk)
    if doc is None:
        return {}, {}, None, (str(path),)
    if not isinstance(doc.data, dict):
        chk.error(
            doc.mark(()),
            "the file's top level must be a mapping with 'hosts:' (and optionally"
            " 'groups:', 'defaults:')",
        )
        return {}, {}, None, (str(path),)
    for key in doc.data:
        if key not in ("hosts", "groups", "defaults"):
            chk.error(
                doc.mark((key,), key=True),
                f"unknown top-level key {key!r}; expected hosts, groups or defaults"
                + did_you_mean(str(key), ["hosts", "groups", "defaults"]),
            )
    if "hosts" not in doc.data:
        chk.error(doc.mark(()), "the file has no 'hosts:' mapping; add one")
    hosts = _entities(doc, ("hosts",), "host", chk)
    groups = _entities(doc, ("groups",), "group", chk)
    defaults = None
    dsec = doc.data.get("defaults")
    if isinstance(dsec, dict):
        defaults = Entity("defaults", "defaults", doc, ("defaults",), dsec)
    elif dsec is not None:
        chk.error(doc.mark(("defaults",)), "'defaults' must be a mapping of fields")
    return hosts, groups, defaults, (str(path),)


# ---------------------------------------------------------------- per-entity checks


def _check_fields(
    ent: Entity,
    mapping: Mapping[Any, Any],
    schema: Mapping[str, type | tuple[type, ...]],
    sub: tuple[str | int, ...],
    chk: _Checker,
    *,
    open_keys: bool = False,
) -> None:
    who = ent.name if ent.kind == "host" else None
    for key, value in mapping.items():
        path = (*sub, key)
        if key not in schema:
            hint = did_you_mean(str(key), list(schema))
            if open_keys and not hint:
                continue
            chk.error(
                ent.mark(*path, key=True),
                f"unknown key {key!r} in {ent.kind} {ent.name!r}{hint or ''}"
                + ("" if hint else f"; valid keys: {', '.join(schema)}"),
                who,
                _keyname(path),
            )
            continue
        if value is None and key != "groups":
            continue
        if not _is(value, schema[key]):
            chk.error(
                ent.mark(*path),
                f"{key!r} must be {_type_name(schema[key])}, not {_got(value)}",
                who,
                _keyname(path),
            )


def _check_strings(ent: Entity, value: Any, path: tuple[str | int, ...], chk: _Checker) -> None:
    """No string anywhere may carry a control character or line break."""
    if isinstance(value, str):
        m = _CONTROL.search(value)
        if m:
            chk.error(
                ent.mark(*path),
                f"value contains control character {m.group()!r} (a line break or"
                " control character could inject a command on a device); remove it",
                ent.name if ent.kind == "host" else None,
                _keyname(path),
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(ent, k, (*path, k), chk)
            _check_strings(ent, v, (*path, k), chk)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(ent, v, (*path, i), chk)


def _check_entity(ent: Entity, chk: _Checker) -> None:
    who = ent.name if ent.kind == "host" else None
    schema = dict(FIELDS)
    if ent.kind == "defaults":
        del schema["groups"]
    _check_fields(ent, ent.fields, schema, (), chk)
    _check_strings(ent, ent.fields, (), chk)
    port = ent.fields.get("port")
    if isinstance(port, int) and not isinstance(port, bool) and not 1 <= port <= 65535:
        chk.error(ent.mark("port"), f"port {port} is out of range; use 1 to 65535", who, "port")
    platform = ent.fields.get("platform")
    if isinstance(platform, str) and platform not in RULES:
        chk.error(
            ent.mark("platform"),
            f"unknown platform {platform!r}{did_you_mean(platform, list(RULES))}"
            f" (valid: {', '.join(sorted(RULES))})",
            who,
            "platform",
        )
    hostname = ent.fields.get("hostname")
    if isinstance(hostname, str) and (not hostname or any(c.isspace() for c in hostname)):
        chk.error(
            ent.mark("hostname"),
            f"hostname {hostname!r} is not a valid host name or address",
            who,
            "hostname",
        )
    groups = ent.fields.get("groups")
    if isinstance(groups, list):
        for i, g in enumerate(groups):
            if not isinstance(g, str):
                chk.error(
                    ent.mark("groups", i),
                    f"group name must be text, not {_got(g)}",
                    who,
                    "groups",
                )
    if isinstance(ent.fields.get("password"), str):
        chk.warn(
            ent.mark("password"),
            "plaintext password in the inventory; remove it and set LOOPBACKCTL_PASSWORD"
            " or use an SSH key",
            who,
            "password",
        )
    conn = ent.fields.get("connection_options")
    if isinstance(conn, dict):
        for cname, copts in conn.items():
            if copts is None:
                continue
            if not isinstance(copts, dict):
                chk.error(
                    ent.mark("connection_options", cname),
                    f"connection options for {cname!r} must be a mapping",
                    who,
                    _keyname(("connection_options", cname)),
                )
                continue
            _check_fields(ent, copts, CONNECTION_FIELDS, ("connection_options", cname), chk)
            extras = copts.get("extras")
            if isinstance(extras, dict):
                for secret in SECRET_EXTRAS:
                    if isinstance(extras.get(secret), str):
                        path = ("connection_options", cname, "extras", secret)
                        chk.warn(
                            ent.mark(*path),
                            f"plaintext {secret} in the inventory; remove it and set"
                            " LOOPBACKCTL_SECRET",
                            who,
                            _keyname(path),
                        )
            cport = copts.get("port")
            if isinstance(cport, int) and not isinstance(cport, bool) and not 1 <= cport <= 65535:
                chk.error(
                    ent.mark("connection_options", cname, "port"),
                    f"port {cport} is out of range; use 1 to 65535",
                    who,
                    _keyname(("connection_options", cname, "port")),
                )
    data = ent.fields.get("data")
    if isinstance(data, dict):
        _check_fields(ent, data, DATA_FIELDS, ("data",), chk, open_keys=True)
        _check_data_values(ent, data, chk)


def _check_data_values(ent: Entity, data: dict[str, Any], chk: _Checker) -> None:
    who = ent.name if ent.kind == "host" else None
    persist = data.get("persist")
    if isinstance(persist, str) and persist not in PERSIST_MODES:
        chk.error(
            ent.mark("data", "persist"),
            f"unknown persist mode {persist!r}; valid: {', '.join(PERSIST_MODES)}",
            who,
            "data.persist",
        )
    ndir = data.get("netplan_dir")
    if isinstance(ndir, str) and not _SAFE_PATH.fullmatch(ndir):
        chk.error(
            ent.mark("data", "netplan_dir"),
            f"netplan_dir {ndir!r} must be an absolute path of letters, digits and ._/+-",
            who,
            "data.netplan_dir",
        )
    for key in ("connect_timeout", "command_timeout"):
        v = _number(data.get(key))
        if v is not None and not 0 < v <= 3600:
            chk.error(
                ent.mark("data", key),
                f"{key} {v} must be more than 0 and at most 3600 seconds",
                who,
                f"data.{key}",
            )
    rid = data.get("router_id")
    if isinstance(rid, str):
        try:
            ipaddress.IPv4Address(rid)
        except ValueError:
            chk.error(
                ent.mark("data", "router_id"),
                f"router_id {rid!r} is not an IPv4 address (a router-id is written as one)",
                who,
                "data.router_id",
            )
    loopbacks = data.get("loopbacks")
    if isinstance(loopbacks, list):
        for i, lb in enumerate(loopbacks):
            path = ("data", "loopbacks", i)
            if not isinstance(lb, dict):
                chk.error(
                    ent.mark(*path),
                    f"a loopback must be a mapping with name and addresses, not {_got(lb)}",
                    who,
                    _keyname(path),
                )
                continue
            _check_fields(ent, lb, LOOPBACK_FIELDS, path, chk)
            if "name" not in lb:
                chk.error(ent.mark(*path), "loopback has no 'name'; add one", who, _keyname(path))
            state = lb.get("state")
            if isinstance(state, str) and state not in ("present", "absent"):
                chk.error(
                    ent.mark(*path, "state"),
                    f"state {state!r} must be present or absent",
                    who,
                    _keyname((*path, "state")),
                )


# ---------------------------------------------------------------- groups and resolution


def _lineage(ent: Entity, groups: Mapping[str, Entity], chk: _Checker) -> list[Entity]:
    """Host or group, then its groups depth first in order (Nornir's lookup order)."""
    out: list[Entity] = [ent]
    seen: set[str] = set()

    def visit(e: Entity, stack: tuple[str, ...]) -> None:
        gs = e.fields.get("groups")
        if not isinstance(gs, list):
            return
        for gname in gs:
            if not isinstance(gname, str):
                continue
            if gname in stack:
                continue  # reported once by _check_cycles
            g = groups.get(gname)
            if g is None:
                continue  # reported by _check_group_refs
            if gname not in seen:
                seen.add(gname)
                out.append(g)
            visit(g, (*stack, gname))

    visit(ent, (ent.name,) if ent.kind == "group" else ())
    return out


def _check_group_refs(ents: list[Entity], groups: Mapping[str, Entity], chk: _Checker) -> None:
    for ent in ents:
        gs = ent.fields.get("groups")
        if not isinstance(gs, list):
            continue
        for i, gname in enumerate(gs):
            if isinstance(gname, str) and gname not in groups:
                what = "parent group" if ent.kind == "group" else "group"
                hint = did_you_mean(gname, list(groups))
                chk.error(
                    ent.mark("groups", i),
                    f"unknown {what} {gname!r}{hint or '; define it in groups.yaml'}",
                    ent.name if ent.kind == "host" else None,
                    "groups",
                )


def _check_cycles(groups: Mapping[str, Entity], chk: _Checker) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        g = groups[name]
        gs = g.fields.get("groups")
        for i, parent in enumerate(gs if isinstance(gs, list) else []):
            if not isinstance(parent, str) or parent not in groups:
                continue
            if state.get(parent) == 1:
                cycle = (
                    [*trail[trail.index(parent) :], parent]
                    if parent in trail
                    else [
                        name,
                        parent,
                    ]
                )
                chk.error(
                    g.mark("groups", i),
                    f"group cycle: {' -> '.join(cycle)}; a group cannot be its own parent",
                    None,
                    "groups",
                )
            elif parent not in state:
                visit(parent, [*trail, parent])
        state[name] = 2

    for name in groups:
        if name not in state:
            visit(name, [name])


def _resolve(lineage: list[Entity], defaults: Entity | None, key: str) -> _Found | None:
    for ent in [*lineage, *([defaults] if defaults else [])]:
        v = ent.fields.get(key)
        if v is not None:
            return _Found(v, ent, (key,))
    return None


def _resolve_data(lineage: list[Entity], defaults: Entity | None) -> dict[str, _Found]:
    out: dict[str, _Found] = {}
    for ent in [*lineage, *([defaults] if defaults else [])]:
        data = ent.fields.get("data")
        if not isinstance(data, dict):
            continue
        for k, v in data.items():
            if k not in out:
                out[k] = _Found(v, ent, ("data", k))
    return out


def _resolve_connection_options(
    lineage: list[Entity], defaults: Entity | None
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for ent in [*lineage, *([defaults] if defaults else [])]:
        conn = ent.fields.get("connection_options")
        if not isinstance(conn, dict):
            continue
        for cname, copts in conn.items():
            if not isinstance(copts, dict):
                continue
            slot = out.setdefault(cname, {})
            for f in CONNECTION_FIELDS:
                if slot.get(f) is None and copts.get(f) is not None:
                    slot[f] = copts[f]
    return out


# ---------------------------------------------------------------- loopback checks


def _parse_address(
    text: Any, found: _Found, sub: tuple[str | int, ...], host: str, chk: _Checker
) -> IPInterface | None:
    key = _keyname((*found.path, *sub))
    mark = found.mark(*sub)
    if not isinstance(text, str):
        chk.error(mark, f"address must be text like 10.0.0.1/32, not {_got(text)}", host, key)
        return None
    if "/" not in text:
        chk.error(
            mark,
            f"address {text!r} has no prefix length; write it as {text}/"
            + ("128" if ":" in text else "32"),
            host,
            key,
        )
        return None
    try:
        addr = ipaddress.ip_interface(text)
    except ValueError:
        chk.error(
            mark,
            f"{text!r} is not a valid IPv4 or IPv6 address with prefix length",
            host,
            key,
        )
        return None
    if addr.ip.is_multicast or addr.ip.is_unspecified:
        chk.error(mark, f"{text} is not a unicast address; a loopback needs one", host, key)
        return None
    if (
        addr.version == 4
        and addr.network.prefixlen < 32
        and addr.ip
        in (
            addr.network.network_address,
            addr.network.broadcast_address,
        )
        and addr.network.prefixlen < 31
    ):
        chk.error(
            mark,
            f"{text} is the network or broadcast address of its subnet; use a host address",
            host,
            key,
        )
        return None
    return addr


def _build_loopbacks(
    host: str,
    rules: Rules,
    found: _Found,
    allow_subnets: bool,
    chk: _Checker,
) -> tuple[Loopback, ...]:
    out: list[Loopback] = []
    names: dict[str, int] = {}
    for i, lb in enumerate(found.value):
        if not isinstance(lb, dict) or not isinstance(lb.get("name"), str):
            continue
        name: str = lb["name"]
        key = _keyname((*found.path, i, "name"))
        if not rules.interface_pattern.fullmatch(name):
            hint = ""
            m = re.fullmatch(r"(?i)(?:lo|loopback)\s*(\d+)", name)
            if rules.name == "cisco_ios" and m:
                hint = f"; write Loopback{int(m.group(1))}"
            elif rules.name == "linux" and name.lower().startswith("lo"):
                hint = "; write lo"
            chk.error(
                found.mark(i, "name"),
                f"interface name {name!r} is not valid on {rules.name}"
                f" ({rules.interface_hint}){hint}",
                host,
                key,
            )
        elif rules.max_interface_number is not None:
            number = int(re.sub(r"\D", "", name))
            if number > rules.max_interface_number:
                chk.error(
                    found.mark(i, "name"),
                    f"{name} is out of range ({rules.interface_hint})",
                    host,
                    key,
                )
        if name in names:
            chk.error(
                found.mark(i, "name"),
                f"loopback {name} is listed twice (also item {names[name]}); merge the two entries",
                host,
                key,
            )
        names.setdefault(name, i)
        desc = lb.get("description")
        if isinstance(desc, str):
            dkey = _keyname((*found.path, i, "description"))
            if rules.max_description is not None and len(desc) > rules.max_description:
                chk.error(
                    found.mark(i, "description"),
                    f"description is {len(desc)} characters; {rules.name} accepts at most"
                    f" {rules.max_description}",
                    host,
                    dkey,
                )
            bad = sorted({c for c in desc if c in rules.forbidden_description_chars})
            if bad:
                chk.error(
                    found.mark(i, "description"),
                    f"description contains {''.join(bad)!r}, which {rules.name} reads as a"
                    " command (help request); remove it",
                    host,
                    dkey,
                )
            if desc != desc.strip():
                chk.error(
                    found.mark(i, "description"),
                    "description has leading or trailing spaces, which the device drops"
                    " (verify would then always differ); remove them",
                    host,
                    dkey,
                )
        if desc is not None and not rules.router:
            chk.error(
                found.mark(i, "description"),
                "Linux lo has no description; write it as a YAML comment instead",
                host,
                _keyname((*found.path, i, "description")),
            )
        if lb.get("shutdown") is True and not rules.router:
            chk.error(
                found.mark(i, "shutdown"),
                "shutdown is not supported on Linux lo (every local service depends on it)",
                host,
                _keyname((*found.path, i, "shutdown")),
            )
        addrs = _addresses(host, rules, found, i, "addresses", allow_subnets, chk)
        absent = _addresses(host, rules, found, i, "absent_addresses", True, chk)
        for a in set(addrs) & set(absent):
            chk.error(
                found.mark(i, "absent_addresses"),
                f"{a} is listed both in addresses and absent_addresses; keep one",
                host,
                _keyname((*found.path, i, "absent_addresses")),
            )
        state: Literal["present", "absent"] = "absent" if lb.get("state") == "absent" else "present"
        if state == "absent" and not rules.router:
            chk.error(
                found.mark(i, "state"),
                "Linux lo cannot be absent; list the addresses to remove in absent_addresses",
                host,
                _keyname((*found.path, i, "state")),
            )
        out.append(
            Loopback(
                name=name,
                addresses=tuple(addrs),
                description=desc if isinstance(desc, str) else None,
                shutdown=lb.get("shutdown") is True,
                state=state,
                absent_addresses=tuple(absent),
                anycast=lb.get("anycast") is True,
            )
        )
    return tuple(out)


def _addresses(
    host: str,
    rules: Rules,
    found: _Found,
    i: int,
    key: str,
    allow_subnets: bool,
    chk: _Checker,
) -> list[IPInterface]:
    lb = found.value[i]
    raw = lb.get(key)
    if not isinstance(raw, list):
        return []
    out: list[IPInterface] = []
    seen: dict[IPInterface, int] = {}
    for j, text in enumerate(raw):
        addr = _parse_address(text, found, (i, key, j), host, chk)
        if addr is None:
            continue
        mark = found.mark(i, key, j)
        kname = _keyname((*found.path, i, key, j))
        if addr in seen:
            chk.error(mark, f"{addr} is listed twice in this list; remove one", host, kname)
            continue
        seen[addr] = j
        if rules.router and (addr.ip.is_loopback):
            chk.error(
                mark,
                f"{addr} is in {'127.0.0.0/8' if addr.version == 4 else '::1'}, which"
                f" {rules.name} refuses on a loopback interface; use a routable address",
                host,
                kname,
            )
            continue
        if rules.router and addr.version == 6 and addr.ip.is_link_local:
            chk.error(
                mark,
                f"{addr} is link-local; give the loopback a global IPv6 address",
                host,
                kname,
            )
            continue
        full = addr.max_prefixlen
        if rules.router and not allow_subnets and addr.network.prefixlen != full:
            chk.error(
                mark,
                f"{addr} is not a host prefix; router loopbacks carry /{full}"
                f" (write {addr.ip}/{full}, or set data.allow_subnet_loopbacks: true)",
                host,
                kname,
            )
        out.append(addr)
    return out


# ---------------------------------------------------------------- fleet rules


@dataclass(frozen=True)
class _Placed:
    host: str
    address: IPInterface
    mark: Mark
    loopback: str
    anycast: bool


def _fleet_checks(
    placed: list[_Placed], hosts: Mapping[str, Host], rid_marks: dict[str, Mark], chk: _Checker
) -> None:
    by_ip: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[_Placed]] = {}
    for p in placed:
        by_ip.setdefault(p.address.ip, []).append(p)
    for ip, ps in by_ip.items():
        owners = {p.host for p in ps}
        if len(owners) > 1 and not all(p.anycast for p in ps):
            first = ps[0]
            for other in ps[1:]:
                if other.host == first.host:
                    continue
                chk.error(
                    other.mark,
                    f"address {ip} is also on host {first.host} ({first.mark}); an address"
                    " must be on one device only (mark both loopbacks anycast: true if"
                    " that is intended)",
                    other.host,
                    "data.loopbacks",
                )
    per_host: dict[str, list[_Placed]] = {}
    for p in placed:
        per_host.setdefault(p.host, []).append(p)
    for host, ps in per_host.items():
        for a_i, a in enumerate(ps):
            for b in ps[a_i + 1 :]:
                if a.address.version != b.address.version:
                    continue
                if a.address.ip == b.address.ip:
                    if a.loopback != b.loopback:
                        chk.error(
                            b.mark,
                            f"{b.address} is also on {a.loopback} of this host ({a.mark});"
                            " keep it on one loopback",
                            host,
                            "data.loopbacks",
                        )
                    continue
                if a.address.network.overlaps(b.address.network):
                    chk.error(
                        b.mark,
                        f"{b.address} on {b.loopback} overlaps {a.address} on {a.loopback}"
                        f" ({a.mark}); a device refuses overlapping subnets",
                        host,
                        "data.loopbacks",
                    )
    rid_owner: dict[ipaddress.IPv4Address, str] = {}
    for name, h in hosts.items():
        if not (RULES[h.platform].router or h.router_id is not None):
            continue
        rid = h.predicted_router_id
        if rid is None:
            continue
        if rid in rid_owner:
            chk.error(
                rid_marks.get(name, Mark("?", 1, 1)),
                f"router-id {rid} (predicted) is also the router-id of {rid_owner[rid]};"
                " OSPF and BGP need unique router-ids: set data.router_id or change a"
                " loopback",
                name,
                "data.router_id",
            )
        else:
            rid_owner[rid] = name


# ---------------------------------------------------------------- entry point


def load(location: str) -> tuple[Inventory, list[Diagnostic]]:
    """Load and validate; raise InventoryError listing every error, else return warnings."""
    chk = _Checker()
    hosts_raw, groups, defaults, sources = _load_sources(location, chk)
    if not hosts_raw and not any(d.severity == "error" for d in chk.diags) and sources:
        chk.error(Mark(sources[0], 1, 1), "the inventory defines no hosts; add one")
    for ent in [*hosts_raw.values(), *groups.values(), *([defaults] if defaults else [])]:
        _check_entity(ent, chk)
    _check_group_refs([*hosts_raw.values(), *groups.values()], groups, chk)
    _check_cycles(groups, chk)

    members: dict[str, set[str]] = {g: set() for g in groups}
    hosts: dict[str, Host] = {}
    placed: list[_Placed] = []
    rid_marks: dict[str, Mark] = {}
    for name, ent in hosts_raw.items():
        lineage = _lineage(ent, groups, chk)
        for g in lineage[1:]:
            members[g.name].add(name)
        host = _build_host(name, ent, lineage, defaults, chk, placed, rid_marks)
        if host is not None:
            hosts[name] = host
    _fleet_checks(placed, hosts, rid_marks, chk)

    diags = sorted(set(chk.diags), key=lambda d: (d.mark, d.message))
    if any(d.severity == "error" for d in diags):
        raise InventoryError(diags)
    inv = Inventory(
        hosts=hosts,
        group_members={g: frozenset(m) for g, m in members.items()},
        sources=sources,
    )
    return inv, diags


def _build_host(
    name: str,
    ent: Entity,
    lineage: list[Entity],
    defaults: Entity | None,
    chk: _Checker,
    placed: list[_Placed],
    rid_marks: dict[str, Mark],
) -> Host | None:
    def get(key: str) -> Any:
        f = _resolve(lineage, defaults, key)
        return f.value if f is not None else None

    platform = get("platform")
    if platform is None:
        chk.error(
            ent.mark(key=True) if ent.path else ent.mark(),
            f"host {name!r} has no platform; set platform: to one of"
            f" {', '.join(sorted(RULES))} (on the host, a group or defaults)",
            name,
            "platform",
        )
        return None
    if not isinstance(platform, str) or platform not in RULES:
        return None  # reported where it is written
    rules = RULES[platform]
    data = _resolve_data(lineage, defaults)
    allow = data.get("allow_subnet_loopbacks")
    loopbacks: tuple[Loopback, ...] = ()
    lbf = data.get("loopbacks")
    if lbf is not None and isinstance(lbf.value, list):
        loopbacks = _build_loopbacks(
            name, rules, lbf, allow is not None and allow.value is True, chk
        )
        for i, lb in enumerate(loopbacks):
            if lb.state != "present":
                continue
            idx = _index_of(lbf.value, lb.name, i)
            for addr in lb.addresses:
                j = _addr_index(lbf.value[idx].get("addresses"), addr)
                placed.append(
                    _Placed(name, addr, lbf.mark(idx, "addresses", j), lb.name, lb.anycast)
                )
    rid_found = data.get("router_id")
    router_id = None
    if rid_found is not None and isinstance(rid_found.value, str):
        try:
            router_id = ipaddress.IPv4Address(rid_found.value)
        except ValueError:
            router_id = None
    rid_marks[name] = (
        rid_found.mark()
        if rid_found is not None
        else lbf.mark()
        if lbf is not None
        else ent.mark(key=True)
    )
    groups_f = ent.fields.get("groups")
    purge = data.get("purge")
    port = get("port")
    return Host(
        name=name,
        platform=platform,
        hostname=get("hostname"),
        port=port if _is(port, int) else None,
        username=get("username"),
        password=get("password"),
        groups=tuple(g for g in groups_f if isinstance(g, str))
        if isinstance(groups_f, list)
        else (),
        data={k: f.value for k, f in data.items()},
        connection_options=_resolve_connection_options(lineage, defaults),
        loopbacks=loopbacks,
        router_id=router_id,
        purge=purge is not None and purge.value is True,
    )


def _index_of(items: list[Any], name: str, fallback: int) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return fallback


def _addr_index(items: Any, addr: IPInterface) -> int:
    if isinstance(items, list):
        for j, text in enumerate(items):
            try:
                if isinstance(text, str) and ipaddress.ip_interface(text) == addr:
                    return j
            except ValueError:
                continue
    return 0


def iter_errors(diags: list[Diagnostic]) -> Iterator[Diagnostic]:
    return (d for d in diags if d.severity == "error")
