"""Reading the inventory's files into entities: hosts, groups and defaults as written.

An inventory is a directory in Nornir's SimpleInventory layout (hosts.yaml, optional
groups.yaml and defaults.yaml; .yml too) or one file with top-level `hosts:`, `groups:`
and `defaults:`. Each entity keeps its YAML document and its path there, so any later
check can name FILE:LINE:COL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal

from loopbackctl.errors import Mark
from loopbackctl.inventory import yamlsrc
from loopbackctl.inventory.diagnostics import (
    Diagnostics,
    KeyPath,
    describe,
    did_you_mean,
    keyname,
)
from loopbackctl.inventory.yamlsrc import Document, Path
from loopbackctl.values import CONTROL

ENV_INVENTORY = "LOOPBACKCTL_INVENTORY"

Kind = Literal["host", "group", "defaults"]
# The files of a directory inventory, in reading order, and the kind of entity each holds.
_FILES: dict[str, Kind] = {"hosts": "host", "groups": "group", "defaults": "defaults"}


def default_path() -> str:
    """The inventory location when -i is not given: $LOOPBACKCTL_INVENTORY or ./inventory."""
    return os.environ.get(ENV_INVENTORY) or "inventory"


@dataclass
class Entity:
    """A host, group or the defaults as written, with where it was written."""

    kind: Kind
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
            return keyname(path)
        if self.kind == "group":
            return keyname(("groups", self.name, *path))
        return keyname(("defaults", *path))

    @property
    def title(self) -> str:
        return "defaults" if self.kind == "defaults" else f"{self.kind} {self.name!r}"

    def error(self, diags: Diagnostics, path: KeyPath, msg: str, *, at_key: bool = False) -> None:
        """An error about the value at `path` (about its key when `at_key`)."""
        diags.error(self.mark(*path, key=at_key), msg, self.who, self.key(path))

    def warn(self, diags: Diagnostics, path: KeyPath, msg: str, *, at_key: bool = False) -> None:
        """A warning about the value at `path` (about its key when `at_key`)."""
        diags.warn(self.mark(*path, key=at_key), msg, self.who, self.key(path))


@dataclass
class Sources:
    """Everything the inventory's files define, and what could not be read."""

    hosts: dict[str, Entity] = field(default_factory=dict)
    groups: dict[str, Entity] = field(default_factory=dict)
    defaults: Entity | None = None
    files: tuple[str, ...] = ()
    # What could not be read: its absence must not cause follow-on errors.
    broken: set[str] = field(default_factory=set)
    bad_groups: set[str] = field(default_factory=set)
    bad_hosts: set[str] = field(default_factory=set)


def read(location: str, diags: Diagnostics) -> Sources:
    """The entities of the inventory at `location` (a directory or one file)."""
    path = FsPath(location)
    if path.is_dir():
        return _read_directory(path, diags)
    if not path.exists():
        diags.error(
            Mark(str(path), 1, 1),
            f"no such inventory file or directory; pass -i PATH or set ${ENV_INVENTORY}",
        )
        return Sources(broken={"hosts"})
    return _read_single_file(path, diags)


# ---------------------------------------------------------------- a directory


def _read_directory(path: FsPath, diags: Diagnostics) -> Sources:
    src = Sources()
    files = _directory_files(path)
    if "hosts" not in files:
        diags.error(
            Mark(str(path), 1, 1),
            "inventory directory has no hosts.yaml; create it (Nornir SimpleInventory"
            " layout: hosts.yaml, optional groups.yaml and defaults.yaml)",
        )
        src.broken.add("hosts")
        return src
    src.files = tuple(str(p) for p in files.values())
    for key, p in files.items():
        _read_directory_file(key, p, diags, src)
    return src


def _directory_files(path: FsPath) -> dict[str, FsPath]:
    """hosts, groups and defaults as they exist in `path` (.yaml before .yml)."""
    files: dict[str, FsPath] = {}
    for key in _FILES:
        for ext in ("yaml", "yml"):
            if (path / f"{key}.{ext}").exists():
                files[key] = path / f"{key}.{ext}"
                break
    return files


def _read_directory_file(key: str, p: FsPath, diags: Diagnostics, src: Sources) -> None:
    """One of hosts.yaml, groups.yaml, defaults.yaml into `src`."""
    kind = _FILES[key]
    doc = _read_yaml(p, diags, locate=_locator(kind), allow_empty=key != "hosts")
    if doc is None:
        src.broken.add(key)
        return
    if doc.empty:
        diags.warn(
            Mark(str(p), 1, 1),
            f"{p.name} is empty; Nornir reads it as no {key}: delete it or fill it in",
        )
        return
    if not isinstance(doc.data, dict):
        what = "defaults fields" if key == "defaults" else f"{kind} names to their fields"
        diags.error(
            doc.mark(()),
            f"the file's top level must be a mapping of {what}, not {describe(doc.data)}",
        )
        src.broken.add(key)
        return
    if kind == "host":
        src.hosts = _entities(doc, (), "host", diags, src)
    elif kind == "group":
        src.groups = _entities(doc, (), "group", diags, src)
    else:
        src.defaults = Entity("defaults", "defaults", doc, (), doc.data)


