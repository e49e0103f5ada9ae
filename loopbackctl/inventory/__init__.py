"""Inventory: Nornir SimpleInventory files → validated `Inventory`, or every error at once.

`load` reads the files, checks each host, group and the defaults as written, resolves
each host through its groups and the defaults (the way Nornir does), decides whether
loopbackctl manages it (a platform it drives), checks a managed host's loopbacks against
its platform, loopbackctl's settings where they are read, then the fleet-wide rules.
Every host loads: one loopbackctl does not manage is kept, with the reason. Every problem is a
Diagnostic naming FILE:LINE:COL, host and key; all of them are reported in one run, and
InventoryError is raised if any is an error.

The modules, in the order data flows through them:
- yamlsrc: YAML → plain data, keeping the line and column of every key and value;
- scalars: plain scalars read as YAML 1.2, as Nornir's loader reads them;
- sources: the files → entities (hosts, groups, defaults as written);
- schema: the fields an entity may hold, and the checks on one entity's Nornir fields;
- groups: the group graph (lineage, unknown groups, cycles);
- resolve: Nornir's inheritance (host → groups → defaults, connection options);
- settings: loopbackctl's own keys under data (or data.loopbackctl) beside other tools';
- loopbacks: a host's loopbacks and addresses against its platform's capabilities;
- hosts: each host built into the model: a managed `Host`, or an `Unmanaged` and why;
- yaml11: warnings where YAML 1.1 would read a value loopbackctl uses differently;
- clashes: the fleet-wide rules (an address on two devices, overlaps, router-ids);
- diagnostics: collecting, deduplicating and sorting the diagnostics;
- view: every resolved value with where it came from (`loopbackctl inventory`).
Only what this module exports is meant for use outside the package.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

from loopbackctl.errors import Diagnostic, InventoryError, Mark
from loopbackctl.inventory import clashes, groups, schema, settings, sources, yaml11
from loopbackctl.inventory.diagnostics import Diagnostics
from loopbackctl.inventory.hosts import BuiltHosts, build_hosts
from loopbackctl.inventory.loopbacks import PlacedAddress
from loopbackctl.inventory.resolve import connection_parameters
from loopbackctl.inventory.sources import ENV_INVENTORY, Entity, Sources, default_path
from loopbackctl.inventory.view import Explainer
from loopbackctl.model import Inventory

__all__ = [
    "ENV_INVENTORY",
    "connection_parameters",
    "default_path",
    "explain",
    "iter_errors",
    "load",
]


def load(location: str) -> tuple[Inventory, list[Diagnostic]]:
    """Load and validate; raise InventoryError listing every problem, else return warnings.

    Diagnostics are sorted by file, line and column; where YAML itself failed, no
    follow-on error is added. The cyclic garbage collector is paused while loading: the
    hundreds of thousands of small objects of a large inventory are all kept, and
    scanning them over and over doubled the time (10,000 hosts).
    """
    inv, found, _ = _paused(location)
    return inv, found


def explain(location: str) -> tuple[Inventory, list[Diagnostic], Explainer]:
    """`load`, and an Explainer that shows where each host's values come from."""
    return _paused(location)


def _paused(location: str) -> tuple[Inventory, list[Diagnostic], Explainer]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(location)
    finally:
        if enabled:
            gc.enable()


def _load(location: str) -> tuple[Inventory, list[Diagnostic], Explainer]:
    diags = Diagnostics()
    src = sources.read(location, diags)
    _check_entities(src, diags)
    built = build_hosts(src, diags)
    _check_settings(src, built, diags)
    _check_fleet(built, diags)
    found = diags.finish()
    if any(d.severity == "error" for d in found):
        raise InventoryError(found)
    inv = Inventory(
        hosts=built.hosts,
        group_members={g: frozenset(m) for g, m in built.members.items()},
        sources=src.files,
        unmanaged=built.unmanaged,
        order=tuple(built.order),
    )
    return inv, found, Explainer(src, built)


def _entities(src: Sources) -> list[Entity]:
    defaults = [src.defaults] if src.defaults else []
    return [*src.hosts.values(), *src.groups.values(), *defaults]


def _check_entities(src: Sources, diags: Diagnostics) -> None:
    """What can be checked on hosts, groups and defaults as written."""
    if not src.hosts and not src.broken and not src.bad_hosts and src.files:
        diags.error(Mark(src.files[0], 1, 1), "the inventory defines no hosts; add one")
    for ent in _entities(src):
        schema.check_entity(ent, diags)
        settings.check_namespace(ent, diags)
    groups.check_references([*src.hosts.values(), *src.groups.values()], src, diags)
    groups.check_cycles(src.groups, diags)


def _check_settings(src: Sources, built: BuiltHosts, diags: Diagnostics) -> None:
    """loopbackctl's settings written directly under data, where loopbackctl reads them:
    in entities a managed host reads them from, or that no host reads at all; and the
    values YAML 1.1 would read differently."""

    def reads_direct(ent: Entity) -> bool:
        if id(ent) in built.read:
            return id(ent) in built.read_direct
        return not settings.namespaced(ent)

    entities = _entities(src)
    for ent in entities:
        if reads_direct(ent):
            settings.check_direct(ent, diags)
    yaml11.warn(entities, reads_direct, diags)


def _check_fleet(built: BuiltHosts, diags: Diagnostics) -> None:
    """The rules over every host at once."""
    reported = clashes.check_same_address(built.placed, diags)
    by_table: dict[tuple[str, str | None], list[PlacedAddress]] = {}
    for p in built.placed:
        by_table.setdefault((p.host, p.vrf), []).append(p)
    for (name, _), ps in by_table.items():
        if len(ps) > 1:
            clashes.check_overlaps(name, ps, diags)
    clashes.check_router_ids(built.hosts, built.router_id_marks, reported, diags)


def iter_errors(diags: list[Diagnostic]) -> Iterator[Diagnostic]:
    """The errors among `diags`."""
    return (d for d in diags if d.severity == "error")
