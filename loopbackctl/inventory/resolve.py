"""Nornir's inheritance: a host's values from the host, its groups, then the defaults.

Resolution follows Nornir 3 exactly:
- a host field (hostname, port, username, password, platform) is the host's own value,
  else the first non-null value in its extended groups (each group, then its parents,
  depth first, in order, each group once), else the defaults;
- `data` resolves per top-level key the same way (a key written with a null value still
  counts as written);
- connection options resolve per connection name and per field, recursively: the host's
  own, then for each group in order that group's own, its parents' and the defaults',
  then the defaults'; `extras` is taken whole from the first place that sets it.

Every resolved value keeps the entity that wrote it, so a diagnostic names that place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopbackctl.errors import Mark
from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, keyname
from loopbackctl.inventory.groups import group_names, lineage, parents
from loopbackctl.inventory.schema import CONNECTION_FIELDS, HOST_FIELDS
from loopbackctl.inventory.sources import Entity
from loopbackctl.model import Host

ConnectionOptions = dict[str, dict[str, Any]]
# Per connection name and field: where the value resolved (None: set nowhere).
ConnectionOrigins = dict[str, dict[str, "Resolved | None"]]


@dataclass
class Resolved:
    """A value as resolved for a host: the value, the entity that wrote it, and its path
    in that entity (`("data", "loopbacks")`)."""

    value: Any
    owner: Entity
    path: KeyPath

    def mark(self, *sub: str | int, key: bool = False) -> Mark:
        return self.owner.mark(*self.path, *sub, key=key)

    def lazy_mark(self, *sub: str | int) -> LazyMark:
        """Where `sub` is written, resolved to a Mark only if a diagnostic needs it."""
        return LazyMark(self.owner, (*self.path, *sub))

    def error(self, diags: Diagnostics, host: str, sub: KeyPath, msg: str) -> None:
        """An error about `sub` inside this value, on behalf of `host`."""
        diags.error(self.mark(*sub), msg, host, keyname((*self.path, *sub)))


class LazyMark:
    """A place (an entity and a path in it) whose Mark is looked up only when asked for:
    marks cost time, and most values never need one."""

    __slots__ = ("owner", "path")

    def __init__(self, owner: Entity, path: KeyPath) -> None:
        self.owner = owner
        self.path = path

    @property
    def mark(self) -> Mark:
        return self.owner.mark(*self.path)


def resolve_field(chain: list[Entity], key: str) -> Resolved | None:
    """The first non-null `key` along `chain`."""
    for ent in chain:
        v = ent.fields.get(key)
        if v is not None:
            return Resolved(v, ent, (key,))
    return None


def resolve_data(chain: list[Entity]) -> dict[str, Resolved]:
    """`data`, per top-level key, from the first entity along `chain` that writes it."""
    out: dict[str, Resolved] = {}
    for ent in chain:
        data = ent.fields.get("data")
        if not isinstance(data, dict):
            continue
        for k, v in data.items():
            if k not in out:
                out[k] = Resolved(v, ent, ("data", k))
    return out


@dataclass
class Inherited:
    """What a host's groups and the defaults give it, before its own values."""

    fields: dict[str, Resolved | None]
    data: dict[str, Resolved]

    def field(self, ent: Entity, key: str) -> Any:
        """Host field `key` of `ent`: its own value, else the inherited one, else None."""
        own = ent.fields.get(key)
        if own is not None:
            return own
        found = self.fields[key]
        return found.value if found is not None else None

    def data_of(self, ent: Entity) -> dict[str, Resolved]:
        """`ent`'s data: its own keys, then the inherited ones."""
        data = resolve_data([ent])
        for k, found in self.data.items():
            data.setdefault(k, found)
        return data


class Resolver:
    """Resolution for every host of one inventory. What groups and defaults give depends
    only on a host's list of groups, so it is resolved once per distinct list (10,000
    hosts share a few dozen)."""

    def __init__(self, groups: Mapping[str, Entity], defaults: Entity | None) -> None:
        self.groups = groups
        self.defaults = defaults
        self._above: dict[tuple[str, ...], list[Entity]] = {}
        self._inherited: dict[tuple[str, ...], Inherited] = {}
        self._group_connections: dict[str, ConnectionOrigins] = {}

    def groups_above(self, host: Entity) -> list[Entity]:
        """The host's extended groups, in Nornir's order."""
        names = group_names(host)
        above = self._above.get(names)
        if above is None:
            above = self._above[names] = lineage(host, self.groups)[1:]
        return above

    def inherited(self, above: list[Entity]) -> Inherited:
        """What the groups `above` and the defaults give."""
        key = tuple(g.name for g in above)
        found = self._inherited.get(key)
        if found is None:
            chain = [*above, *([self.defaults] if self.defaults else [])]
            fields = {k: resolve_field(chain, k) for k in HOST_FIELDS}
            found = self._inherited[key] = Inherited(fields, resolve_data(chain))
        return found

    def connection_options(self, ent: Entity, trail: frozenset[str]) -> ConnectionOptions:
        """The values of `connection_origins`."""
        return {
            cname: {f: (r.value if r is not None else None) for f, r in fields.items()}
            for cname, fields in self.connection_origins(ent, trail).items()
        }

    def connection_origins(self, ent: Entity, trail: frozenset[str]) -> ConnectionOrigins:
        """Nornir's `_get_connection_options_recursively`, for every connection name at
        once, each field with where it resolved. A group's result does not depend on who
        asks: it is kept by group name."""
        if ent.kind == "group" and ent.name in self._group_connections:
            return self._group_connections[ent.name]
        out: ConnectionOrigins = {}
        _fill_connection_options(out, ent)
        for g in parents(ent, self.groups):
            if g.name not in trail:
                _merge_connection_options(out, self.connection_origins(g, trail | {g.name}))
        if self.defaults is not None:
            _fill_connection_options(out, self.defaults)
        if ent.kind == "group":
            self._group_connections[ent.name] = out  # (a cycle makes the inventory invalid)
        return out


def _fill_connection_options(out: ConnectionOrigins, ent: Entity) -> None:
    """Fields `ent` writes that `out` does not set yet, per connection name."""
    conn = ent.fields.get("connection_options")
    if not isinstance(conn, dict):
        return
    for cname, copts in conn.items():
        if not isinstance(copts, dict):
            continue
        slot = out.setdefault(cname, dict.fromkeys(CONNECTION_FIELDS))
        for f in CONNECTION_FIELDS:
            if slot[f] is None and copts.get(f) is not None:
                slot[f] = Resolved(copts[f], ent, ("connection_options", cname, f))


def _merge_connection_options(out: ConnectionOrigins, other: ConnectionOrigins) -> None:
    """Fields of `other` that `out` does not set yet, per connection name."""
    for cname, fields in other.items():
        slot = out.setdefault(cname, dict.fromkeys(CONNECTION_FIELDS))
        for f, found in fields.items():
            if slot[f] is None:
                slot[f] = found


def connection_parameters(host: Host, connection: str) -> dict[str, Any]:
    """Nornir's `host.get_connection_parameters(connection)` as a dict, for a managed
    host: the connection's resolved options, each missing field taken from the host,
    `extras` defaulting to {}. (`platform` falls back to the platform that drives the
    host, by loopbackctl's name; `loopbackctl inventory` shows Nornir's own value.)"""
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
