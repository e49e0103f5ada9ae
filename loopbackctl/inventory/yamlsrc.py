"""Safe YAML reading that keeps the file, line and column of every key and value.

Contract of `load`:
- only YAML's standard scalar, list and mapping tags are accepted (nothing constructs an
  object); a value that does not fit its explicit tag (`!!int abc`) is an error;
- duplicate keys are errors (the first one is kept), and so are non-scalar keys;
- aliases are never expanded: an alias shares the anchored value, and a document whose
  aliases *would* expand past MAX_NODES + 10 values per value written (so anything that
  later walks the data stays linear in the file's size), or that nests deeper than
  MAX_DEPTH, is refused while it is read; recursive aliases are refused;
- nothing in the file, however broken, raises: every problem becomes a Diagnostic.

Events come from libyaml when PyYAML has it (yaml.CSafeLoader's parser, no recursion in
our own composition), else from PyYAML's pure-Python parser; both give the same result.
Plain scalars are resolved as YAML 1.2, the way Nornir's loader reads them (see scalars);
where YAML 1.1 would have read a value differently, `Document.yaml11` keeps that reading.

Two passes: a file is read first without marks (the fast pass: most files are clean, and
marks cost time and memory); a clean file's marks are read by a second, marked pass only
when a diagnostic asks for one (`Document.mark`). A file the fast pass gives up on is read
by the marked pass at once, which reports its problems. Both passes give the same data
(tests/test_inventory_yaml_passes.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.resolver import Resolver

from loopbackctl.errors import Diagnostic, Mark
from loopbackctl.inventory import scalars
from loopbackctl.inventory.scalars import BOOL, FLOAT, INT, MERGE, NULL, STR, TIMESTAMP, VALUE
from loopbackctl.values import CONTROL, oneline

Path = tuple[str | int, ...]
# Maps a path inside a document to the (host, key) a diagnostic there should name.
Locator = Callable[[Path], tuple[str | None, str | None]]

MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_BYTES = 64 * 1024 * 1024

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_Y = "tag:yaml.org,2002:"
_SEQ, _MAP = _Y + "seq", _Y + "map"
_NONSPECIFIC = (None, "!")
# First characters for which YAML 1.1 may resolve a plain scalar to something other than
# a string (a superset of YAML 1.2's); any other plain scalar, and every quoted one, is a
# string in both without asking.
_RESOLVING = frozenset(k for k in Resolver.yaml_implicit_resolvers if k)
_WILDCARD = None in Resolver.yaml_implicit_resolvers
# Keys whose values are secrets: no message ever quotes them.
SECRET_KEYS = frozenset({"password", "secret", "passphrase", "key_passphrase"})


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_Y) :] if tag.startswith(_Y) else tag


@dataclass
class Document:
    """A YAML file as plain Python data plus the (line, col) of its values and keys.

    `empty` when the file holds no value at all (then `data` is None). Marks count from 1.
    """

    file: str
    data: Any = None
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    # Plain scalars that YAML 1.1 reads differently: path -> what YAML 1.1 reads there.
    yaml11: dict[Path, Any] = field(default_factory=dict)
    empty: bool = False
    # Some key or string value holds a control character or line break (values.CONTROL).
    has_control: bool = False
    # Set while marks are still to be read: a clean file is parsed once without them, and
    # again with them only if a diagnostic needs one.
    remark: Callable[[Document], None] | None = field(default=None, repr=False)

    def mark(self, path: Path, *, key: bool = False) -> Mark:
        """The mark of `path` (its key when `key`), else of its nearest ancestor."""
        if self.remark is not None:
            remark, self.remark = self.remark, None
            remark(self)
        table = self.keys if key else self.values
        for n in range(len(path), -1, -1):
            sub = path[:n]
            found = table.get(sub) or self.values.get(sub)
            if found is not None:
                return Mark(self.file, found[0], found[1])
        return Mark(self.file, 1, 1)


class _Refused(Exception):
    """Reading stops: the document is unsafe to hold (bomb, recursion, depth)."""


class _NeedMarks(Exception):
    """The quick pass met a problem: read the file again, keeping marks, to report it."""


class _Dropped:
    """A path element under a duplicate or invalid key: its marks are kept apart."""

    def __repr__(self) -> str:
        return "<dropped>"


# The value of an anchor whose collection is still being read (an alias to it recurses).
_ANCHOR_IN_PROGRESS = object()
# The pending key of a mapping when it is YAML's merge key (<<).
_MERGE_KEY = object()


class _OpenCollection:
    """A list or mapping being read: its value so far, its place, and the size and depth
    its aliases expand to (checked against MAX_NODES and MAX_DEPTH)."""

    __slots__ = (
        "anchor",
        "bad",
        "depth",
        "is_map",
        "key",
        "key_mark",
        "merges",
        "path",
        "size",
        "value",
    )

    def __init__(self, is_map: bool, path: Path, anchor: str | None, bad: bool) -> None:
        self.is_map = is_map
        self.path = path
        self.value: Any = {} if is_map else []
        self.key: Any = None  # pending key of a mapping; None when a key is expected
        self.key_mark: tuple[int, int] = (1, 1)
        self.merges: list[tuple[Any, tuple[int, int]]] = []
        self.anchor = anchor
        self.bad = bad
        self.size = 1
        self.depth = 1


class _Composer:
    """Events → plain data with marks; one pass, an explicit stack, no recursion."""

    def __init__(
        self, file: str, diags: list[Diagnostic], locate: Locator | None, marks: bool = True
    ) -> None:
        self.marks = marks  # False: a quick first pass that gives up on any problem
        self.file = file
        self.diags = diags
        self.locate = locate
        self.doc = Document(file)
        self.anchors: dict[str, Any] = {}
        self.stack: list[_OpenCollection] = []
        self.root: Any = None
        self.empty = True
        self.documents = 0
        self.events = 0
        self.raw_key = ""
        self.at = (1, 1)

    # -- reporting

    def error(self, at: tuple[int, int], message: str, path: Path | None = None) -> None:
        if not self.marks:
            raise _NeedMarks
        host, key = self.locate(path) if self.locate and path is not None else (None, None)
        self.diags.append(
            Diagnostic(Mark(self.file, at[0], at[1]), oneline(message), "error", host, key)
        )

    # -- scalars

    def scalar(self, ev: ScalarEvent, at: tuple[int, int], path: Path | None, key: bool) -> Any:
        """The value of a scalar: plain ones resolved as YAML 1.2 (see scalars); a value
        YAML 1.1 reads differently is noted in `yaml11` (not for keys)."""
        tag = ev.tag
        value: str = ev.value
        plain = tag is None and ev.implicit[0]
        if plain:
            tag = scalars.resolve(value)
        elif tag in _NONSPECIFIC:
            tag = STR
        if tag == STR or tag in (MERGE, VALUE):
            read: Any = value
        elif tag == NULL:
            read = None
        elif tag in (INT, FLOAT, BOOL, TIMESTAMP):
            try:
                read = scalars.construct(tag, value)
            except ValueError:
                secret = path is not None and len(path) > 0 and path[-1] in SECRET_KEYS
                shown = "the value" if secret else repr(value)
                self.error(
                    at,
                    f"{shown} is not a valid {short_tag(tag)}; fix the value or drop the tag",
                    path,
                )
                return None
        else:
            self.error(
                at,
                f"YAML tag {short_tag(tag)!r} is not allowed (tags can construct objects);"
                " write a plain value",
                path,
            )
            return None
        if plain and not key and path is not None:
            found = scalars.yaml11(value, tag, read)
            if scalars.differs(found):
                self.doc.yaml11[path] = found
        return read

    # -- structure

    def child_path(self) -> Path | None:
        """The path of the next value, or None at the top."""
        if not self.stack:
            return ()
        f = self.stack[-1]
        if f.is_map:
            if f.key is None:
                return None  # a key, not a value
            if f.key is _MERGE_KEY:
                return (*f.path, _Dropped())  # type: ignore[arg-type]
            return (*f.path, f.key)
        return (*f.path, len(f.value))

    def add(self, value: Any, size: int, depth: int, at: tuple[int, int], scalar: bool) -> None:
        """Attach a finished value (or a key) to the innermost open collection."""
        if not self.stack:
            self.root = value
            self.empty = scalar and value is None and self.raw_key == ""
            return
        f = self.stack[-1]
        f.size += size
        if f.size > MAX_NODES + 10 * self.events:
            raise _Refused(
                f"YAML aliases expand to {f.size}+ values from {self.events} written"
                " (an alias bomb?); write the values out or use fewer nested aliases"
            )
        if depth + 1 > f.depth:
            f.depth = depth + 1
        if len(self.stack) + depth > MAX_DEPTH:
            raise _Refused(f"values nest deeper than {MAX_DEPTH} levels; flatten the data")
        if not f.is_map:
            f.value.append(value)
            return
        if f.key is None:
            self.take_key(f, value, at, scalar)
            return
        key, f.key = f.key, None
        if key is _MERGE_KEY:
            f.merges.append((value, at))
        elif not isinstance(key, _Dropped):
            f.value[key] = value

    def take_key(self, f: _OpenCollection, key: Any, at: tuple[int, int], scalar: bool) -> None:
        f.key_mark = at
        if key is _MERGE_KEY:
            f.key = key
            return
        if not scalar:
            self.error(at, "a mapping key must be a plain scalar, not a list or mapping", f.path)
            f.key = _Dropped()
            return
        if isinstance(key, bool) or not isinstance(key, str | int):
            key = self.raw_key
        path = (*f.path, key)
        if key in f.value:
            first = self.doc.keys.get(path)
            where = f" (first at line {first[0]})" if first else ""
            self.error(
                at,
                f"duplicate key {key!r}{where}; YAML would silently keep only the last one:"
                " remove or rename one of them",
                path,
            )
            f.key = _Dropped()
            return
        f.key = key
        self.doc.keys[path] = at

    def start(self, ev: Any, is_map: bool) -> None:
        path = self.child_path()
        at = (ev.start_mark.line + 1, ev.start_mark.column + 1)
        if path is None:  # a collection used as a key
            path = (*self.stack[-1].path, _Dropped())  # type: ignore[arg-type]
        else:
            self.doc.values[path] = at
        tag = ev.tag
        bad = tag not in _NONSPECIFIC and tag != (_MAP if is_map else _SEQ)
        if bad:
            self.error(
                at,
                f"YAML tag {short_tag(tag)!r} is not allowed (tags can construct objects);"
                f" write a plain {'mapping' if is_map else 'list'}",
                path,
            )
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(f"values nest deeper than {MAX_DEPTH} levels; flatten the data")
        if ev.anchor is not None:
            self.anchors[ev.anchor] = _ANCHOR_IN_PROGRESS
        frame = _OpenCollection(is_map, path, ev.anchor, bad)
        frame.key_mark = at
        self.stack.append(frame)

    def end(self) -> None:
        f = self.stack.pop()
        if f.is_map:
            self.merge(f)
        value = None if f.bad else f.value
        if f.anchor is not None:
            self.anchors[f.anchor] = (value, f.size, f.depth)
        at = self.doc.values.get(f.path, f.key_mark)
        self.add(value, f.size, f.depth, at, scalar=False)

    def merge(self, f: _OpenCollection) -> None:
        """YAML merge keys (<<), in the order ruamel.yaml (Nornir's loader) gives: the
        merged keys first (the sources' keys, last source first; an earlier source's
        value wins), then the keys written in the mapping, whose values win."""
        if not f.merges:
            return
        merged: dict[Any, Any] = {}
        for source, at in f.merges:
            sources = source if isinstance(source, list) else [source]
            if not all(isinstance(src, dict) for src in sources):
                self.error(at, "a merge key (<<) needs a mapping or a list of them", f.path)
            for src in reversed([src for src in sources if isinstance(src, dict)]):
                for k, v in src.items():
                    merged[k] = v
                    self.doc.values.setdefault((*f.path, k), at)
                    self.doc.keys.setdefault((*f.path, k), at)
        f.value = {**merged, **f.value}

    def alias(self, ev: AliasEvent, at: tuple[int, int]) -> None:
        found = self.anchors.get(ev.anchor or "")
        path = self.child_path()
        if found is None:
            self.error(at, f"alias *{ev.anchor} has no anchor &{ev.anchor} before it", path)
            self.add(None, 1, 1, at, scalar=True)
            return
        if found is _ANCHOR_IN_PROGRESS:
            raise _Refused(
                f"alias *{ev.anchor} refers to a value that contains it (a recursive alias);"
                " write the value out"
            )
        value, size, depth = found
        self.raw_key = "" if isinstance(value, dict | list) else str(value)
        if path is not None:
            self.doc.values[path] = at
        self.add(value, size, depth, at, scalar=not isinstance(value, dict | list))

    def feed(self, events: Any) -> None:
        """Compose `events`. The fast path inlines what most files hold (untagged,
        unanchored plain strings and collections), without a method call per event: it
        serves the 10,000-host target. Every other event goes to the general methods
        above, which give the same result for what the fast path takes."""
        stack = self.stack
        values = self.doc.values
        keys = self.doc.keys
        control = CONTROL.search
        resolving = _RESOLVING
        marks = self.marks
        n = self.events
        at = (1, 1)
        for ev in events:
            n += 1
            cls = ev.__class__
            if marks:
                mark = ev.start_mark
                at = (mark.line + 1, mark.column + 1)
            if cls is ScalarEvent:
                value = ev.value
                if control(value):
                    self.doc.has_control = True
                # Fast path, the common case: an untagged, unanchored string in a collection.
                if (
                    stack
                    and ev.tag is None
                    and ev.anchor is None
                    and (
                        not ev.implicit[0]
                        or (
                            value
                            and (
                                value[0] not in resolving
                                # No YAML 1.1 type but str has a "/" or two dots.
                                or "/" in value
                                or value.count(".") > 1
                            )
                        )
                    )
                    and not _WILDCARD
                    and len(stack) < MAX_DEPTH
                ):
                    f = stack[-1]
                    if not f.is_map:
                        if marks:
                            values[(*f.path, len(f.value))] = at
                        f.value.append(value)
                        f.size += 1
                        f.depth = f.depth if f.depth > 1 else 2
                        continue
                    key = f.key
                    if key is None:
                        if value not in f.value and value != "<<":
                            f.key = value
                            if marks:
                                f.key_mark = at
                                keys[(*f.path, value)] = at
                            f.size += 1
                            f.depth = f.depth if f.depth > 1 else 2
                            continue
                    elif key is not _MERGE_KEY and key.__class__ is not _Dropped:
                        if marks:
                            values[(*f.path, key)] = at
                        f.value[key] = value
                        f.key = None
                        f.size += 1
                        continue
                if not marks:
                    at = (ev.start_mark.line + 1, ev.start_mark.column + 1)
                self.at, self.events = at, n
                self.slow_scalar(ev, at)
                continue
            if cls is MappingStartEvent or cls is SequenceStartEvent:
                if stack and ev.tag is None and ev.anchor is None and len(stack) < MAX_DEPTH:
                    g = stack[-1]
                    key = g.key
                    if not g.is_map:
                        path = (*g.path, len(g.value))
                    elif (
                        key is not None and key is not _MERGE_KEY and key.__class__ is not _Dropped
                    ):
                        path = (*g.path, key)
                    else:
                        path = None
                    if path is not None:
                        if marks:
                            values[path] = at
                        f = _OpenCollection(cls is MappingStartEvent, path, None, False)
                        f.key_mark = at
                        stack.append(f)
                        continue
                if not marks:
                    at = (ev.start_mark.line + 1, ev.start_mark.column + 1)
                self.at, self.events = at, n
                self.start(ev, cls is MappingStartEvent)
                continue
            if cls is MappingEndEvent or cls is SequenceEndEvent:
                f = stack[-1]
                if len(stack) > 1 and not f.merges and not f.bad and f.anchor is None:
                    g = stack[-2]
                    key = g.key
                    if not g.is_map or (
                        key is not None and key is not _MERGE_KEY and key.__class__ is not _Dropped
                    ):
                        stack.pop()
                        g.size += f.size
                        if g.depth <= f.depth:
                            g.depth = f.depth + 1
                        if g.size > MAX_NODES + 10 * n or len(stack) + f.depth > MAX_DEPTH:
                            self.at, self.events = at, n
                            stack.append(f)
                            self.end()  # reports it
                            continue
                        if g.is_map:
                            g.value[key] = f.value
                            g.key = None
                        else:
                            g.value.append(f.value)
                        continue
                self.at, self.events = at, n
                self.end()
                continue
            self.at, self.events = at, n
            if cls is AliasEvent:
                self.alias(ev, at)
            elif cls is DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise _Refused(
                        "file holds more than one YAML document (---); keep one per file"
                    )
        self.events = n

    def document(self) -> Document:
        """The Document read: data, emptiness and (in the marked pass) marks."""
        doc = self.doc
        doc.data = self.root
        doc.empty = self.empty
        return doc

    def slow_scalar(self, ev: ScalarEvent, at: tuple[int, int]) -> None:
        path = self.child_path()
        if path is None:  # a key
            f = self.stack[-1]
            if ev.tag in _NONSPECIFIC and ev.value == "<<" and ev.implicit[0]:
                self.take_key(f, _MERGE_KEY, at, True)
                return
            self.raw_key = ev.value
            key = self.scalar(ev, at, f.path, key=True)
            self.take_key(f, key, at, True)
            return
        self.doc.values[path] = at
        self.raw_key = ev.value
        value = self.scalar(ev, at, path, key=False)
        if ev.anchor is not None:
            self.anchors[ev.anchor] = (value, 1, 1)
        self.add(value, 1, 1, at, scalar=True)


def _position(text: str, offset: int, in_bytes: bool) -> tuple[int, int]:
    before = text.encode("utf-8")[:offset].decode("utf-8", "ignore") if in_bytes else text[:offset]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


Fail = Callable[[int, int, str], None]


def load(
    file: str,
    raw: bytes,
    diags: list[Diagnostic],
    *,
    locate: Locator | None = None,
    allow_empty: bool = False,
) -> Document | None:
    """Parse one YAML file; problems go to `diags`. None when nothing usable was read.

    An empty file (nothing but comments) is an error unless `allow_empty`, when it is a
    Document whose `data` is None. `locate` names the host and key of a path, for
    diagnostics about values inside the document.

    A file is read first without marks (the fast pass); its marks are read by a second,
    marked pass only when something asks for one. A file the fast pass cannot take is
    read at once by the marked pass, which reports every problem.
    """

    def fail(line: int, col: int, message: str) -> None:
        diags.append(Diagnostic(Mark(file, line, col), oneline(message)))

    text = _decode(raw, fail)
    if text is None:
        return None
    quick = compose(file, text, [], locate, marks=False)
    if quick is not None:
        doc = quick.document()
        # A partial, not a closure over doc: no reference cycle to wait for the collector.
        doc.remark = functools.partial(_remark, text=text, locate=locate)
    else:
        marked = _read_marked(file, text, diags, locate, fail)
        if marked is None:
            return None
        doc = marked
    if doc.empty and not allow_empty:
        fail(1, 1, "file is empty; it must hold a mapping")
        return None
    return doc


def _decode(raw: bytes, fail: Fail) -> str | None:
    """The file's text (UTF-8, without a byte order mark); None, reported, if it has none."""
    if len(raw) > MAX_BYTES:
        fail(1, 1, f"file is larger than {MAX_BYTES // 2**20} MiB; split it")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "ignore")) + 1
        fail(line, col, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8")
        return None
    return text[1:] if text.startswith("\ufeff") else text


def _read_marked(
    file: str, text: str, diags: list[Diagnostic], locate: Locator | None, fail: Fail
) -> Document | None:
    """The marked pass over a file the fast pass gave up on: every problem reported."""
    composer = _Composer(file, diags, locate)
    try:
        _feed(composer, text)
    except _Refused as exc:
        fail(composer.at[0], composer.at[1], str(exc))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or "cannot parse"
        context = f" {exc.context}" if exc.context else ""
        fail(line, col, f"YAML syntax error: {problem}{context}; fix the indentation or quoting")
        return None
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position, in_bytes=_LOADER is not yaml.SafeLoader)
        fail(
            line,
            col,
            f"character U+{exc.character:04X} is not allowed in a YAML file"
            " (a control character); remove it or write it as an escape in double quotes",
        )
        return None
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        fail(1, 1, f"YAML error: {exc}; fix the file")
        return None
    return composer.document()


def _feed(composer: _Composer, text: str) -> None:
    loader = _LOADER(text)
    try:
        # get_event() returns None after the stream's end: iter() stops there, in C.
        composer.feed(iter(loader.get_event, None))
    finally:
        loader.dispose()


def compose(
    file: str, text: str, diags: list[Diagnostic], locate: Locator | None, *, marks: bool
) -> _Composer | None:
    """One pass over `text`, problems to `diags`. Without `marks` (the fast pass): None at
    the first problem of any kind, and no marks kept; with `marks` (the marked pass): a
    document that cannot be held raises (_Refused, yaml.YAMLError)."""
    composer = _Composer(file, diags, locate, marks=marks)
    try:
        _feed(composer, text)
    except Exception:
        if marks:
            raise
        return None
    return composer


def _remark(doc: Document, *, text: str, locate: Locator | None) -> None:
    """Fill in `doc`'s marks by reading `text` again (it parsed cleanly the first time)."""
    again = compose(doc.file, text, [], locate, marks=True)
    if again is not None:
        doc.values, doc.keys = again.doc.values, again.doc.keys
