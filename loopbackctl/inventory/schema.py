"""The fields an entity may hold, and the checks on one entity as written.

Nornir's fields are checked as Nornir and netmiko read them: a wrong type is an error, a
key Nornir ignores is a warning (with a "did you mean" for a near miss), `port: "22"` is a
warning (netmiko converts it). loopbackctl's own settings (see settings.py) are checked
strictly. A null value means "not set". Checks here see one host, group or the defaults
alone; what needs inheritance or the whole fleet comes later (hosts.py, clashes.py).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from typing import Any

from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, describe, did_you_mean
from loopbackctl.inventory.sources import Entity
from loopbackctl.inventory.yamlsrc import SECRET_KEYS
from loopbackctl.values import CONTROL

FieldType = type | tuple[type, ...]
Schema = Mapping[str, FieldType]
NUMBER = (int, float)
# Fields Nornir reads, with their types; `groups` is not read from the defaults.
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
# loopbackctl's own settings: under data.loopbackctl, or directly under data (settings.py).
NAMESPACE = "loopbackctl"
DATA_FIELDS: dict[str, FieldType] = {
    "loopbacks": list,
    "router_id": str,
    "purge": bool,
    "persist": str,
    "netplan_dir": str,
    "connect_timeout": NUMBER,
    "command_timeout": NUMBER,
    "allow_subnet_loopbacks": bool,
    "local": bool,
    "management_address": str,
}
LOOPBACK_FIELDS: dict[str, FieldType] = {
    "name": str,
    "addresses": list,
    "description": str,
    "shutdown": bool,
    "state": str,
    "absent_addresses": list,
    "anycast": bool,
    "vrf": str,
}
# The netmiko extras loopbackctl reads itself (the others are passed on or ignored).
EXTRAS_FIELDS: dict[str, FieldType] = {
    "key_file": str,
    "allow_agent": bool,
    "secret": str,
    "passphrase": str,
    "key_passphrase": str,
}
SECRET_EXTRAS = ("secret", "passphrase", "key_passphrase")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
PLAINTEXT_PASSWORD = (
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


def digit_port(value: Any) -> int | None:
    """A port written as text of ASCII digits ("22"), as an int; None otherwise."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
        return int(value)
    return None


def text(value: Any) -> str | None:
    """`value` when it is text without control characters (those are reported where they
    are written, once), else None."""
    return value if isinstance(value, str) and not CONTROL.search(value) else None


# ---------------------------------------------------------------- one entity


def check_entity(ent: Entity, diags: Diagnostics) -> None:
    """Everything about Nornir's fields that can be checked on `ent` alone (its `data`
    belongs to loopbackctl and other tools: settings.py)."""
    fields = ent.fields
    schema = DEFAULTS_FIELDS if ent.kind == "defaults" else FIELDS
    for key, value in fields.items():
        if key not in schema:
            _unknown_field(ent, key, schema, diags)
        elif key == "port" and digit_port(value) is not None:
            continue  # a warning of its own, below
        elif (value is not None or key == "groups") and not is_a(value, schema[key]):
            wrong_type(ent, key, value, schema[key], (key,), diags)
    if ent.doc.has_control:  # yamlsrc saw a control character somewhere in this file
        outside_data = {k: v for k, v in fields.items() if k != "data"}
        check_strings(ent, outside_data, (), diags)
    _check_port(ent, fields.get("port"), ("port",), diags)
    _check_hostname(ent, fields.get("hostname"), ("hostname",), diags)
    _check_group_names(ent, fields.get("groups"), diags)
    if isinstance(fields.get("password"), str):
        ent.warn(diags, ("password",), PLAINTEXT_PASSWORD)
    conn = fields.get("connection_options")
    if isinstance(conn, dict):
        for cname, copts in conn.items():
            _check_connection(ent, cname, copts, diags)


def _unknown_field(ent: Entity, key: Any, schema: Schema, diags: Diagnostics) -> None:
    """A key Nornir does not read: a warning (Nornir ignores it), except loopbackctl's own
    settings written beside the fields instead of under `data` (an error: they would be
    silently lost)."""
    if key in DATA_FIELDS or key == NAMESPACE:
        ent.error(
            diags,
            (key,),
            f"unknown key {key!r} in {ent.title}; loopbackctl's {key!r} goes under data:",
            at_key=True,
        )
        return
    if ent.kind == "defaults" and key == "groups":
        hint = "; defaults cannot have groups (Nornir ignores them): set groups on hosts"
    else:
        hint = did_you_mean(str(key), list(schema))
        hint = hint or "; Nornir ignores it (other tools' data goes under data:)"
    ent.warn(diags, (key,), f"unknown key {key!r} in {ent.title}{hint}", at_key=True)


