"""Fuzz-ish: random mutations of the example inventory never produce a traceback.

Every mutated inventory must end in exit 0 or 2, with diagnostics on stderr and no
exception escaping `main`. The seed is fixed so a failure reproduces; set
LOOPBACKCTL_FUZZ_ROUNDS to run more rounds.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from loopbackctl.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "inventory"
FILES = {
    name: (EXAMPLE / name).read_bytes() for name in ("hosts.yaml", "groups.yaml", "defaults.yaml")
}
ROUNDS = int(os.environ.get("LOOPBACKCTL_FUZZ_ROUNDS", "400"))

# Fragments that exercise YAML's corners: anchors, aliases, tags, merges, flow and block
# indicators, documents, directives, escapes, and values loopbackctl checks.
FRAGMENTS = [
    b"&a ",
    b"*a",
    b"*b",
    b"!!python/object/apply:os.system ['id']",
    b"!!binary ",
    b"!foo ",
    b"<<: *a\n",
    b"<<: ",
    b"[",
    b"]",
    b"{",
    b"}",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"? ",
    b": ",
    b"- ",
    b'"',
    b"'",
    b"|\n",
    b">-\n",
    b"\t",
    b"\\n",
    b'"\\n"',
    b'"\\x00"',
    b"\x00",
    b"\x1b[2J",
    b"\xff\xfe",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"~",
    b"null",
    b"yes",
    b"0x1F",
    b"1:20",
    b"2001-02-30",
    b"10.0.0.1/32",
    b"127.0.0.1/8",
    b"::1/128",
    b"Loopback0",
    b"lo",
    b"cisco_ios",
    b"linux",
    b"groups: [core, core]\n",
    b"data: {loopbacks: [{name: lo}]}\n",
    b"port: 99999\n",
    b"  ",
    b"\n",
    b"#",
    b"&a [*a]",
    b"!!int x",
    b"!!set {a}",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    ops = rng.randint(1, 4)
    for _ in range(ops):
        kind = rng.randrange(7)
        pos = rng.randint(0, len(data))
        if kind == 0:  # truncate
            data = data[:pos]
        elif kind == 1:  # random bytes
            data = data[:pos] + rng.randbytes(rng.randint(1, 8)) + data[pos:]
        elif kind == 2:  # overwrite a byte
            if data:
                i = rng.randrange(len(data))
                data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
        elif kind == 3:  # splice a YAML fragment
            data = data[:pos] + rng.choice(FRAGMENTS) + data[pos:]
        elif kind == 4:  # delete a span
            data = data[:pos] + data[pos + rng.randint(1, 40) :]
        elif kind == 5:  # duplicate or drop a line
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(i, lines[i])
            else:
                del lines[i]
            data = b"\n".join(lines)
        else:  # re-indent a line
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = b" " * rng.randint(0, 9) + lines[i].lstrip(b" ")
            data = b"\n".join(lines)
    return data


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out + err


@pytest.mark.parametrize("seed", range(4))
def test_mutated_directory_inventories(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(seed)
    inv = tmp_path / "inv"
    inv.mkdir()
    codes: set[int] = set()
    for _ in range(ROUNDS // 4):
        for name, data in FILES.items():
            (inv / name).write_bytes(mutate(rng, data) if rng.random() < 0.6 else data)
        rc, text = run(["validate", "-i", str(inv)], capsys)
        assert rc in (0, 2), text
        assert "Traceback" not in text
        codes.add(rc)
        if rc == 0 and rng.random() < 0.3:
            rc, text = run(["render", "-i", str(inv)], capsys)
            assert rc in (0, 2), text
            assert "Traceback" not in text
    assert 2 in codes  # the mutations do break things


def test_mutated_single_file_inventories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(1234)
    base = b"".join(
        key
        + b":\n"
        + b"".join(b"  " + line + b"\n" for line in FILES[f"{key.decode()}.yaml"].splitlines())
        for key in (b"hosts", b"groups", b"defaults")
    )
    single = tmp_path / "inventory.yaml"
    single.write_bytes(base)
    assert run(["validate", "-i", str(single)], capsys)[0] == 0
    for _ in range(ROUNDS // 2):
        single.write_bytes(mutate(rng, base))
        rc, text = run(["validate", "-i", str(single)], capsys)
        assert rc in (0, 2), text
        assert "Traceback" not in text


def test_random_bytes_and_truncations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(99)
    hosts = FILES["hosts.yaml"]
    inv = tmp_path / "inv"
    inv.mkdir()
    for cut in range(0, len(hosts), 7):  # every truncation point, in steps
        (inv / "hosts.yaml").write_bytes(hosts[:cut])
        rc, text = run(["validate", "-i", str(inv)], capsys)
        assert rc in (0, 2) and "Traceback" not in text
    for _ in range(ROUNDS // 4):
        (inv / "hosts.yaml").write_bytes(rng.randbytes(rng.randint(0, 300)))
        rc, text = run(["validate", "-i", str(inv)], capsys)
        assert rc in (0, 2) and "Traceback" not in text
