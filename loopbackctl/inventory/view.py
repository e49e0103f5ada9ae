"""The inventory as loopbackctl resolved it, every value with where it came from: what
`loopbackctl inventory` shows (as `ansible-inventory --host` does for Ansible).

Per host: managed or not (and why), its groups (as written, and Nornir's extended order),
Nornir's fields, every `data` key, each connection's parameters as Nornir's
`get_connection_parameters` gives them, and for a managed host what loopbackctl's SSH
connection uses (the environment and built-in defaults included). Each value is an
`Origin`al place: "host r1", "group core", "defaults", "environment NAME" or "default",
with FILE:LINE:COL where it is written. Secrets are `***`. Pure: the caller passes the
environment and prints.
"""

from __future__ import annotations

import datetime
import getpass
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loopbackctl.inventory.groups import group_names
from loopbackctl.inventory.hosts import BuiltHosts
from loopbackctl.inventory.resolve import Resolved, Resolver
from loopbackctl.inventory.schema import HOST_FIELDS, NAMESPACE
from loopbackctl.inventory.settings import host_settings
from loopbackctl.inventory.sources import Entity, Sources

SECRET = "***"
# Keys whose values are secrets wherever they appear (data of other tools included).
_SECRET_KEY = re.compile(
    r"pass(word|phrase)?|secret|token|community|credential|psk|(^|_)key$|private", re.I
)
ENV_PASSWORD, ENV_SSH_KEY, ENV_SECRET = (
    "LOOPBACKCTL_PASSWORD",
    "LOOPBACKCTL_SSH_KEY",
    "LOOPBACKCTL_SECRET",
)


@dataclass(frozen=True)
class Value:
    """A resolved value and where it came from; `source` None: set nowhere."""

    value: Any = None
    source: str | None = None
    at: str | None = None  # FILE:LINE:COL, when it is written in a file

    def as_dict(self) -> dict[str, Any]:
        return {"value": plain(self.value), "from": self.source, "at": self.at}


@dataclass
class HostView:
    """One host as resolved (see the module docstring)."""

    name: str
    managed: bool
    platform: str | None
    reason: str | None
    groups: tuple[str, ...]
    extended_groups: tuple[str, ...]
    settings_in: str | None
    fields: dict[str, Value] = field(default_factory=dict)
    data: dict[str, Value] = field(default_factory=dict)
    connection_options: dict[str, dict[str, Value]] = field(default_factory=dict)
    connection: dict[str, Value] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The host's JSON object (README: "The inventory command")."""
        return {
            "name": self.name,
            "managed": self.managed,
            "platform": self.platform,
            "reason": self.reason,
            "groups": list(self.groups),
            "extended_groups": list(self.extended_groups),
            "settings_in": self.settings_in,
            "fields": {k: v.as_dict() for k, v in self.fields.items()},
            "data": {k: v.as_dict() for k, v in self.data.items()},
            "connection_options": {
                c: {k: v.as_dict() for k, v in fs.items()}
                for c, fs in self.connection_options.items()
            },
            "connection": (
                {k: v.as_dict() for k, v in self.connection.items()}
                if self.connection is not None
                else None
            ),
        }


def plain(value: Any) -> Any:
    """`value` as JSON holds it: dates as ISO 8601 text, non-finite floats as YAML
    writes them (.inf, -.inf, .nan), mapping keys as text."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return value


def masked(key: Any, value: Any) -> Any:
    """`value` with every secret (text or number under a key named like one: password,
    secret, token, community, ..._key) replaced by ***."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(key, str) and _SECRET_KEY.search(key) and not isinstance(value, dict | list):
        return SECRET
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(key, v) if isinstance(v, dict | list) else v for v in value]
    return value


def _source(ent: Entity) -> str:
    return "defaults" if ent.kind == "defaults" else f"{ent.kind} {ent.name}"


def _value(found: Resolved | None, key: str) -> Value:
    if found is None:
        return Value()
    mark = found.mark()
    return Value(
        masked(key, found.value), _source(found.owner), f"{mark.file}:{mark.line}:{mark.col}"
    )


class Explainer:
    """Views of the hosts of one loaded inventory."""

    def __init__(self, src: Sources, built: BuiltHosts) -> None:
        self.src = src
        self.built = built
        self.resolver = Resolver(src.groups, src.defaults)

    def views(self, names: list[str], env: Mapping[str, str]) -> list[HostView]:
        """The views of the hosts `names`, in that order; `env` is the environment the
        SSH connection would read (LOOPBACKCTL_PASSWORD, ...)."""
        return [
            _host_view(self.src.hosts[n], self.resolver, self.built, env)
            for n in names
            if n in self.src.hosts
        ]


