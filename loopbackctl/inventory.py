"""Inventory: Nornir SimpleInventory files → validated `Inventory`, or every error at once.

Resolution follows Nornir 3 exactly:
- a host field (hostname, port, username, password, platform) is the host's own value,
  else the first non-null value in its extended groups (each group, then its parents,
  depth first, in order, each group once), else the defaults;
- `data` resolves per top-level key the same way (a key written with a null value still
  counts as written);
- connection options resolve per connection name and per field, recursively: the host's
  own, then for each group in order that group's own, its parents' and the defaults',
  then the defaults'; `extras` is taken whole from the first place that sets it.

Every problem is a Diagnostic naming file:line:col, host and key; `load` reports all of
them in one run and raises InventoryError if any is an error.
"""

from __future__ import annotations

import difflib
import gc
import ipaddress
import os
import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal

from loopbackctl import platforms, yamlsrc
from loopbackctl.errors import Diagnostic, InventoryError, Mark
from loopbackctl.model import Host, Inventory, IPInterface, Loopback
from loopbackctl.platforms.base import Platform
from loopbackctl.yamlsrc import Document, Path

ENV_INVENTORY = "LOOPBACKCTL_INVENTORY"

Schema = Mapping[str, type | tuple[type, ...]]
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
HOST_FIELDS = ("hostname", "port", "username", "password", "platform")
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
# C0 and C1 controls, DEL, and Unicode line/paragraph separators: anything that could
# end a line or drive a terminal on the way to a device. render.py fences the same set.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?")

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return "a number"
    return _TYPE_NAMES.get(t, t.__name__)


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
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{type(value).__name__} {value!r}"


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A "; did you mean X?" suffix naming the closest of `choices`, else the empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keyname(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Entity:
    """A host, group or the defaults as written, with where it was written."""

    kind: Literal["host", "group", "defaults"]
    name: str
    doc: Document
    path: Path
    fields: dict[str, Any]

    def mark(self, *sub: str | int, key: bool = False) -> Mark:
        return self.doc.mark((*self.path, *sub), key=key)

    @property
    def who(self) -> str | None:
        """The host a diagnostic about this entity names (None for groups and defaults)."""
        return self.name if self.kind == "host" else None

    def key(self, path: tuple[Any, ...]) -> str:
        """How a diagnostic names `path`: relative to a host, else from groups/defaults."""
        if self.kind == "host":
            return _keyname(path)
        if self.kind == "group":
            return _keyname(("groups", self.name, *path))
        return _keyname(("defaults", *path))

    @property
    def title(self) -> str:
        return "defaults" if self.kind == "defaults" else f"{self.kind} {self.name!r}"


@dataclass
class _Found:
    value: Any
    owner: Entity
    path: tuple[str | int, ...]

    def mark(self, *sub: str | int, key: bool = False) -> Mark:
        return self.owner.mark(*self.path, *sub, key=key)

    def at(self, *sub: str | int) -> _At:
        """Where `sub` is written, resolved to a Mark only if a diagnostic needs it."""
        return _At(self.owner, (*self.path, *sub))

    def error(self, chk: _Checker, host: str, sub: tuple[str | int, ...], msg: str) -> None:
        chk.error(self.mark(*sub), msg, host, _keyname((*self.path, *sub)))


class _At:
    """A lazily resolved place: marks cost time and most values never need one."""

    __slots__ = ("owner", "path")

    def __init__(self, owner: Entity, path: tuple[str | int, ...]) -> None:
        self.owner = owner
        self.path = path

    @property
    def mark(self) -> Mark:
        return self.owner.mark(*self.path)


@dataclass
class _Checker:
    diags: list[Diagnostic] = field(default_factory=list)
    # Where YAML itself failed: later checks add no follow-on error at those places.
    yaml_marks: set[Mark] = field(default_factory=set)
    yaml_ids: set[int] = field(default_factory=set)

    def error(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.diags.append(Diagnostic(mark, msg, "error", host, key))

    def warn(self, mark: Mark, msg: str, host: str | None = None, key: str | None = None) -> None:
        self.diags.append(Diagnostic(mark, msg, "warning", host, key))


@dataclass
class _Sources:
    hosts: dict[str, Entity] = field(default_factory=dict)
    groups: dict[str, Entity] = field(default_factory=dict)
    defaults: Entity | None = None
    files: tuple[str, ...] = ()
    # What could not be read: its absence must not cause follow-on errors.
    broken: set[str] = field(default_factory=set)
    bad_groups: set[str] = field(default_factory=set)
    bad_hosts: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- reading files


def default_path() -> str:
    """The inventory location when -i is not given: $LOOPBACKCTL_INVENTORY or ./inventory."""
    return os.environ.get(ENV_INVENTORY) or "inventory"


def _locator(kind: str) -> yamlsrc.Locator:
    """(host, key) for a path inside hosts.yaml, groups.yaml or defaults.yaml."""
    prefix = "groups" if kind == "group" else "defaults"

    def locate(path: Path) -> tuple[str | None, str | None]:
        if kind == "host" and path:
            return str(path[0]), _keyname(path[1:]) or None
        return None, _keyname((prefix, *path)) if path else None

    return locate


def _read(
    path: FsPath, chk: _Checker, *, locate: yamlsrc.Locator, allow_empty: bool
) -> Document | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        chk.error(Mark(str(path), 1, 1), f"cannot read the file: {exc.strerror}; check it")
        return None
    before = len(chk.diags)
    doc = yamlsrc.load(str(path), raw, chk.diags, locate=locate, allow_empty=allow_empty)
    for d in chk.diags[before:]:
        chk.yaml_marks.add(d.mark)
        chk.yaml_ids.add(id(d))
    return doc


def _entities(
    doc: Document,
    base: Path,
    kind: Literal["host", "group"],
    chk: _Checker,
    src: _Sources,
) -> dict[str, Entity]:
    section: Any = doc.data
    for part in base:
        section = section.get(part) if isinstance(section, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        where = f"'{base[0]}'" if base else "the file's top level"
        chk.error(
            doc.mark(base),
            f"{where} must be a mapping of {kind} names to their fields, not {_got(section)}",
        )
        src.broken.add(kind + "s")
        return {}
    out: dict[str, Entity] = {}
    for name, fields in section.items():
        if not isinstance(name, str) or not name or CONTROL.search(name):
            chk.error(
                doc.mark((*base, name), key=True),
                f"{kind} name {name!r} must be non-empty text without control characters;"
                " quote it or rename it",
            )
            (src.bad_groups if kind == "group" else src.bad_hosts).add(str(name))
            continue
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            chk.error(
                doc.mark((*base, name)),
                f"{kind} {name!r} must be a mapping of fields, not {_got(fields)}",
                name if kind == "host" else None,
            )
            (src.bad_groups if kind == "group" else src.bad_hosts).add(name)
            continue
        out[name] = Entity(kind, name, doc, (*base, name), fields)
    return out


def _load_dir(path: FsPath, chk: _Checker) -> _Sources:
    src = _Sources()
    hosts_file = next((p for p in (path / "hosts.yaml", path / "hosts.yml") if p.exists()), None)
    if hosts_file is None:
        chk.error(
            Mark(str(path), 1, 1),
            "inventory directory has no hosts.yaml; create it (Nornir SimpleInventory"
            " layout: hosts.yaml, optional groups.yaml and defaults.yaml)",
        )
        src.broken.add("hosts")
        return src
    files: dict[str, FsPath] = {"hosts": hosts_file}
    for key in ("groups", "defaults"):
        for ext in ("yaml", "yml"):
            if (path / f"{key}.{ext}").exists():
                files[key] = path / f"{key}.{ext}"
                break
    src.files = tuple(str(p) for p in files.values())
    for key, p in files.items():
        kind = "host" if key == "hosts" else "group" if key == "groups" else "defaults"
        doc = _read(p, chk, locate=_locator(kind), allow_empty=key != "hosts")
        if doc is None:
            src.broken.add(key)
            continue
        if doc.empty:
            chk.warn(
                Mark(str(p), 1, 1),
                f"{p.name} is empty; Nornir reads it as no {key}: delete it or fill it in",
            )
            continue
        if not isinstance(doc.data, dict):
            what = "defaults fields" if key == "defaults" else f"{kind} names to their fields"
            chk.error(
                doc.mark(()),
                f"the file's top level must be a mapping of {what}, not {_got(doc.data)}",
            )
            src.broken.add(key)
            continue
        if key == "hosts":
            src.hosts = _entities(doc, (), "host", chk, src)
        elif key == "groups":
            src.groups = _entities(doc, (), "group", chk, src)
        else:
            src.defaults = Entity("defaults", "defaults", doc, (), doc.data)
    return src


def _load_file(path: FsPath, chk: _Checker) -> _Sources:
    src = _Sources(files=(str(path),))

    def locate(p: Path) -> tuple[str | None, str | None]:
        if len(p) >= 2 and p[0] == "hosts":
            return str(p[1]), _keyname(p[2:]) or None
        return None, _keyname(p) or None

    doc = _read(path, chk, locate=locate, allow_empty=False)
    if doc is None:
        src.broken.add("hosts")
        return src
    if not isinstance(doc.data, dict):
        chk.error(
            doc.mark(()),
            "the file's top level must be a mapping with 'hosts:' (and optionally"
            f" 'groups:', 'defaults:'), not {_got(doc.data)}",
        )
        src.broken.add("hosts")
        return src
    for key in doc.data:
        if key not in ("hosts", "groups", "defaults"):
            hint = did_you_mean(str(key), ["hosts", "groups", "defaults"])
            chk.error(
                doc.mark((key,), key=True),
                f"unknown top-level key {key!r}; a single-file inventory holds hosts, groups"
                f" and defaults{hint}",
                None,
                str(key),
            )
    if "hosts" not in doc.data:
        chk.error(doc.mark(()), "the file has no 'hosts:' mapping; add one", None, "hosts")
        src.broken.add("hosts")
    src.hosts = _entities(doc, ("hosts",), "host", chk, src)
    src.groups = _entities(doc, ("groups",), "group", chk, src)
    dsec = doc.data.get("defaults")
    if isinstance(dsec, dict):
        src.defaults = Entity("defaults", "defaults", doc, ("defaults",), dsec)
    elif dsec is not None:
        chk.error(
            doc.mark(("defaults",)),
            f"'defaults' must be a mapping of fields, not {_got(dsec)}",
            None,
            "defaults",
        )
        src.broken.add("defaults")
    return src


def _load_sources(location: str, chk: _Checker) -> _Sources:
    path = FsPath(location)
    if path.is_dir():
        return _load_dir(path, chk)
    if not path.exists():
        chk.error(
            Mark(str(path), 1, 1),
            f"no such inventory file or directory; pass -i PATH or set ${ENV_INVENTORY}",
        )
        return _Sources(broken={"hosts"})
    return _load_file(path, chk)


# ---------------------------------------------------------------- per-entity checks


def _check_fields(
    ent: Entity,
    mapping: Mapping[Any, Any],
    schema: Schema,
    sub: tuple[str | int, ...],
    chk: _Checker,
    *,
    open_keys: bool = False,
) -> None:
    """Unknown keys (with a "did you mean") and wrong types; null means "not set"."""
    for key, value in mapping.items():
        path = (*sub, key)
        if key not in schema:
            hint = did_you_mean(str(key), list(schema))
            if open_keys and not hint:
                continue  # data belongs to other tools too
            if not hint and not sub and key in DATA_FIELDS:
                hint = f"; loopbackctl's {key!r} goes under data:"
            elif not hint and ent.kind == "defaults" and key == "groups":
                hint = "; defaults cannot have groups (Nornir): set groups on hosts"
            chk.error(
                ent.mark(*path, key=True),
                f"unknown key {key!r} in {ent.title}"
                + (hint or f"; valid keys: {', '.join(schema)}"),
                ent.who,
                ent.key(path),
            )
            continue
        if value is None and key != "groups":
            continue
        if not _is(value, schema[key]):
            hint = ""
            if key in yamlsrc.SECRET_KEYS:  # never print a secret, not even a wrong one
                chk.error(
                    ent.mark(*path),
                    f"{key!r} must be {_type_name(schema[key])}, not {type(value).__name__};"
                    " quote it (better: remove it and use the environment)",
                    ent.who,
                    ent.key(path),
                )
                continue
            if schema[key] is list and isinstance(value, str | int):
                hint = f"; write it as a list: {key}: [{value}]"
            elif schema[key] is str and isinstance(value, int | float):
                hint = f'; quote it: {key}: "{value}"'
            chk.error(
                ent.mark(*path),
                f"{key!r} must be {_type_name(schema[key])}, not {_got(value)}{hint}",
                ent.who,
                ent.key(path),
            )


def _check_strings(ent: Entity, value: Any, path: tuple[Any, ...], chk: _Checker) -> None:
    """No string anywhere (key or value) may carry a control character or line break."""
    if isinstance(value, str):
        m = CONTROL.search(value)
        if m:
            chk.error(
                ent.mark(*path),
                f"value contains control character {m.group()!r}: a line break or control"
                " character could inject a command on a device; remove it",
                ent.who,
                ent.key(path),
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(ent, k, (*path, k), chk)
            _check_strings(ent, v, (*path, k), chk)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(ent, v, (*path, i), chk)


def _check_port(ent: Entity, port: Any, path: tuple[str, ...], chk: _Checker) -> None:
    if _is(port, int) and not 1 <= port <= 65535:
        chk.error(
            ent.mark(*path),
            f"port {port} is out of range; use 1 to 65535 (SSH is 22)",
            ent.who,
            ent.key(path),
        )


def _check_platform(ent: Entity, platform: Any, path: tuple[str, ...], chk: _Checker) -> None:
    known = platforms.names()
    if (
        isinstance(platform, str)
        and not CONTROL.search(platform)
        and not platforms.lookup(platform)
    ):
        chk.error(
            ent.mark(*path),
            f"unknown platform {platform!r}{did_you_mean(platform, known)}"
            f" (valid: {', '.join(known)})",
            ent.who,
            ent.key(path),
        )


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            pass
    try:  # what inet_pton does not take, e.g. a scoped IPv6 address
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _check_hostname(ent: Entity, hostname: Any, path: tuple[str, ...], chk: _Checker) -> None:
    if not isinstance(hostname, str) or CONTROL.search(hostname):
        return
    if _is_ip(hostname):
        return
    if len(hostname) > 253 or not _HOSTNAME.fullmatch(hostname):
        chk.error(
            ent.mark(*path),
            f"hostname {hostname!r} is neither an IP address nor a DNS name; write the"
            " address or name SSH connects to (letters, digits, '-', '.')",
            ent.who,
            ent.key(path),
        )


def _check_entity(ent: Entity, chk: _Checker) -> None:
    schema = dict(FIELDS)
    if ent.kind == "defaults":
        del schema["groups"]
    _check_fields(ent, ent.fields, schema, (), chk)
    if ent.doc.has_control:  # yamlsrc saw a control character somewhere in this file
        _check_strings(ent, ent.fields, (), chk)
    _check_port(ent, ent.fields.get("port"), ("port",), chk)
    _check_platform(ent, ent.fields.get("platform"), ("platform",), chk)
    _check_hostname(ent, ent.fields.get("hostname"), ("hostname",), chk)
    groups = ent.fields.get("groups")
    if isinstance(groups, list):
        for i, g in enumerate(groups):
            if not isinstance(g, str):
                chk.error(
                    ent.mark("groups", i),
                    f"a group name must be text, not {_got(g)}",
                    ent.who,
                    ent.key(("groups", i)),
                )
    if isinstance(ent.fields.get("password"), str):
        chk.warn(
            ent.mark("password"),
            "plaintext password in the inventory; remove it and set LOOPBACKCTL_PASSWORD"
            " or use an SSH key",
            ent.who,
            ent.key(("password",)),
        )
    conn = ent.fields.get("connection_options")
    if isinstance(conn, dict):
        for cname, copts in conn.items():
            base = ("connection_options", cname)
            if copts is None:
                continue
            if not isinstance(copts, dict):
                chk.error(
                    ent.mark(*base),
                    f"connection options for {cname!r} must be a mapping of"
                    f" {', '.join(CONNECTION_FIELDS)}, not {_got(copts)}",
                    ent.who,
                    ent.key(base),
                )
                continue
            _check_fields(ent, copts, CONNECTION_FIELDS, base, chk)
            _check_port(ent, copts.get("port"), (*base, "port"), chk)
            if cname == "netmiko":  # other plugins name platforms their own way
                _check_platform(ent, copts.get("platform"), (*base, "platform"), chk)
            _check_hostname(ent, copts.get("hostname"), (*base, "hostname"), chk)
            if isinstance(copts.get("password"), str):
                chk.warn(
                    ent.mark(*base, "password"),
                    "plaintext password in the inventory; remove it and set"
                    " LOOPBACKCTL_PASSWORD or use an SSH key",
                    ent.who,
                    ent.key((*base, "password")),
                )
            extras = copts.get("extras")
            if isinstance(extras, dict):
                for secret in SECRET_EXTRAS:
                    value = extras.get(secret)
                    if value is not None and not isinstance(value, str):
                        path = (*base, "extras", secret)
                        chk.error(
                            ent.mark(*path),
                            f"{secret!r} must be a string, not {type(value).__name__}; quote it"
                            " (better: remove it and use the environment)",
                            ent.who,
                            ent.key(path),
                        )
                    if isinstance(value, str):
                        path = (*base, "extras", secret)
                        chk.warn(
                            ent.mark(*path),
                            f"plaintext {secret} in the inventory; remove it and set"
                            " LOOPBACKCTL_SECRET",
                            ent.who,
                            ent.key(path),
                        )
    data = ent.fields.get("data")
    if isinstance(data, dict):
        _check_fields(ent, data, DATA_FIELDS, ("data",), chk, open_keys=True)
        _check_data_values(ent, data, chk)


def _check_data_values(ent: Entity, data: dict[str, Any], chk: _Checker) -> None:
    who = ent.who
    persist = data.get("persist")
    if isinstance(persist, str) and not CONTROL.search(persist) and persist not in PERSIST_MODES:
        chk.error(
            ent.mark("data", "persist"),
            f"unknown persist mode {persist!r}; valid: {', '.join(PERSIST_MODES)}, or leave"
            f" it out for runtime only{did_you_mean(persist, PERSIST_MODES)}",
            who,
            ent.key(("data", "persist")),
        )
    ndir = data.get("netplan_dir")
    if isinstance(ndir, str) and not CONTROL.search(ndir) and not _SAFE_PATH.fullmatch(ndir):
        chk.error(
            ent.mark("data", "netplan_dir"),
            f"netplan_dir {ndir!r} must be an absolute path of letters, digits and ._/+-"
            " (e.g. /etc/netplan)",
            who,
            ent.key(("data", "netplan_dir")),
        )
    elif isinstance(ndir, str) and ".." in ndir.split("/"):
        chk.error(
            ent.mark("data", "netplan_dir"),
            f"netplan_dir {ndir!r} must not contain '..'; write the directory itself",
            who,
            ent.key(("data", "netplan_dir")),
        )
    for key in ("connect_timeout", "command_timeout"):
        v = _number(data.get(key))
        if v is not None and not 0 < v <= 3600:
            chk.error(
                ent.mark("data", key),
                f"{key} {v} must be more than 0 and at most 3600 seconds",
                who,
                ent.key(("data", key)),
            )
    rid = data.get("router_id")
    if isinstance(rid, str) and not CONTROL.search(rid):
        try:
            ipaddress.IPv4Address(rid)
        except ValueError:
            chk.error(
                ent.mark("data", "router_id"),
                f"router_id {rid!r} is not an IPv4 address; a router-id is written as one,"
                " e.g. 10.255.0.1",
                who,
                ent.key(("data", "router_id")),
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
                    ent.key(path),
                )
                continue
            _check_fields(ent, lb, LOOPBACK_FIELDS, path, chk)
            if lb.get("name") is None:
                chk.error(
                    ent.mark(*path),
                    "loopback has no 'name'; add one (Loopback0 on IOS, lo on Linux)",
                    who,
                    ent.key((*path, "name")),
                )
            state = lb.get("state")
            if (
                isinstance(state, str)
                and not CONTROL.search(state)
                and state not in ("present", "absent")
            ):
                chk.error(
                    ent.mark(*path, "state"),
                    f"state {state!r} must be present or absent",
                    who,
                    ent.key((*path, "state")),
                )


# ---------------------------------------------------------------- groups and resolution


def _parents(ent: Entity, groups: Mapping[str, Entity]) -> Iterator[Entity]:
    gs = ent.fields.get("groups")
    for gname in gs if isinstance(gs, list) else ():
        if isinstance(gname, str) and gname in groups:
            yield groups[gname]


def _lineage(ent: Entity, groups: Mapping[str, Entity]) -> list[Entity]:
    """The entity, then Nornir's extended groups: depth first, in order, each once."""
    out: list[Entity] = [ent]
    seen: set[str] = {ent.name} if ent.kind == "group" else set()

    def visit(e: Entity) -> None:
        for g in _parents(e, groups):
            if g.name not in seen:  # also ends group cycles (reported by _check_cycles)
                seen.add(g.name)
                out.append(g)
                visit(g)

    visit(ent)
    return out


def _check_group_refs(
    ents: list[Entity], groups: Mapping[str, Entity], src: _Sources, chk: _Checker
) -> None:
    if "groups" in src.broken:
        return  # the groups file could not be read: its names are unknown, not wrong
    for ent in ents:
        gs = ent.fields.get("groups")
        if not isinstance(gs, list):
            continue
        for i, gname in enumerate(gs):
            if (
                isinstance(gname, str)
                and gname not in groups
                and gname not in src.bad_groups
                and not CONTROL.search(gname)
            ):
                what = "parent group" if ent.kind == "group" else "group"
                hint = did_you_mean(gname, list(groups))
                known = f" (defined: {', '.join(groups)})" if groups and not hint else ""
                chk.error(
                    ent.mark("groups", i),
                    f"unknown {what} {gname!r}"
                    + (hint or f"; define it in the groups{known} or remove it here"),
                    ent.who,
                    ent.key(("groups", i)),
                )


def _check_cycles(groups: Mapping[str, Entity], chk: _Checker) -> None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        g = groups[name]
        gs = g.fields.get("groups")
        for i, parent in enumerate(gs if isinstance(gs, list) else []):
            if not isinstance(parent, str) or parent not in groups:
                continue
            if state.get(parent) == 1:
                cycle = [*trail[trail.index(parent) :], parent]
                chk.error(
                    g.mark("groups", i),
                    f"group cycle: {' -> '.join(cycle)}; a group cannot be its own parent:"
                    f" remove {parent!r} from the groups of {name!r}",
                    None,
                    g.key(("groups", i)),
                )
            elif parent not in state:
                visit(parent, [*trail, parent])
        state[name] = 2

    for name in groups:
        if name not in state:
            visit(name, [name])


def _resolve(chain: list[Entity], key: str) -> _Found | None:
    for ent in chain:
        v = ent.fields.get(key)
        if v is not None:
            return _Found(v, ent, (key,))
    return None


def _resolve_data(chain: list[Entity]) -> dict[str, _Found]:
    out: dict[str, _Found] = {}
    for ent in chain:
        data = ent.fields.get("data")
        if not isinstance(data, dict):
            continue
        for k, v in data.items():
            if k not in out:
                out[k] = _Found(v, ent, ("data", k))
    return out


def _resolve_connection_options(
    ent: Entity,
    groups: Mapping[str, Entity],
    defaults: Entity | None,
    trail: frozenset[str],
    memo: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Nornir's `_get_connection_options_recursively`, for every connection name at once.

    A group's result does not depend on who asks: `memo` keeps it by group name.
    """
    if ent.kind == "group" and ent.name in memo:
        return memo[ent.name]
    out: dict[str, dict[str, Any]] = {}

    def fill(conn: Any) -> None:
        if not isinstance(conn, dict):
            return
        for cname, copts in conn.items():
            if not isinstance(copts, dict):
                continue
            slot = out.setdefault(cname, dict.fromkeys(CONNECTION_FIELDS))
            for f in CONNECTION_FIELDS:
                if slot[f] is None:
                    slot[f] = copts.get(f)

    fill(ent.fields.get("connection_options"))
    for g in _parents(ent, groups):
        if g.name not in trail:
            fill(_resolve_connection_options(g, groups, defaults, trail | {g.name}, memo))
    if defaults is not None:
        fill(defaults.fields.get("connection_options"))
    if ent.kind == "group":
        memo[ent.name] = out  # (a cycle makes the inventory invalid anyway)
    return out


def connection_parameters(host: Host, connection: str) -> dict[str, Any]:
    """Nornir's `host.get_connection_parameters(connection)` as a dict: the connection's
    resolved options, each missing field taken from the host, `extras` defaulting to {}."""
    opts: Mapping[str, Any] = host.connection_options.get(connection) or {}
    own = {
        "hostname": host.hostname,
        "port": host.port,
        "username": host.username,
        "password": host.password,
        "platform": host.platform,
    }
    out = {f: opts.get(f) if opts.get(f) is not None else own[f] for f in own}
    out["extras"] = opts.get("extras") if opts.get("extras") is not None else {}
    return out


# ---------------------------------------------------------------- loopback checks


def _fast_interface(text: str) -> IPInterface | None:
    """`ipaddress.ip_interface(text)` for plain ADDRESS/PREFIXLEN text, several times
    faster (the address is parsed by inet_pton); None when the text is anything else,
    so that ipaddress itself judges it and explains what is wrong."""
    address, _, prefix = text.partition("/")
    if not (prefix.isascii() and prefix.isdigit()):
        return None
    length = int(prefix)
    try:
        if ":" in address:
            if length > 128:
                return None
            packed = socket.inet_pton(socket.AF_INET6, address)
            return ipaddress.IPv6Interface((int.from_bytes(packed, "big"), length))
        if length > 32:
            return None
        packed = socket.inet_pton(socket.AF_INET, address)
        return ipaddress.IPv4Interface((int.from_bytes(packed, "big"), length))
    except (OSError, ValueError):
        return None


def _parse_address(
    text: Any, found: _Found, sub: tuple[str | int, ...], host: str, chk: _Checker
) -> IPInterface | None:
    if not isinstance(text, str):
        found.error(
            chk, host, sub, f"an address must be text like 10.0.0.1/32, not {_got(text)}; quote it"
        )
        return None
    if CONTROL.search(text):
        return None  # reported where it is written
    addr = _fast_interface(text)
    if addr is not None and not (
        addr.ip.is_multicast
        or addr.ip.is_unspecified
        or (addr.version == 4 and addr.network.prefixlen < 31)
    ):
        return addr  # the common case, already known to be fine
    if "/" not in text:
        full = "128" if ":" in text else "32"
        found.error(
            chk,
            host,
            sub,
            f"address {text!r} has no prefix length; write it as {text}/{full}",
        )
        return None
    try:
        addr = ipaddress.ip_interface(text)
    except ValueError as exc:
        found.error(
            chk,
            host,
            sub,
            f"{text!r} is not a valid IPv4 or IPv6 address with prefix length ({exc});"
            " write it like 10.255.0.1/32 or 2001:db8::1/128",
        )
        return None
    if addr.ip.is_multicast or addr.ip.is_unspecified:
        found.error(chk, host, sub, f"{text} is not a unicast address; a loopback needs one")
        return None
    if (
        addr.version == 4
        and addr.network.prefixlen < 31
        and addr.ip in (addr.network.network_address, addr.network.broadcast_address)
    ):
        found.error(
            chk,
            host,
            sub,
            f"{text} is the network or broadcast address of {addr.network}; use a host address",
        )
        return None
    return addr


def _check_description(
    desc: str, rules: Platform, found: _Found, i: int, host: str, chk: _Checker
) -> None:
    if CONTROL.search(desc):
        return  # reported where it is written
    if (
        rules.descriptions
        and desc.strip() == desc
        and desc.isascii()
        and desc
        and (rules.max_description is None or len(desc) <= rules.max_description)
        and not any(c in desc for c in rules.description_forbidden)
    ):
        return  # the common case
    mark = found.mark(i, "description")
    dkey = _keyname((*found.path, i, "description"))
    if not rules.descriptions:
        chk.error(
            mark,
            f"{rules.title} {rules.interface_example} has no description; remove it (write it"
            " as a YAML comment instead)",
            host,
            dkey,
        )
        return
    if not desc.strip():
        chk.error(mark, "description is empty; write some text or remove the key", host, dkey)
        return
    if rules.max_description is not None and len(desc) > rules.max_description:
        chk.error(
            mark,
            f"description is {len(desc)} characters; {rules.name} accepts at most"
            f" {rules.max_description}: shorten it",
            host,
            dkey,
        )
    bad = sorted({c for c in desc if c in rules.description_forbidden})
    if bad:
        chk.error(
            mark,
            f"description contains {''.join(bad)!r}, which {rules.name} reads as a"
            " command (help request); remove it",
            host,
            dkey,
        )
    if rules.description_ascii and not desc.isascii():
        chk.error(
            mark,
            f"description has non-ASCII characters, which {rules.title} stores mangled"
            " (verify would then always differ); use ASCII",
            host,
            dkey,
        )
    if desc != desc.strip():
        chk.error(
            mark,
            "description has leading or trailing spaces, which the device drops"
            " (verify would then always differ); remove them",
            host,
            dkey,
        )


def _check_name(
    name: str, rules: Platform, found: _Found, i: int, host: str, chk: _Checker
) -> None:
    if CONTROL.search(name):
        return  # reported where it is written
    if not rules.interface_pattern.fullmatch(name):
        hint = ""
        m = re.fullmatch(r"(?i)(?:lo|loopback)\s*(\d+)", name)
        if "{n}" not in rules.interface_example:
            hint = f"; write {rules.interface_example}"
        elif m:
            hint = f"; write {rules.interface_example.format(n=int(m.group(1)))}"
        found.error(
            chk,
            host,
            (i, "name"),
            f"interface name {name!r} is not valid on {rules.name} ({rules.interface_hint}){hint}",
        )
    elif rules.max_interface_number is not None:
        number = int(re.sub(r"\D", "", name))
        if number > rules.max_interface_number:
            found.error(
                chk,
                host,
                (i, "name"),
                f"{name} is out of range ({rules.interface_hint}); pick a smaller number",
            )


def _build_loopbacks(
    host: str, rules: Platform, found: _Found, allow_subnets: bool, chk: _Checker
) -> tuple[list[Loopback], list[_Placed]]:
    out: list[Loopback] = []
    placed: list[_Placed] = []
    names: dict[str, int] = {}
    for i, lb in enumerate(found.value):
        if not isinstance(lb, dict) or not isinstance(lb.get("name"), str):
            continue
        name: str = lb["name"]
        _check_name(name, rules, found, i, host, chk)
        if name in names:
            found.error(
                chk,
                host,
                (i, "name"),
                f"loopback {name} is listed twice on this host (also item {names[name]},"
                f" {found.mark(names[name], 'name')}); merge the two entries",
            )
        names.setdefault(name, i)
        desc = lb.get("description")
        if isinstance(desc, str):
            _check_description(desc, rules, found, i, host, chk)
        if lb.get("shutdown") is True and not rules.shutdown:
            chk.error(
                found.mark(i, "shutdown"),
                f"shutdown is not supported on {rules.title} {rules.interface_example} (every"
                " local service depends on it); remove it",
                host,
                _keyname((*found.path, i, "shutdown")),
            )
        addrs = _addresses(host, rules, found, i, "addresses", allow_subnets, chk)
        absent = _addresses(host, rules, found, i, "absent_addresses", True, chk)
        present = {a for a, _ in addrs}
        for a, j in absent:
            if a in present:
                chk.error(
                    found.mark(i, "absent_addresses", j),
                    f"{a} is listed both in addresses and absent_addresses; keep one",
                    host,
                    _keyname((*found.path, i, "absent_addresses", j)),
                )
        state: Literal["present", "absent"] = "absent" if lb.get("state") == "absent" else "present"
        if state == "absent" and not rules.deletable:
            chk.error(
                found.mark(i, "state"),
                f"{rules.title} {rules.interface_example} cannot be absent; list the addresses"
                " to remove in absent_addresses",
                host,
                _keyname((*found.path, i, "state")),
            )
        if state == "absent" and addrs:
            chk.error(
                found.mark(i, "addresses"),
                f"loopback {name} is state: absent but lists addresses; remove the addresses"
                " or set state: present",
                host,
                _keyname((*found.path, i, "addresses")),
            )
        anycast = lb.get("anycast") is True
        if state == "present":
            placed.extend(
                _Placed(host, a, found, (i, "addresses", j), name, anycast) for a, j in addrs
            )
        out.append(
            Loopback(
                name=name,
                addresses=tuple(a for a, _ in addrs),
                description=desc if isinstance(desc, str) else None,
                shutdown=lb.get("shutdown") is True,
                state=state,
                absent_addresses=tuple(a for a, _ in absent),
                anycast=anycast,
            )
        )
    return out, placed


def _addresses(
    host: str,
    rules: Platform,
    found: _Found,
    i: int,
    key: str,
    allow_subnets: bool,
    chk: _Checker,
) -> list[tuple[IPInterface, int]]:
    """The valid addresses of loopback `i`'s list `key`, each with its index."""
    raw = found.value[i].get(key)
    if not isinstance(raw, list):
        return []
    out: list[tuple[IPInterface, int]] = []
    seen: dict[Any, int] = {}
    for j, text in enumerate(raw):
        addr = _parse_address(text, found, (i, key, j), host, chk)
        if addr is None:
            continue
        sub = (i, key, j)
        ip = addr.ip
        if ip in seen:
            found.error(
                chk,
                host,
                sub,
                f"{ip} is listed twice in this list (also item {seen[ip]},"
                f" {found.mark(i, key, seen[ip])}); remove one",
            )
            continue
        seen[ip] = j
        if rules.reserved_addresses and ip.is_loopback:
            found.error(
                chk,
                host,
                sub,
                f"{addr} is in {'127.0.0.0/8' if addr.version == 4 else '::1'}, which"
                f" {rules.name} refuses on a loopback interface; use a routable address",
            )
            continue
        if rules.reserved_addresses and addr.version == 6 and ip.is_link_local:
            found.error(
                chk, host, sub, f"{addr} is link-local; give the loopback a global IPv6 address"
            )
            continue
        full = addr.max_prefixlen
        if rules.host_prefixes and not allow_subnets and addr.network.prefixlen != full:
            found.error(
                chk,
                host,
                sub,
                f"{addr} is not a host prefix; router loopbacks carry /{full}"
                f" (write {ip}/{full}, or set data.allow_subnet_loopbacks: true)",
            )
        out.append((addr, j))
    return out


# ---------------------------------------------------------------- fleet rules


class _Placed:
    """An address as placed on a device, for the fleet-wide checks; `mark` is resolved
    only when a diagnostic needs it."""

    __slots__ = ("address", "anycast", "found", "host", "key", "loopback", "sub")

    def __init__(
        self,
        host: str,
        address: IPInterface,
        found: _Found,
        sub: tuple[str | int, ...],
        loopback: str,
        anycast: bool,
    ) -> None:
        self.host = host
        self.address = address
        self.found = found
        self.sub = sub
        self.loopback = loopback
        self.anycast = anycast
        self.key = (address.version, int(address))  # int(interface) is its address

    @property
    def mark(self) -> Mark:
        return self.found.mark(*self.sub)

    @property
    def at(self) -> _At:
        return self.found.at(*self.sub)


def _check_same_address(placed: list[_Placed], chk: _Checker) -> set[Any]:
    """An address on two devices (unless every copy is anycast); linear in the fleet.

    Returns the addresses reported, so that a router-id clash they cause is not reported
    a second time.
    """
    by_ip: dict[tuple[int, int], list[_Placed]] = {}
    reported: set[Any] = set()
    for p in placed:
        by_ip.setdefault(p.key, []).append(p)
    for ps in by_ip.values():
        if len(ps) < 2 or len({p.host for p in ps}) < 2 or all(p.anycast for p in ps):
            continue
        first = ps[0]
        ip = first.address.ip
        for other in ps[1:]:
            if other.host == first.host:
                continue
            reported.add(ip)
            if other.mark == first.mark:
                chk.error(
                    other.mark,
                    f"address {ip} reaches both {first.host} and {other.host} from this one"
                    " line (a group or the defaults gives it to every member); an address"
                    " must be on one device only: move it to the hosts, or mark the loopback"
                    " anycast: true if that is intended",
                    other.host,
                    "data.loopbacks",
                )
                continue
            chk.error(
                other.mark,
                f"address {ip} is also on host {first.host} ({first.mark}, {first.loopback});"
                " an address must be on one device only: change one, or mark both"
                " loopbacks anycast: true if that is intended",
                other.host,
                "data.loopbacks",
            )
    return reported


def _check_overlaps(host: str, ps: list[_Placed], chk: _Checker) -> None:
    """Overlapping subnets (or one address on two loopbacks) on one device.

    CIDR blocks either nest or are disjoint, so after sorting by (start, -size) a block
    overlaps an earlier one exactly when it starts inside the widest block still open.
    """
    if all(p.address.network.prefixlen == p.address.max_prefixlen for p in ps) and len(
        {p.key for p in ps}
    ) == len(ps):
        return  # host prefixes only, all different: nothing can overlap
    for version in (4, 6):
        items = sorted(
            (p for p in ps if p.address.version == version),
            key=lambda p: (int(p.address.network.network_address), p.address.network.prefixlen),
        )
        open_: _Placed | None = None
        for p in items:
            net = p.address.network
            if open_ is not None and int(net.network_address) <= int(
                open_.address.network.broadcast_address
            ):
                first, second = (open_, p) if open_.mark <= p.mark else (p, open_)
                if first.address.ip == second.address.ip:
                    what = f"{second.address.ip} is also on {first.loopback} of this host"
                    fix = "keep it on one loopback"
                else:
                    what = (
                        f"{second.address} on {second.loopback} overlaps {first.address}"
                        f" on {first.loopback}"
                    )
                    fix = (
                        "overlapping subnets on one device are refused by IOS and make"
                        " routing ambiguous: change one of them"
                    )
                chk.error(second.mark, f"{what} ({first.mark}); {fix}", host, "data.loopbacks")
                continue
            if open_ is None or int(net.broadcast_address) > int(
                open_.address.network.broadcast_address
            ):
                open_ = p


def _check_router_ids(
    hosts: Mapping[str, Host], rid_marks: dict[str, _At], known: set[Any], chk: _Checker
) -> None:
    """Two routers with one router-id (explicit, else predicted); `known` clashes skipped."""
    rid_owner: dict[ipaddress.IPv4Address, str] = {}
    for name, h in hosts.items():
        p = platforms.lookup(h.platform)
        if not ((p is not None and p.router) or h.router_id is not None):
            continue
        rid = h.predicted_router_id
        if rid is None:
            continue
        if rid in rid_owner and not (h.router_id is None and rid in known):
            first = rid_owner[rid]
            how = "set" if h.router_id is not None else "predicted: highest loopback IPv4"
            chk.error(
                rid_marks[name].mark,
                f"router-id {rid} ({how}) is also the router-id of {first}"
                f" ({rid_marks[first].mark}); OSPF and BGP need unique router-ids: set"
                " data.router_id or change a loopback",
                name,
                "data.router_id",
            )
        else:
            rid_owner.setdefault(rid, name)


# ---------------------------------------------------------------- entry point


def load(location: str) -> tuple[Inventory, list[Diagnostic]]:
    """Load and validate; raise InventoryError listing every problem, else return warnings.

    Diagnostics are sorted by file, line and column; where YAML itself failed, no
    follow-on error is added. The cyclic garbage collector is paused while loading: the
    hundreds of thousands of small objects of a large inventory are all kept, and
    scanning them over and over doubled the time (10,000 hosts).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(location)
    finally:
        if enabled:
            gc.enable()


def _load(location: str) -> tuple[Inventory, list[Diagnostic]]:
    chk = _Checker()
    src = _load_sources(location, chk)
    if not src.hosts and not src.broken and not src.bad_hosts and src.files:
        chk.error(Mark(src.files[0], 1, 1), "the inventory defines no hosts; add one")
    groups, defaults = src.groups, src.defaults
    for ent in [*src.hosts.values(), *groups.values(), *([defaults] if defaults else [])]:
        _check_entity(ent, chk)
    _check_group_refs([*src.hosts.values(), *groups.values()], groups, src, chk)
    _check_cycles(groups, chk)

    members: dict[str, set[str]] = {g: set() for g in groups}
    hosts: dict[str, Host] = {}
    placed: list[_Placed] = []
    rid_marks: dict[str, _At] = {}
    memo: dict[str, dict[str, dict[str, Any]]] = {}
    tails: dict[tuple[str, ...], tuple[dict[str, _Found | None], dict[str, _Found]]] = {}
    lineages: dict[tuple[str, ...], list[Entity]] = {}
    incomplete = bool(src.broken & {"groups", "defaults"})
    for name, ent in src.hosts.items():
        gs = ent.fields.get("groups")
        gkey = tuple(g for g in gs if isinstance(g, str)) if isinstance(gs, list) else ()
        above = lineages.get(gkey)
        if above is None:
            above = lineages[gkey] = _lineage(ent, groups)[1:]
        lineage = [ent, *above]
        for g in above:
            members[g.name].add(name)
        unresolved = isinstance(gs, list) and any(
            isinstance(g, str) and g not in groups for g in gs
        )
        host = _build_host(
            ent,
            lineage,
            groups,
            defaults,
            chk,
            placed,
            rid_marks,
            incomplete or unresolved,
            memo,
            tails,
        )
        if host is not None:
            hosts[name] = host
    clashes = _check_same_address(placed, chk)
    by_host: dict[str, list[_Placed]] = {}
    for p in placed:
        by_host.setdefault(p.host, []).append(p)
    for name, ps in by_host.items():
        if len(ps) > 1:
            _check_overlaps(name, ps, chk)
    _check_router_ids(hosts, rid_marks, clashes, chk)

    diags = _finish(chk)
    if any(d.severity == "error" for d in diags):
        raise InventoryError(diags)
    inv = Inventory(
        hosts=hosts,
        group_members={g: frozenset(m) for g, m in members.items()},
        sources=src.files,
    )
    return inv, diags


def _finish(chk: _Checker) -> list[Diagnostic]:
    """Deduplicated, sorted, one line each, and no follow-on error where YAML failed."""
    out: dict[tuple[Mark, str, str, str | None, str | None], Diagnostic] = {}
    for d in chk.diags:
        if d.mark in chk.yaml_marks and id(d) not in chk.yaml_ids and d.severity == "error":
            continue
        clean = Diagnostic(
            Mark(yamlsrc.oneline(d.mark.file), d.mark.line, d.mark.col),
            yamlsrc.oneline(d.message),
            d.severity,
            yamlsrc.oneline(d.host) if d.host is not None else None,
            yamlsrc.oneline(d.key) if d.key is not None else None,
        )
        out.setdefault((clean.mark, clean.message, clean.severity, clean.host, clean.key), clean)
    return sorted(out.values(), key=lambda d: (d.mark, d.severity, d.message))


def _build_host(
    ent: Entity,
    lineage: list[Entity],
    groups: Mapping[str, Entity],
    defaults: Entity | None,
    chk: _Checker,
    placed: list[_Placed],
    rid_marks: dict[str, _At],
    incomplete: bool,
    memo: dict[str, dict[str, dict[str, Any]]],
    tails: dict[tuple[str, ...], tuple[dict[str, _Found | None], dict[str, _Found]]],
) -> Host | None:
    name = ent.name
    # What the host's groups and the defaults give is the same for every host with the
    # same groups: resolved once per distinct lineage.
    tail_key = tuple(g.name for g in lineage[1:])
    tail = tails.get(tail_key)
    if tail is None:
        chain = [*lineage[1:], *([defaults] if defaults else [])]
        found = {k: _resolve(chain, k) for k in HOST_FIELDS}
        tail = tails[tail_key] = (found, _resolve_data(chain))
    tail_fields, tail_data = tail

    def get(key: str) -> Any:
        own = ent.fields.get(key)
        if own is not None:
            return own
        f = tail_fields[key]
        return f.value if f is not None else None

    platform = get("platform")
    if platform is None:
        if not incomplete:
            chk.error(
                ent.mark(key=True),
                f"host {name!r} has no platform; set platform: to one of"
                f" {', '.join(platforms.names())} (on the host, a group or defaults)",
                name,
                "platform",
            )
        return None
    rules = platforms.lookup(platform) if isinstance(platform, str) else None
    if rules is None:
        return None  # reported where it is written
    data = _resolve_data([ent])
    for k, f in tail_data.items():
        data.setdefault(k, f)
    allow = data.get("allow_subnet_loopbacks")
    loopbacks: list[Loopback] = []
    lbf = data.get("loopbacks")
    mine: list[_Placed] = []
    if lbf is not None and isinstance(lbf.value, list):
        loopbacks, mine = _build_loopbacks(
            name, rules, lbf, allow is not None and allow.value is True, chk
        )
        placed.extend(mine)
    rid_found = data.get("router_id")
    router_id = None
    if rid_found is not None and isinstance(rid_found.value, str):
        try:
            router_id = ipaddress.IPv4Address(rid_found.value)
        except ValueError:
            router_id = None
    if rid_found is not None and router_id is not None:
        rid_marks[name] = rid_found.at()
    else:
        v4 = [p for p in mine if p.address.version == 4]
        top = max(v4, key=lambda p: p.address.ip) if v4 else None
        rid_marks[name] = top.at if top else _At(ent, ())
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
        connection_options=_resolve_connection_options(ent, groups, defaults, frozenset(), memo),
        loopbacks=tuple(loopbacks),
        router_id=router_id,
        purge=purge is not None and purge.value is True,
    )


def iter_errors(diags: list[Diagnostic]) -> Iterator[Diagnostic]:
    """The errors among `diags`."""
    return (d for d in diags if d.severity == "error")
