"""Plain scalars are read as Nornir's loader reads them (ruamel.yaml's safe loader, YAML
1.2), and `yaml11` says what PyYAML (YAML 1.1) reads wherever the two differ.

Thousands of generated scalars made of the characters that decide a scalar's type are
read by both; each must come out with the same type and value.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import ruamel.yaml
import yaml

from loopbackctl.errors import Diagnostic
from loopbackctl.inventory import scalars, yamlsrc

# The characters that decide a YAML scalar's type, and words made of them.
ALPHABET = [
    *"0123456789+-._:eExXoObBTtZz ",
    "inf",
    "Inf",
    "nan",
    "NaN",
    "true",
    "True",
    "FALSE",
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "~",
    "2001-12-14",
    "T21:59:43",
    " 21:59:43.10 -5",
]


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def nornir_reads(text: str) -> tuple[bool, Any]:
    try:
        return True, ruamel.yaml.YAML(typ="safe").load(f"a: {text}\n")["a"]
    except Exception:
        return False, None


def ours(text: str) -> tuple[list[Diagnostic], Any, dict[Any, Any]]:
    diags: list[Diagnostic] = []
    doc = yamlsrc.load("f.yaml", f"a: {text}\n".encode(), diags)
    if doc is None:
        return diags or [Diagnostic(None, "unread")], None, {}  # type: ignore[arg-type]
    return diags, doc.data["a"], doc.yaml11


def scalar_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5))).strip()
        if text and not text.startswith(("-", ":", "? ")) and ": " not in text:
            out.add(text)
    return sorted(out)


@pytest.mark.parametrize("seed", range(3))
def test_generated_scalars_read_as_nornir_reads_them(seed: int) -> None:
    compared = 0
    for text in scalar_texts(1500, seed):
        loaded, theirs = nornir_reads(text)
        if not loaded or isinstance(theirs, dict | list):
            continue  # ruamel refuses it (then Nornir cannot load it), or it is not a scalar
        diags, mine, _ = ours(text)
        if diags:  # we refuse a value ruamel takes: only a number no Python int/float reads
            assert isinstance(theirs, int | float), (text, diags)
            continue
        assert same(mine, theirs), (text, mine, theirs)
        compared += 1
    assert compared > 1000


@pytest.mark.parametrize("seed", range(2))
def test_yaml11_names_exactly_what_pyyaml_reads_differently(seed: int) -> None:
    differ = 0
    for text in scalar_texts(3000, seed + 10):
        diags, mine, found = ours(text)
        try:
            pyyaml = yaml.safe_load(f"a: {text}\n")["a"]
        except yaml.YAMLError:
            continue
        if diags or isinstance(pyyaml, dict | list):
            continue
        if same(mine, pyyaml):
            assert found == {}, text
        else:
            assert ("a",) in found and same(found[("a",)], pyyaml), (text, mine, pyyaml)
            differ += 1
    assert differ > 10


@pytest.mark.parametrize(
    ("text", "nornir", "yaml11"),
    [
        ("yes", "yes", True),
        ("no", "no", False),
        ("on", "on", True),
        ("Off", "Off", False),
        ("010", 10, 8),
        ("0o10", 8, "0o10"),
        ("1e3", 1000.0, "1e3"),
        ("1:30", "1:30", 90),
        ("09", 9, "09"),
        ("true", True, None),
        ("1_000", 1000, None),
        ("0x1F", 31, None),
    ],
)
def test_the_known_differences(text: str, nornir: Any, yaml11: Any) -> None:
    diags, mine, found = ours(text)
    assert not diags and same(mine, nornir) and same(nornir_reads(text)[1], nornir)
    assert found == ({} if yaml11 is None else {("a",): yaml11})


def test_quoted_and_tagged_scalars() -> None:
    diags: list[Diagnostic] = []
    doc = yamlsrc.load(
        "f.yaml", b"a: '010'\nb: !!str 010\nc: !!int 010\nd: !!bool yes\ne: !!float 1\n", diags
    )
    assert doc is not None and not diags
    assert doc.data == {"a": "010", "b": "010", "c": 10, "d": True, "e": 1.0}
    assert doc.yaml11 == {}  # only plain scalars are resolved by the YAML version


def test_resolve_and_construct_directly() -> None:
    assert scalars.resolve("TRUE") == scalars.BOOL and scalars.resolve("tRue") == scalars.STR
    assert scalars.construct(scalars.INT, "-0b101") == -5
    with pytest.raises(ValueError):
        scalars.construct(scalars.INT, "0b")


def test_merge_keys_order_and_precedence_as_nornirs_loader() -> None:
    text = (
        "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4, q: 5}\n"
        "c:\n  w: 0\n  <<: [*a, *b]\n  x: 9\nd:\n  w: 0\n  <<: *b\n  q: 7\n"
    )
    diags: list[Diagnostic] = []
    doc = yamlsrc.load("f.yaml", text.encode(), diags)
    theirs = ruamel.yaml.YAML(typ="safe").load(text)
    assert doc is not None and not diags
    for key in ("c", "d"):
        assert list(doc.data[key].items()) == list(theirs[key].items())
