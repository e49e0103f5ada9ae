"""loopbackctl's own settings under `data`, and how they share `data` with other tools.

Two forms, chosen per host after Nornir's resolution:
- namespaced: when the host's resolved `data.loopbackctl` is a mapping, every setting is
  read from it (it resolves whole, as any `data` key does in Nornir), and every other key
  under `data` belongs to other tools — even one named `loopbacks`;
- direct: otherwise the settings are read from `data` itself (`data.loopbacks`, ...),
  and the other keys there belong to other tools. A key one small edit away from one of
  ours (`loopback`, `purg`) is a warning with the suggestion; a `data.loopbacks` in
  another tool's layout is an error that says how to avoid the clash.

The settings are checked strictly (unknown keys, types, values) wherever loopbackctl
reads them: a namespace always, the direct form of an entity only where a managed host
reads it (or no host reads it at all).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from loopbackctl.inventory.diagnostics import Diagnostics, KeyPath, describe, did_you_mean
from loopbackctl.inventory.resolve import Resolved
from loopbackctl.inventory.schema import (
    DATA_FIELDS,
    LOOPBACK_FIELDS,
    NAMESPACE,
    check_fields,
    check_strings,
    is_a,
    text,
    wrong_type,
)
from loopbackctl.inventory.sources import Entity
from loopbackctl.values import CONTROL, number

PERSIST_MODES = ("netplan",)
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")


# ---------------------------------------------------------------- per host


def host_settings(data: Mapping[str, Resolved]) -> tuple[dict[str, Resolved], bool]:
    """A host's settings (key → where it resolved), and whether they are namespaced."""
    ns = data.get(NAMESPACE)
    if ns is not None and ns.value is not None:
        if not isinstance(ns.value, dict):
            return {}, True  # reported where it is written
        return {
            k: Resolved(v, ns.owner, (*ns.path, k)) for k, v in ns.value.items() if k in DATA_FIELDS
        }, True
    return {k: found for k, found in data.items() if k in DATA_FIELDS}, False


def namespaced(ent: Entity) -> bool:
    """Whether `ent` itself writes data.loopbackctl."""
    data = ent.fields.get("data")
    return isinstance(data, dict) and data.get(NAMESPACE) is not None


# ---------------------------------------------------------------- per entity


def check_namespace(ent: Entity, diags: Diagnostics) -> None:
    """`ent`'s data.loopbackctl, when it writes one: loopbackctl's alone, checked strictly."""
    data = ent.fields.get("data")
    if not isinstance(data, dict) or data.get(NAMESPACE) is None:
        return
    ns = data[NAMESPACE]
    base = ("data", NAMESPACE)
    if not isinstance(ns, dict):
        ent.error(
            diags,
            base,
            f"data.{NAMESPACE} must be a mapping of loopbackctl's settings"
            f" ({', '.join(DATA_FIELDS)}), not {describe(ns)}",
        )
        return
    check_fields(ent, ns, DATA_FIELDS, base, diags)
    _check_values(ent, ns, base, diags)


def check_direct(ent: Entity, diags: Diagnostics) -> None:
    """The settings `ent` writes directly under data, beside other tools' keys."""
    data = ent.fields.get("data")
    if not isinstance(data, dict):
        return
    own = {k: v for k, v in data.items() if k in DATA_FIELDS}
    for key in data:
        if key not in DATA_FIELDS and key != NAMESPACE:
            close = near_miss(str(key))
            if close is not None:
                ent.warn(
                    diags,
                    ("data", key),
                    f"data key {key!r} is not loopbackctl's and is left to other tools;"
                    f" did you mean {close!r}?",
                    at_key=True,
                )
    if _foreign_layout(ent, own.get("loopbacks"), diags):
        own.pop("loopbacks")
    for key, value in own.items():
        if value is not None and not is_a(value, DATA_FIELDS[key]):
            wrong_type(ent, key, value, DATA_FIELDS[key], ("data", key), diags)
    _check_values(ent, own, ("data",), diags)


