"""Plain YAML scalars read as Nornir reads them: YAML 1.2, the way ruamel.yaml's safe
loader (Nornir 3's SimpleInventory) resolves and constructs them.

- booleans are only true/True/TRUE and false/False/FALSE: `yes`, `no`, `on`, `off`, `y`,
  `n` are text;
- integers: decimal (a leading zero is still decimal: `010` is 10), `0o` octal, `0x`
  hexadecimal, `0b` binary, with an optional sign; `_` is ignored, as ruamel does;
- floats: `1.5`, `1.`, `.5`, `1e3` (an exponent alone makes a float), `.inf`, `.nan`;
  `1:30` is text (no sexagesimal numbers in 1.2);
- null: nothing, `~`, `null`, `Null`, `NULL`;
- timestamps (`2001-12-14`, `2001-12-14 21:59:43.10 -5`) are dates and datetimes.

`yaml11` says what a YAML 1.1 reader (PyYAML, Ansible) would have read instead, so the
inventory can warn where the two differ on a value loopbackctl uses.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

_Y = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_Y + t for t in ("str", "int", "float", "bool", "null"))
TIMESTAMP, MERGE, VALUE = _Y + "timestamp", _Y + "merge", _Y + "value"

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# The YAML 1.2 core schema as ruamel.yaml implements it (underscores included).
_FLOAT = re.compile(
    r"""[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""",
    re.X,
)
_INT = re.compile(r"[-+]?0b[01_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+")
_TIMESTAMP = re.compile(
    r"""[0-9]{4}-[0-9]{2}-[0-9]{2}
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?""",
    re.X,
)
# The explicit `!!bool` tag takes YAML 1.1's words too (ruamel does).
_TAGGED_BOOLS = {"yes": True, "no": False, "y": True, "n": False, "on": True, "off": False}

_constructor = SafeConstructor()
_resolver11 = Resolver()


def resolve(value: str) -> str:
    """The tag YAML 1.2 gives the plain scalar `value`."""
    if value in _NULLS:
        return NULL
    first = value[0]
    if first in "tTfF":
        return BOOL if value in _BOOLS else STR
    if first in "-+0123456789.":
        if _FLOAT.fullmatch(value):
            return FLOAT
        if _INT.fullmatch(value):
            return INT
        if _TIMESTAMP.fullmatch(value):
            return TIMESTAMP
        return STR
    if value == "<<":
        return MERGE
    if value == "=":
        return VALUE
    return STR


def construct(tag: str, value: str) -> Any:
    """The value of a scalar of `tag` (int, float, bool, timestamp); ValueError when
    `value` is not one."""
    if tag == BOOL:
        found = _BOOLS.get(value)
        if found is None:
            found = _TAGGED_BOOLS.get(value.lower())
        if found is None:
            raise ValueError(value)
        return found
    if tag == INT:
        return _int(value)
    if tag == FLOAT:
        return _float(value)
    if tag == TIMESTAMP:
        try:
            return _constructor.construct_yaml_timestamp(yaml.ScalarNode(tag, value))
        except (yaml.YAMLError, TypeError, ValueError) as exc:
            raise ValueError(value) from exc
    raise ValueError(value)


def _int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text[:1] == "-" else 1
    text = text[1:] if text[:1] in ("-", "+") else text
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    if not text.isascii() or not text.isdigit():
        raise ValueError(value)
    return sign * int(text, 10)


def _float(value: str) -> float:
    text = value.replace("_", "").lower()
    sign = -1.0 if text[:1] == "-" else 1.0
    text = text[1:] if text[:1] in ("-", "+") else text
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    if not text or not all(c in "0123456789.e+-" for c in text):
        raise ValueError(value)
    return sign * float(text)


_MISSING = object()


def yaml11(value: str, tag12: str, read12: Any) -> Any:
    """What a YAML 1.1 reader makes of the plain scalar `value`, when that is not what
    YAML 1.2 read (`read12`, of `tag12`); `_MISSING` (see `differs`) when both agree."""
    resolve11: Any = _resolver11.resolve
    tag11 = resolve11(yaml.ScalarNode, value, (True, False))
    if tag11 == tag12 and tag11 not in (INT, FLOAT):
        return _MISSING
    try:
        if tag11 == BOOL:
            read11: Any = _constructor.bool_values[value.lower()]
        elif tag11 == INT:
            read11 = _constructor.construct_yaml_int(yaml.ScalarNode(tag11, value))
        elif tag11 == FLOAT:
            read11 = _constructor.construct_yaml_float(yaml.ScalarNode(tag11, value))
        elif tag11 == NULL:
            read11 = None
        elif tag11 == TIMESTAMP:
            read11 = read12 if tag12 == TIMESTAMP else value
        else:
            read11 = value
    except (KeyError, ValueError, yaml.YAMLError):
        return _MISSING
    if _same(read11, read12):
        return _MISSING
    return read11


def differs(found: Any) -> bool:
    """Whether `yaml11` found a different reading."""
    return found is not _MISSING


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)
