"""The fields an entity may hold, and the checks on one entity as written.

Nornir's fields are checked as Nornir types them; loopbackctl's own keys under `data`
strictly (unknown keys with a "did you mean"), other keys there belong to other tools.
A null value means "not set". Checks here see one host, group or the defaults alone;
what needs inheritance or the whole fleet comes later (hosts.py, clashes.py).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from typing import Any

from loopbackctl import platforms
from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, describe, did_you_mean
from loopbackctl.inventory.sources import Entity
from loopbackctl.inventory.yamlsrc import SECRET_KEYS
from loopbackctl.values import CONTROL, number

FieldType = type | tuple[type, ...]
Schema = Mapping[str, FieldType]
_NUMBER = (int, float)
# Fields Nornir knows, with their types; `groups` is not allowed in defaults.
FIELDS: dict[str, FieldType] = {
    "hostname": str,
    "port": int,
    "username": str,
    "password": str,
    "platform": str,
    "groups": list,
    "data": dict,
    "connection_options": dict,
}
DEFAULTS_FIELDS = {k: t for k, t in FIELDS.items() if k != "groups"}
HOST_FIELDS = ("hostname", "port", "username", "password", "platform")
CONNECTION_FIELDS: dict[str, FieldType] = {
    "hostname": str,
    "port": int,
    "username": str,
    "password": str,
    "platform": str,
    "extras": dict,
}
# loopbackctl's own settings under `data`; other keys there belong to other tools.
DATA_FIELDS: dict[str, FieldType] = {
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
LOOPBACK_FIELDS: dict[str, FieldType] = {
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
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
_PLAINTEXT_PASSWORD = (
    "plaintext password in the inventory; remove it and set LOOPBACKCTL_PASSWORD or use an SSH key"
)

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def type_name(t: FieldType) -> str:
    if isinstance(t, tuple):
        return "a number"
    return _TYPE_NAMES.get(t, t.__name__)


def is_a(value: Any, t: FieldType) -> bool:
    """isinstance, except that a boolean is not an int (YAML's true is not 1)."""
    if isinstance(value, bool) and t is not bool:
        return False
    return isinstance(value, t)


def _text(value: Any) -> str | None:
    """`value` when it is text without control characters (those are reported where they
    are written, once), else None."""
    return value if isinstance(value, str) and not CONTROL.search(value) else None


# ---------------------------------------------------------------- one entity


def check_entity(ent: Entity, diags: Diagnostics) -> None:
    """Everything that can be checked on `ent` alone."""
    fields = ent.fields
    check_fields(ent, fields, DEFAULTS_FIELDS if ent.kind == "defaults" else FIELDS, (), diags)
    if ent.doc.has_control:  # yamlsrc saw a control character somewhere in this file
        _check_strings(ent, fields, (), diags)
    _check_port(ent, fields.get("port"), ("port",), diags)
    _check_platform(ent, fields.get("platform"), ("platform",), diags)
    _check_hostname(ent, fields.get("hostname"), ("hostname",), diags)
    _check_group_names(ent, fields.get("groups"), diags)
    if isinstance(fields.get("password"), str):
        ent.warn(diags, ("password",), _PLAINTEXT_PASSWORD)
    conn = fields.get("connection_options")
    if isinstance(conn, dict):
        for cname, copts in conn.items():
            _check_connection(ent, cname, copts, diags)
    data = fields.get("data")
    if isinstance(data, dict):
        check_fields(ent, data, DATA_FIELDS, ("data",), diags, open_keys=True)
        _check_data(ent, data, diags)


def check_fields(
    ent: Entity,
    mapping: Mapping[Any, Any],
    schema: Schema,
    sub: KeyPath,
    diags: Diagnostics,
    *,
    open_keys: bool = False,
) -> None:
    """Unknown keys (with a "did you mean") and wrong types; null means "not set".

    `open_keys`: keys the schema does not know belong to other tools, unless one is a
    near miss of a known key.
    """
    for key, value in mapping.items():
        path = (*sub, key)
        if key not in schema:
            _unknown_key(ent, key, path, schema, diags, open_keys=open_keys)
        elif (value is not None or key == "groups") and not is_a(value, schema[key]):
            _wrong_type(ent, key, value, schema[key], path, diags)


def _unknown_key(
    ent: Entity, key: Any, path: KeyPath, schema: Schema, diags: Diagnostics, *, open_keys: bool
) -> None:
    hint = did_you_mean(str(key), list(schema))
    if open_keys and not hint:
        return  # data belongs to other tools too
    if not hint and len(path) == 1 and key in DATA_FIELDS:
        hint = f"; loopbackctl's {key!r} goes under data:"
    elif not hint and ent.kind == "defaults" and key == "groups":
        hint = "; defaults cannot have groups (Nornir): set groups on hosts"
    ent.error(
        diags,
        path,
        f"unknown key {key!r} in {ent.title}" + (hint or f"; valid keys: {', '.join(schema)}"),
        at_key=True,
    )


def _wrong_type(
    ent: Entity, key: Any, value: Any, t: FieldType, path: KeyPath, diags: Diagnostics
) -> None:
    if key in SECRET_KEYS:  # never print a secret, not even a wrong one
        ent.error(
            diags,
            path,
            f"{key!r} must be {type_name(t)}, not {type(value).__name__};"
            " quote it (better: remove it and use the environment)",
        )
        return
    hint = ""
    if t is list and isinstance(value, str | int):
        hint = f"; write it as a list: {key}: [{value}]"
    elif t is str and isinstance(value, int | float):
        hint = f'; quote it: {key}: "{value}"'
    ent.error(diags, path, f"{key!r} must be {type_name(t)}, not {describe(value)}{hint}")


def _check_strings(ent: Entity, value: Any, path: KeyPath, diags: Diagnostics) -> None:
    """No string anywhere (key or value) may carry a control character or line break."""
    if isinstance(value, str):
        m = CONTROL.search(value)
        if m:
            ent.error(
                diags,
                path,
                f"value contains control character {m.group()!r}: a line break or control"
                " character could inject a command on a device; remove it",
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(ent, k, (*path, k), diags)
            _check_strings(ent, v, (*path, k), diags)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(ent, v, (*path, i), diags)


def _check_group_names(ent: Entity, groups: Any, diags: Diagnostics) -> None:
    if not isinstance(groups, list):
        return
    for i, g in enumerate(groups):
        if not isinstance(g, str):
            ent.error(diags, ("groups", i), f"a group name must be text, not {describe(g)}")


# ---------------------------------------------------------------- connection fields


def _check_port(ent: Entity, port: Any, path: KeyPath, diags: Diagnostics) -> None:
    if is_a(port, int) and not 1 <= port <= 65535:
        ent.error(diags, path, f"port {port} is out of range; use 1 to 65535 (SSH is 22)")


def _check_platform(ent: Entity, platform: Any, path: KeyPath, diags: Diagnostics) -> None:
    name = _text(platform)
    if name is None or platforms.lookup(name):
        return
    known = platforms.names()
    ent.error(
        diags,
        path,
        f"unknown platform {name!r}{did_you_mean(name, known)} (valid: {', '.join(known)})",
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


def _check_hostname(ent: Entity, hostname: Any, path: KeyPath, diags: Diagnostics) -> None:
    name = _text(hostname)
    if name is None or _is_ip(name):
        return
    if len(name) > 253 or not _HOSTNAME.fullmatch(name):
        ent.error(
            diags,
            path,
            f"hostname {name!r} is neither an IP address nor a DNS name; write the"
            " address or name SSH connects to (letters, digits, '-', '.')",
        )


def _check_connection(ent: Entity, cname: Any, copts: Any, diags: Diagnostics) -> None:
    """The options of one connection plugin (netmiko, napalm, ...)."""
    base = ("connection_options", cname)
    if copts is None:
        return
    if not isinstance(copts, dict):
        ent.error(
            diags,
            base,
            f"connection options for {cname!r} must be a mapping of"
            f" {', '.join(CONNECTION_FIELDS)}, not {describe(copts)}",
        )
        return
    check_fields(ent, copts, CONNECTION_FIELDS, base, diags)
    _check_port(ent, copts.get("port"), (*base, "port"), diags)
    if cname == "netmiko":  # other plugins name platforms their own way
        _check_platform(ent, copts.get("platform"), (*base, "platform"), diags)
    _check_hostname(ent, copts.get("hostname"), (*base, "hostname"), diags)
    if isinstance(copts.get("password"), str):
        ent.warn(diags, (*base, "password"), _PLAINTEXT_PASSWORD)
    extras = copts.get("extras")
    if isinstance(extras, dict):
        _check_secret_extras(ent, extras, (*base, "extras"), diags)


def _check_secret_extras(
    ent: Entity, extras: dict[str, Any], base: KeyPath, diags: Diagnostics
) -> None:
    for secret in SECRET_EXTRAS:
        value = extras.get(secret)
        path = (*base, secret)
        if isinstance(value, str):
            ent.warn(
                diags,
                path,
                f"plaintext {secret} in the inventory; remove it and set LOOPBACKCTL_SECRET",
            )
        elif value is not None:
            ent.error(
                diags,
                path,
                f"{secret!r} must be a string, not {type(value).__name__}; quote it"
                " (better: remove it and use the environment)",
            )


# ---------------------------------------------------------------- loopbackctl's data


def _check_data(ent: Entity, data: dict[str, Any], diags: Diagnostics) -> None:
    """The values of loopbackctl's own keys under `data` (their types are checked)."""
    _check_persist(ent, _text(data.get("persist")), diags)
    _check_netplan_dir(ent, data.get("netplan_dir"), diags)
    for key in ("connect_timeout", "command_timeout"):
        seconds = number(data.get(key))
        if seconds is not None and not 0 < seconds <= 3600:
            ent.error(
                diags,
                ("data", key),
                f"{key} {seconds} must be more than 0 and at most 3600 seconds",
            )
    _check_router_id(ent, _text(data.get("router_id")), diags)
    loopbacks = data.get("loopbacks")
    if isinstance(loopbacks, list):
        for i, lb in enumerate(loopbacks):
            _check_loopback_entry(ent, ("data", "loopbacks", i), lb, diags)


def _check_persist(ent: Entity, persist: str | None, diags: Diagnostics) -> None:
    if persist is not None and persist not in PERSIST_MODES:
        ent.error(
            diags,
            ("data", "persist"),
            f"unknown persist mode {persist!r}; valid: {', '.join(PERSIST_MODES)}, or leave"
            f" it out for runtime only{did_you_mean(persist, PERSIST_MODES)}",
        )


def _check_netplan_dir(ent: Entity, ndir: Any, diags: Diagnostics) -> None:
    if not isinstance(ndir, str):
        return
    if not CONTROL.search(ndir) and not _SAFE_PATH.fullmatch(ndir):
        ent.error(
            diags,
            ("data", "netplan_dir"),
            f"netplan_dir {ndir!r} must be an absolute path of letters, digits and ._/+-"
            " (e.g. /etc/netplan)",
        )
    elif ".." in ndir.split("/"):
        ent.error(
            diags,
            ("data", "netplan_dir"),
            f"netplan_dir {ndir!r} must not contain '..'; write the directory itself",
        )


def _check_router_id(ent: Entity, rid: str | None, diags: Diagnostics) -> None:
    if rid is None:
        return
    try:
        ipaddress.IPv4Address(rid)
    except ValueError:
        ent.error(
            diags,
            ("data", "router_id"),
            f"router_id {rid!r} is not an IPv4 address; a router-id is written as one,"
            " e.g. 10.255.0.1",
        )


def _check_loopback_entry(ent: Entity, path: KeyPath, lb: Any, diags: Diagnostics) -> None:
    """One item of data.loopbacks as written (its addresses are checked per host)."""
    if not isinstance(lb, dict):
        ent.error(
            diags, path, f"a loopback must be a mapping with name and addresses, not {describe(lb)}"
        )
        return
    check_fields(ent, lb, LOOPBACK_FIELDS, path, diags)
    if lb.get("name") is None:
        diags.error(
            ent.mark(*path),
            "loopback has no 'name'; add one (Loopback0 on IOS, lo on Linux)",
            ent.who,
            ent.key((*path, "name")),
        )
    state = _text(lb.get("state"))
    if state is not None and state not in ("present", "absent"):
        ent.error(diags, (*path, "state"), f"state {state!r} must be present or absent")
