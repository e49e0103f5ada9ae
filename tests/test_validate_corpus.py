"""The validation corpus: every broken inventory under tests/data/bad/ gives exactly the
diagnostics of its expect.txt (file, line, column, message, host, key) and exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loopbackctl.cli import main

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(p for p in BAD.iterdir() if p.is_dir())
DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): \S")
SUMMARY = re.compile(r"^\d+ error\(s\); nothing was contacted$")


def target(case: Path) -> Path:
    single = case / "inventory.yaml"
    return single if single.exists() else case


def expected(case: Path) -> list[str]:
    text = (case / "expect.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def relative(line: str, case: Path) -> str:
    return line.replace(f"{case}/", "").replace(str(case), ".")


def test_the_corpus_is_large_and_complete() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert (case / "expect.txt").is_file(), f"{case.name} has no expect.txt"
        assert expected(case), f"{case.name}: expect.txt is empty"
        for line in expected(case):
            assert DIAG.match(line), f"{case.name}: not a diagnostic line: {line!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_inventory(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", "-i", str(target(case))])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    lines = err.splitlines()
    got = [relative(line, case) for line in lines if DIAG.match(line)]
    want = expected(case)
    assert got == want
    errors = sum(": error: " in line for line in want)
    assert rc == (2 if errors else 0)
    others = [line for line in lines if not DIAG.match(line)]
    if errors:
        assert others == [f"{errors} error(s); nothing was contacted"]
        assert SUMMARY.match(others[0])
        assert out == ""
    else:
        assert others == []
        assert "no errors" in out


def test_every_message_says_where_and_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Each diagnostic names an existing file and a real line in it, and fits one line."""
    for case in CASES:
        main(["validate", "-i", str(target(case))])
        _, err = capsys.readouterr()
        for line in err.splitlines():
            m = DIAG.match(line)
            if not m:
                continue
            path = Path(m["file"])
            assert path.exists(), line
            if path.is_file():
                n_lines = max(1, path.read_bytes().count(b"\n"))
                assert 1 <= int(m["line"]) <= n_lines + 1, line
            assert "\x1b" not in line and "\r" not in line