def near_miss(key: str) -> str | None:
    """The one of loopbackctl's keys that `key` is a small edit away from (one edit, two
    for long keys; case and -/_ ignored), else None. `route_mask` is not `router_id`."""
    norm = key.lower().replace("-", "_")
    for own in DATA_FIELDS:
        allowed = 2 if len(own) >= 8 else 1
        if abs(len(norm) - len(own)) <= allowed and _distance(norm, own, allowed) <= allowed:
            return own
    return None


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent transpositions, or limit + 1 when above it."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _foreign_layout(ent: Entity, loopbacks: Any, diags: Diagnostics) -> bool:
    """A direct data.loopbacks in another tool's layout (items without a name, with keys
    that are not a loopback's): one error that says how to avoid the clash."""
    if isinstance(loopbacks, list):
        items = [lb for lb in loopbacks if isinstance(lb, dict)]
        foreign = {
            str(k)
            for lb in items
            if "name" not in lb
            for k in lb
            if k not in LOOPBACK_FIELDS and not did_you_mean(str(k), list(LOOPBACK_FIELDS))
        }
        if not foreign:
            return False
        what = f"items with keys {', '.join(sorted(foreign))}"
    elif isinstance(loopbacks, dict):
        what = "a mapping"
    else:
        return False
    ent.error(
        diags,
        ("data", "loopbacks"),
        f"data.loopbacks is loopbackctl's key (a list of loopbacks with name and addresses),"
        f" but here it holds {what}; if another tool owns this key, put loopbackctl's"
        f" settings under data.{NAMESPACE}: (every other key under data is then left to"
        " other tools)",
    )
    return True


# ---------------------------------------------------------------- values


def _check_values(ent: Entity, own: Mapping[str, Any], base: KeyPath, diags: Diagnostics) -> None:
    """The values of loopbackctl's settings `own`, written at `base` in `ent`."""
    if ent.doc.has_control:
        for key, value in own.items():
            check_strings(ent, value, (*base, key), diags)
    persist = text(own.get("persist"))
    if persist is not None and persist not in PERSIST_MODES:
        ent.error(
            diags,
            (*base, "persist"),
            f"unknown persist mode {persist!r}; valid: {', '.join(PERSIST_MODES)}, or leave"
            f" it out for runtime only{did_you_mean(persist, PERSIST_MODES)}",
        )
    _check_netplan_dir(ent, own.get("netplan_dir"), (*base, "netplan_dir"), diags)
    for key in ("connect_timeout", "command_timeout"):
        seconds = number(own.get(key))
        if seconds is not None and not 0 < seconds <= 3600:
            ent.error(
                diags,
                (*base, key),
                f"{key} {seconds} must be more than 0 and at most 3600 seconds",
            )
    _check_router_id(ent, text(own.get("router_id")), (*base, "router_id"), diags)
    _check_management_address(
        ent, text(own.get("management_address")), (*base, "management_address"), diags
    )
    loopbacks = own.get("loopbacks")
    if isinstance(loopbacks, list):
        for i, lb in enumerate(loopbacks):
            _check_loopback_entry(ent, (*base, "loopbacks", i), lb, diags)


def _check_netplan_dir(ent: Entity, ndir: Any, path: KeyPath, diags: Diagnostics) -> None:
    if not isinstance(ndir, str):
        return
    if not CONTROL.search(ndir) and not _SAFE_PATH.fullmatch(ndir):
        ent.error(
            diags,
            path,
            f"netplan_dir {ndir!r} must be an absolute path of letters, digits and ._/+-"
            " (e.g. /etc/netplan)",
        )
    elif ".." in ndir.split("/"):
        ent.error(
            diags, path, f"netplan_dir {ndir!r} must not contain '..'; write the directory itself"
        )


def _check_router_id(ent: Entity, rid: str | None, path: KeyPath, diags: Diagnostics) -> None:
    if rid is None:
        return
    try:
        ipaddress.IPv4Address(rid)
    except ValueError:
        ent.error(
            diags,
            path,
            f"router_id {rid!r} is not an IPv4 address; a router-id is written as one,"
            " e.g. 10.255.0.1",
        )


def _check_management_address(
    ent: Entity, address: str | None, path: KeyPath, diags: Diagnostics
) -> None:
    if address is None:
        return
    try:
        ipaddress.ip_address(address)
    except ValueError:
        ent.error(
            diags,
            path,
            f"management_address {address!r} is not an IP address; write the address apply"
            " reconnects through after changing the one it connects through (no prefix"
            " length), e.g. 10.255.0.1 or 2001:db8::1",
        )


def _check_loopback_entry(ent: Entity, path: KeyPath, lb: Any, diags: Diagnostics) -> None:
    """One item of the loopbacks as written (its addresses are checked per host)."""
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
    state = text(lb.get("state"))
    if state is not None and state not in ("present", "absent"):
        ent.error(diags, (*path, "state"), f"state {state!r} must be present or absent")
