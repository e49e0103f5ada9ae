"""Safe YAML reading that keeps the file, line and column of every key and value.

Only YAML's standard tags are accepted (no object construction), duplicate keys are
errors, and aliases are never expanded: a document whose aliases would expand past
MAX_NODES is refused before anything walks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from loopbackctl.errors import Diagnostic, Mark

Path = tuple[str | int, ...]

MAX_NODES = 200_000
MAX_BYTES = 32 * 1024 * 1024

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


@dataclass
class Document:
    """A YAML file as plain Python data plus the marks of its values and keys."""

    file: str
    data: Any = None
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)

    def mark(self, path: Path, *, key: bool = False) -> Mark:
        """The mark of `path` (its key when `key`), else of its nearest ancestor."""
        table = self.keys if key else self.values
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
            if path[:n] in self.values:
                return self.values[path[:n]]
        return Mark(self.file, 1, 1)


def _mark(file: str, m: yaml.Mark | None) -> Mark:
    return Mark(file, m.line + 1, m.column + 1) if m is not None else Mark(file, 1, 1)


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


class _Walker:
    def __init__(self, file: str, diags: list[Diagnostic]) -> None:
        self.file = file
        self.diags = diags
        self.doc = Document(file)
        self.constructor = SafeConstructor()

    def error(self, node: yaml.Node, message: str) -> None:
        self.diags.append(Diagnostic(_mark(self.file, node.start_mark), message))

    def expanded_size(self, node: yaml.Node, memo: dict[int, int]) -> int:
        # Counted on the node graph, memoised by identity: an alias bomb is measured
        # without ever being expanded.
        if id(node) in memo:
            return memo[id(node)]
        memo[id(node)] = 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self.expanded_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                size += self.expanded_size(k, memo) + self.expanded_size(v, memo)
        memo[id(node)] = min(size, MAX_NODES + 1)
        return memo[id(node)]

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self.doc.values[path] = _mark(self.file, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                self.error(node, f"YAML tag {node.tag!r} is not allowed; write a plain value")
                return None
            if node.tag == "tag:yaml.org,2002:timestamp":
                return str(node.value)
            return self.constructor.construct_object(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.error(node, f"YAML tag {node.tag!r} is not allowed; write a plain list")
                return None
            return [self.walk(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.error(node, f"YAML tag {node.tag!r} is not allowed; write a plain mapping")
                return None
            return self.mapping(node, path)
        self.error(node, "unsupported YAML node")
        return None

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        self.error(src, "a merge key (<<) needs a mapping or a list of them")
                        continue
                    for k, v in self.mapping(src, path).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                self.error(key_node, "a mapping key must be a plain scalar")
                continue
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key_node.value)
            if key in result:
                first = self.doc.keys.get((*path, key))
                where = f" (first at line {first.line})" if first else ""
                self.error(
                    key_node,
                    f"duplicate key {key!r}{where}; YAML would silently keep only the last"
                    " one: remove or rename one of them",
                )
                continue
            self.doc.keys[(*path, key)] = _mark(self.file, key_node.start_mark)
            result[key] = self.walk(value_node, (*path, key))
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def load(file: str, raw: bytes, diags: list[Diagnostic]) -> Document | None:
    """Parse one YAML file; problems go to `diags` and the result is None on failure."""
    doc = Document(file)
    if len(raw) > MAX_BYTES:
        diags.append(Diagnostic(Mark(file, 1, 1), "file is larger than 32 MiB; split it"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        diags.append(
            Diagnostic(
                Mark(file, line, col),
                f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            )
        )
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or str(exc)
        context = f" {exc.context}" if exc.context else ""
        diags.append(
            Diagnostic(
                _mark(file, exc.problem_mark),
                f"YAML syntax error: {problem}{context}; fix the indentation or quoting there",
            )
        )
        return None
    except yaml.YAMLError as exc:
        diags.append(Diagnostic(Mark(file, 1, 1), f"YAML error: {exc}"))
        return None
    if len(nodes) > 1:
        second = nodes[1]
        diags.append(
            Diagnostic(
                _mark(file, second.start_mark),
                "file holds more than one YAML document (---); keep one per file",
            )
        )
        return None
    if not nodes or nodes[0] is None:
        diags.append(Diagnostic(Mark(file, 1, 1), "file is empty; it must hold a mapping"))
        return None
    root = nodes[0]
    walker = _Walker(file, diags)
    if walker.expanded_size(root, {}) > MAX_NODES:
        diags.append(
            Diagnostic(
                _mark(file, root.start_mark),
                f"YAML aliases expand to more than {MAX_NODES} values (an alias bomb?);"
                " write the values out or use fewer nested aliases",
            )
        )
        return None
    before = len(diags)
    doc.data = walker.walk(root, ())
    doc.values, doc.keys = walker.doc.values, walker.doc.keys
    if len(diags) > before:
        return doc if doc.data is not None else None
    return doc