def wrong_type(
    ent: Entity, key: Any, value: Any, t: FieldType, path: KeyPath, diags: Diagnostics
) -> None:
    """A value of the wrong type: an error that says what to write instead."""
    if key in SECRET_KEYS:  # never print a secret, not even a wrong one
        ent.error(
            diags,
            path,
            f"{key!r} must be {type_name(t)}, not {type(value).__name__};"
            " quote it (better: remove it and use the environment)",
        )
        return
    hint = yaml12_hint(ent, path, t)
    if not hint and t is list and isinstance(value, str | int):
        hint = f"; write it as a list: {key}: [{value}]"
    elif not hint and t is str and isinstance(value, int | float):
        hint = f'; quote it: {key}: "{value}"'
    ent.error(diags, path, f"{key!r} must be {type_name(t)}, not {describe(value)}{hint}")


def yaml12_hint(ent: Entity, path: KeyPath, t: FieldType) -> str:
    """Why a value has the wrong type when YAML 1.1 would have read it as `t` (`purge:
    yes`): YAML 1.2, as Nornir reads it, takes it differently."""
    doc_path = (*ent.path, *path)
    if doc_path not in ent.doc.yaml11:
        return ""
    old = ent.doc.yaml11[doc_path]
    if not is_a(old, t):
        return ""
    write = str(old).lower() if isinstance(old, bool) else repr(old)
    return f" (so YAML 1.2 reads it, as Nornir does; YAML 1.1 read {describe(old)}): write {write}"


def check_strings(ent: Entity, value: Any, path: KeyPath, diags: Diagnostics) -> None:
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
            check_strings(ent, k, (*path, k), diags)
            check_strings(ent, v, (*path, k), diags)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_strings(ent, v, (*path, i), diags)


def check_fields(
    ent: Entity, mapping: Mapping[Any, Any], schema: Schema, sub: KeyPath, diags: Diagnostics
) -> None:
    """loopbackctl's own mappings, strictly: unknown keys are errors (with a "did you
    mean"), and so are wrong types; null means "not set"."""
    for key, value in mapping.items():
        path = (*sub, key)
        if key not in schema:
            hint = did_you_mean(str(key), list(schema)) or f"; valid keys: {', '.join(schema)}"
            ent.error(diags, path, f"unknown key {key!r} in {ent.title}{hint}", at_key=True)
        elif value is not None and not is_a(value, schema[key]):
            wrong_type(ent, key, value, schema[key], path, diags)


def _check_group_names(ent: Entity, groups: Any, diags: Diagnostics) -> None:
    if not isinstance(groups, list):
        return
    for i, g in enumerate(groups):
        if not isinstance(g, str):
            ent.error(diags, ("groups", i), f"a group name must be text, not {describe(g)}")


# ---------------------------------------------------------------- connection fields


def _check_port(ent: Entity, port: Any, path: KeyPath, diags: Diagnostics) -> None:
    number = digit_port(port)
    if number is not None:
        ent.warn(
            diags,
            path,
            f"port {port!r} is text; netmiko reads it as the number {number}: write port: {number}",
        )
        port = number
    if is_a(port, int) and not 1 <= port <= 65535:
        ent.error(diags, path, f"port {port} is out of range; use 1 to 65535 (SSH is 22)")


def _is_ip(value: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
            return True
        except (OSError, ValueError):
            pass
    try:  # what inet_pton does not take, e.g. a scoped IPv6 address
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _check_hostname(ent: Entity, hostname: Any, path: KeyPath, diags: Diagnostics) -> None:
    name = text(hostname)
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
    """The options of one connection plugin (netmiko, napalm, scrapli, ...)."""
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
    for key, value in copts.items():
        path = (*base, key)
        if key not in CONNECTION_FIELDS:
            hint = did_you_mean(str(key), list(CONNECTION_FIELDS)) or "; Nornir ignores it"
            ent.warn(diags, path, f"unknown key {key!r} in {ent.title}{hint}", at_key=True)
        elif key == "port" and digit_port(value) is not None:
            continue
        elif value is not None and not is_a(value, CONNECTION_FIELDS[key]):
            wrong_type(ent, key, value, CONNECTION_FIELDS[key], path, diags)
    _check_port(ent, copts.get("port"), (*base, "port"), diags)
    _check_hostname(ent, copts.get("hostname"), (*base, "hostname"), diags)
    if isinstance(copts.get("password"), str):
        ent.warn(diags, (*base, "password"), PLAINTEXT_PASSWORD)
    extras = copts.get("extras")
    if cname == "netmiko" and isinstance(extras, dict):
        _check_extras(ent, extras, (*base, "extras"), diags)


def _check_extras(ent: Entity, extras: dict[str, Any], base: KeyPath, diags: Diagnostics) -> None:
    """The netmiko extras loopbackctl reads itself: their types, and secrets."""
    for key, t in EXTRAS_FIELDS.items():
        value = extras.get(key)
        path = (*base, key)
        if value is None:
            continue
        if not is_a(value, t):
            if key in SECRET_EXTRAS:
                ent.error(
                    diags,
                    path,
                    f"{key!r} must be a string, not {type(value).__name__}; quote it"
                    " (better: remove it and use the environment)",
                )
            else:
                wrong_type(ent, key, value, t, path, diags)
        elif key in SECRET_EXTRAS:
            ent.warn(
                diags,
                path,
                f"plaintext {key} in the inventory; remove it and set LOOPBACKCTL_SECRET",
            )