def _host_view(
    ent: Entity, resolver: Resolver, built: BuiltHosts, env: Mapping[str, str]
) -> HostView:
    above = resolver.groups_above(ent)
    inherited = resolver.inherited(above)
    own = {
        k: Resolved(ent.fields[k], ent, (k,)) for k in HOST_FIELDS if ent.fields.get(k) is not None
    }
    fields = {k: own.get(k) or inherited.fields[k] for k in HOST_FIELDS}
    data = inherited.data_of(ent)
    settings, namespaced = host_settings(data)
    origins = resolver.connection_origins(ent, frozenset())
    host = built.hosts.get(ent.name)
    unmanaged = built.unmanaged.get(ent.name)
    view = HostView(
        name=ent.name,
        managed=host is not None,
        platform=host.platform if host is not None else None,
        reason=unmanaged.reason if unmanaged is not None else None,
        groups=group_names(ent),
        extended_groups=tuple(g.name for g in above),
        settings_in=f"data.{NAMESPACE}" if namespaced else "data",
        fields={k: _value(fields[k], k) for k in HOST_FIELDS},
        data={k: _value(found, k) for k, found in data.items()},
    )
    for cname in dict.fromkeys(["netmiko", *origins]):
        params = origins.get(cname, {})
        view.connection_options[cname] = {
            f: _value(params.get(f) or fields[f], f) for f in HOST_FIELDS
        }
        extras = params.get("extras")
        view.connection_options[cname]["extras"] = (
            _value(extras, "extras") if extras is not None else Value({}, "default")
        )
    if host is not None:
        view.connection = _connection(ent, fields, origins.get("netmiko", {}), env)
        written = view.connection_options["netmiko"]["platform"]
        view.connection["device_type"] = Value(host.platform, written.source, written.at)
        # Where apply reconnects after a change to the address it connects through.
        found = settings.get("management_address")
        view.connection["management_address"] = (
            _value(found, "management_address")
            if found is not None and found.value
            else view.connection["hostname"]
        )
    return view


def _connection(
    ent: Entity,
    fields: Mapping[str, Resolved | None],
    netmiko: Mapping[str, Resolved | None],
    env: Mapping[str, str],
) -> dict[str, Value]:
    """What loopbackctl's SSH connection uses, in transport.credentials.resolve's order:
    netmiko's options, the host's fields, the environment, built-in defaults."""
    found_extras = netmiko.get("extras")
    extras: dict[str, Any] = {}
    if found_extras is not None and isinstance(found_extras.value, dict):
        extras = found_extras.value

    def extra(key: str) -> Value:
        assert found_extras is not None
        return _value(Resolved(extras[key], found_extras.owner, (*found_extras.path, key)), key)

    def first(key: str, *, text: bool) -> Resolved | None:
        for found in (netmiko.get(key), fields.get(key)):
            ok = _filled(found.value) if found is not None and text else found is not None
            if found is not None and ok and found.value:
                return found
        return None

    def env_value(name: str, secret: bool) -> Value | None:
        if not env.get(name):
            return None
        return Value(SECRET if secret else env[name], f"environment {name}")

    hostname, port, username = (
        first(k, text=k != "port") for k in ("hostname", "port", "username")
    )
    found_password = first("password", text=True)
    password = (
        _value(found_password, "password") if found_password else env_value(ENV_PASSWORD, True)
    )
    secret: Value | None = extra("secret") if _filled(extras.get("secret")) else None
    if secret is None:
        secret = env_value(ENV_SECRET, True)
    if secret is None and password is not None:
        secret = Value(SECRET, "the password")
    return {
        "hostname": _value(hostname, "hostname") if hostname else Value(ent.name, "default"),
        "port": _port(port) if port else Value(22, "default"),
        "username": (
            _value(username, "username") if username else Value(getpass.getuser(), "default")
        ),
        "password": password or Value(),
        "key_file": (extra("key_file") if _filled(extras.get("key_file")) else None)
        or env_value(ENV_SSH_KEY, False)
        or Value(),
        "secret": secret or Value(),
        "allow_agent": (
            extra("allow_agent")
            if extras.get("allow_agent") is not None
            else Value(bool(env.get("SSH_AUTH_SOCK")), "environment SSH_AUTH_SOCK")
        ),
    }


def _filled(value: Any) -> bool:
    """Non-empty text: what transport.credentials takes from the inventory."""
    return isinstance(value, str) and bool(value)


def _port(found: Resolved) -> Value:
    v = _value(found, "port")
    return Value(int(v.value), v.source, v.at)