def _locator(kind: Kind) -> yamlsrc.Locator:
    """(host, key) for a path inside hosts.yaml, groups.yaml or defaults.yaml."""
    prefix = "groups" if kind == "group" else "defaults"

    def locate(path: Path) -> tuple[str | None, str | None]:
        if kind == "host" and path:
            return str(path[0]), keyname(path[1:]) or None
        return None, keyname((prefix, *path)) if path else None

    return locate


# ---------------------------------------------------------------- a single file

_SECTIONS = ["hosts", "groups", "defaults"]


def _locate_in_single_file(p: Path) -> tuple[str | None, str | None]:
    if len(p) >= 2 and p[0] == "hosts":
        return str(p[1]), keyname(p[2:]) or None
    return None, keyname(p) or None


def _read_single_file(path: FsPath, diags: Diagnostics) -> Sources:
    src = Sources(files=(str(path),))
    doc = _read_yaml(path, diags, locate=_locate_in_single_file, allow_empty=False)
    if doc is None:
        src.broken.add("hosts")
        return src
    if not isinstance(doc.data, dict):
        diags.error(
            doc.mark(()),
            "the file's top level must be a mapping with 'hosts:' (and optionally"
            f" 'groups:', 'defaults:'), not {describe(doc.data)}",
        )
        src.broken.add("hosts")
        return src
    _check_sections(doc, diags)
    if "hosts" not in doc.data:
        diags.error(doc.mark(()), "the file has no 'hosts:' mapping; add one", None, "hosts")
        src.broken.add("hosts")
    src.hosts = _entities(doc, ("hosts",), "host", diags, src)
    src.groups = _entities(doc, ("groups",), "group", diags, src)
    section = doc.data.get("defaults")
    if isinstance(section, dict):
        src.defaults = Entity("defaults", "defaults", doc, ("defaults",), section)
    elif section is not None:
        diags.error(
            doc.mark(("defaults",)),
            f"'defaults' must be a mapping of fields, not {describe(section)}",
            None,
            "defaults",
        )
        src.broken.add("defaults")
    return src


def _check_sections(doc: Document, diags: Diagnostics) -> None:
    """Top-level keys other than hosts, groups and defaults."""
    for key in doc.data:
        if key not in _SECTIONS:
            diags.error(
                doc.mark((key,), key=True),
                f"unknown top-level key {key!r}; a single-file inventory holds hosts, groups"
                f" and defaults{did_you_mean(str(key), _SECTIONS)}",
                None,
                str(key),
            )


# ---------------------------------------------------------------- both


def _read_yaml(
    path: FsPath, diags: Diagnostics, *, locate: yamlsrc.Locator, allow_empty: bool
) -> Document | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        diags.error(Mark(str(path), 1, 1), f"cannot read the file: {exc.strerror}; check it")
        return None
    before = len(diags.found)
    doc = yamlsrc.load(str(path), raw, diags.found, locate=locate, allow_empty=allow_empty)
    diags.yaml_failed_since(before)
    return doc


def _entities(
    doc: Document, base: Path, kind: Literal["host", "group"], diags: Diagnostics, src: Sources
) -> dict[str, Entity]:
    """The hosts or groups of the mapping at `base`, each checked to be name: mapping."""
    section: Any = doc.data
    for part in base:
        section = section.get(part) if isinstance(section, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        where = f"'{base[0]}'" if base else "the file's top level"
        diags.error(
            doc.mark(base),
            f"{where} must be a mapping of {kind} names to their fields, not {describe(section)}",
        )
        src.broken.add(kind + "s")
        return {}
    out: dict[str, Entity] = {}
    for name, fields in section.items():
        ent = _entity(doc, base, kind, name, fields, diags)
        if ent is not None:
            out[name] = ent
        else:
            (src.bad_groups if kind == "group" else src.bad_hosts).add(str(name))
    return out


def _entity(
    doc: Document,
    base: Path,
    kind: Literal["host", "group"],
    name: Any,
    fields: Any,
    diags: Diagnostics,
) -> Entity | None:
    """One host or group; None, reported, when its name or its fields are unusable."""
    if not isinstance(name, str) or not name or CONTROL.search(name):
        diags.error(
            doc.mark((*base, name), key=True),
            f"{kind} name {name!r} must be non-empty text without control characters;"
            " quote it or rename it",
        )
        return None
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        diags.error(
            doc.mark((*base, name)),
            f"{kind} {name!r} must be a mapping of fields, not {describe(fields)}",
            name if kind == "host" else None,
        )
        return None
    return Entity(kind, name, doc, (*base, name), fields)
