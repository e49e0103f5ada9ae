"""The group graph: a host's or group's parents, Nornir's lineage, and its errors
(unknown groups, cycles)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from loopbackctl.inventory.diagnostics import Diagnostics, did_you_mean
from loopbackctl.inventory.sources import Entity, Sources
from loopbackctl.values import CONTROL


def group_names(ent: Entity) -> tuple[str, ...]:
    """The group names `ent` lists, as written (what is not text is reported elsewhere)."""
    gs = ent.fields.get("groups")
    return tuple(g for g in gs if isinstance(g, str)) if isinstance(gs, list) else ()


def _listed(ent: Entity) -> list[Any]:
    gs = ent.fields.get("groups")
    return gs if isinstance(gs, list) else []


def parents(ent: Entity, groups: Mapping[str, Entity]) -> Iterator[Entity]:
    """The groups `ent` lists that exist, in order."""
    for gname in _listed(ent):
        if isinstance(gname, str) and gname in groups:
            yield groups[gname]


def lineage(ent: Entity, groups: Mapping[str, Entity]) -> list[Entity]:
    """The entity, then Nornir's extended groups: depth first, in order, each once."""
    out: list[Entity] = [ent]
    seen: set[str] = {ent.name} if ent.kind == "group" else set()

    def visit(e: Entity) -> None:
        for g in parents(e, groups):
            if g.name not in seen:  # also ends group cycles (reported by check_cycles)
                seen.add(g.name)
                out.append(g)
                visit(g)

    visit(ent)
    return out


def lists_unknown_group(ent: Entity, groups: Mapping[str, Entity]) -> bool:
    return any(isinstance(g, str) and g not in groups for g in _listed(ent))


def check_references(ents: list[Entity], src: Sources, diags: Diagnostics) -> None:
    """Every group a host or group lists must exist."""
    if "groups" in src.broken:
        return  # the groups file could not be read: its names are unknown, not wrong
    groups = src.groups
    for ent in ents:
        for i, gname in enumerate(_listed(ent)):
            if (
                isinstance(gname, str)
                and gname not in groups
                and gname not in src.bad_groups
                and not CONTROL.search(gname)
            ):
                _unknown_group(ent, i, gname, groups, diags)


def _unknown_group(
    ent: Entity, i: int, gname: str, groups: Mapping[str, Entity], diags: Diagnostics
) -> None:
    what = "parent group" if ent.kind == "group" else "group"
    hint = did_you_mean(gname, list(groups))
    known = f" (defined: {', '.join(groups)})" if groups and not hint else ""
    ent.error(
        diags,
        ("groups", i),
        f"unknown {what} {gname!r}"
        + (hint or f"; define it in the groups{known} or remove it here"),
    )


def check_cycles(groups: Mapping[str, Entity], diags: Diagnostics) -> None:
    """A group that is its own ancestor: each cycle reported where it closes."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        g = groups[name]
        for i, parent in enumerate(_listed(g)):
            if not isinstance(parent, str) or parent not in groups:
                continue
            if state.get(parent) == 1:
                cycle = [*trail[trail.index(parent) :], parent]
                diags.error(
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
