"""Warnings where YAML 1.1 (PyYAML, Ansible) reads a value loopbackctl uses differently
from YAML 1.2 (Nornir's loader, which loopbackctl follows): `username: no`, `port: 010`.

Only values loopbackctl uses are warned about: Nornir's fields, connection options and
the netmiko extras loopbackctl reads, and its own settings where it reads them (other
tools' data is theirs). A value whose YAML 1.2 reading has the wrong type is an error
instead, which says the same (schema.yaml12_hint).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, describe
from loopbackctl.inventory.schema import (
    CONNECTION_FIELDS,
    DATA_FIELDS,
    EXTRAS_FIELDS,
    FIELDS,
    LOOPBACK_FIELDS,
    NAMESPACE,
    FieldType,
    is_a,
)
from loopbackctl.inventory.sources import Entity
from loopbackctl.inventory.yamlsrc import SECRET_KEYS


def warn(
    entities: list[Entity], reads_direct: Callable[[Entity], bool], diags: Diagnostics
) -> None:
    """A warning for each value of `entities` that loopbackctl uses and YAML 1.1 reads
    differently. `reads_direct`: whether loopbackctl reads an entity's settings directly
    under data. Each document's differences are visited once."""
    docs: dict[int, dict[KeyPath, Entity]] = {}
    for ent in entities:
        if ent.doc.yaml11:
            docs.setdefault(id(ent.doc), {})[ent.path] = ent
    for by_path in docs.values():
        doc = next(iter(by_path.values())).doc
        for path, old in doc.yaml11.items():
            owner = next((by_path[path[:n]] for n in (2, 1, 0) if path[:n] in by_path), None)
            if owner is None:
                continue
            ent = owner
            sub = path[len(ent.path) :]
            t = used_type(sub, reads_direct(ent))
            found, value = _value(ent.fields, sub)
            if t is not None and found and is_a(value, t):
                ent.warn(diags, sub, _message(sub, value, old, t))


def used_type(sub: KeyPath, direct: bool) -> FieldType | None:
    """The type loopbackctl reads at `sub` in an entity, or None where it reads nothing."""
    head, rest = (sub[0], sub[1:]) if sub else (None, ())
    if head == "groups" and len(rest) == 1:
        return str
    if head in FIELDS and head not in ("data", "connection_options", "groups") and not rest:
        return FIELDS[str(head)]
    if head == "connection_options" and len(rest) == 2 and rest[1] in CONNECTION_FIELDS:
        return CONNECTION_FIELDS[str(rest[1])]
    if head == "connection_options" and len(rest) == 3 and rest[:2] == ("netmiko", "extras"):
        return EXTRAS_FIELDS.get(str(rest[2]))
    if head == "data" and rest[:1] == (NAMESPACE,):
        return _setting_type(rest[1:])
    if head == "data" and direct and rest[:1] != (NAMESPACE,):
        return _setting_type(rest)
    return None


def _setting_type(sub: KeyPath) -> FieldType | None:
    if not sub or sub[0] not in DATA_FIELDS:
        return None
    if len(sub) == 1:
        return DATA_FIELDS[str(sub[0])]
    if sub[0] != "loopbacks" or len(sub) < 3 or sub[2] not in LOOPBACK_FIELDS:
        return None
    if len(sub) == 3:
        return LOOPBACK_FIELDS[str(sub[2])]
    if len(sub) == 4 and sub[2] in ("addresses", "absent_addresses"):
        return str
    return None


def _value(fields: Any, sub: KeyPath) -> tuple[bool, Any]:
    value = fields
    for part in sub:
        found = (isinstance(value, dict) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and part < len(value)
        )
        if found:
            value = value[part]
        else:
            return False, None
    return True, value


def _message(sub: KeyPath, new: Any, old: Any, t: FieldType) -> str:
    key = next((p for p in reversed(sub) if isinstance(p, str)), "value")
    if key in SECRET_KEYS:
        return (
            f"the {key} is read differently by YAML 1.2 (as Nornir and loopbackctl read it)"
            " and YAML 1.1 (PyYAML, Ansible); quote it"
        )
    if t is str:
        fix = f'quote it: "{new}"'
    elif isinstance(new, str) and isinstance(old, bool):
        fix = f'quote it ("{new}") if text is meant, or write {str(old).lower()}'
    elif isinstance(new, int) and isinstance(old, int):
        octal = f"{'-' if old < 0 else ''}0o{abs(old):o}"
        fix = f"write {new} without the leading zero (or {octal} for octal)"
    else:
        fix = f'quote it ("{new}") if text is meant' if isinstance(new, str) else "quote it"
    return (
        f"{key} is read as {describe(new)} (YAML 1.2, as Nornir and loopbackctl read it);"
        f" a YAML 1.1 reader such as PyYAML or Ansible reads {describe(old)}: {fix}"
    )
