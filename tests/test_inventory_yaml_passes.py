"""The YAML reader's two passes agree (loopbackctl/inventory/yamlsrc.py).

A file is read first by the fast pass (no marks; it gives up at the first problem), and
by the marked pass only when the fast pass gave up or a diagnostic needs a mark. So the
fast pass must read exactly the data the marked pass reads, and give up exactly where
the marked pass finds a problem. Checked over every file of the bad-inventory corpus and
every file the fuzzer (tests/test_validate_fuzz.py) generates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loopbackctl.errors import Diagnostic
from loopbackctl.inventory import yamlsrc
from tests import test_validate_fuzz as fuzz

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    p
    for base in (DATA / "bad", DATA / "nornir", DATA / "render", ROOT / "inventory")
    for p in base.rglob("*")
    if p.suffix in (".yaml", ".yml")
)


def outcome(file: str, raw: bytes) -> str:
    """Assert that the passes agree on one file; say how the fast pass fared."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return "not text"  # refused before either pass
    fast = yamlsrc.compose(file, text, [], None, marks=False)
    diags: list[Diagnostic] = []
    try:
        marked = yamlsrc.compose(file, text, diags, None, marks=True)
    except Exception:  # refused: a bomb, a syntax error, more than one document...
        marked = None
    if fast is None:
        assert marked is None or diags, f"{file}: the fast pass gave up on a clean file"
        return "gave up"
    assert marked is not None, f"{file}: the fast pass read a file the marked pass refuses"
    assert diags == [], f"{file}: the fast pass missed a problem: {diags[0]}"
    # repr tells True from 1 and 1.0 and keeps key order; a NaN equals itself there.
    assert repr(fast.root) == repr(marked.root), file
    assert (fast.empty, fast.doc.has_control) == (marked.empty, marked.doc.has_control), file
    assert repr(fast.doc.yaml11) == repr(marked.doc.yaml11), file  # YAML 1.1's other readings
    # The fast pass keeps the few marks its general path meets; each must be right.
    assert fast.doc.values.items() <= marked.doc.values.items(), file
    assert fast.doc.keys.items() <= marked.doc.keys.items(), file
    return "read"


def test_the_corpus_is_read_alike() -> None:
    assert len(CORPUS) >= 60
    seen = {outcome(str(p), p.read_bytes()) for p in CORPUS}
    assert {"read", "gave up"} <= seen


def test_the_fuzzers_inputs_are_read_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs the fuzz tests as they are, recording every file they make the reader read."""
    read: dict[bytes, str] = {}
    real_load = yamlsrc.load

    def recording_load(file: str, raw: bytes, *args: object, **kwargs: object) -> object:
        read.setdefault(raw, file)
        return real_load(file, raw, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlsrc, "load", recording_load)

    def fresh(name: str) -> Path:
        (tmp_path / name).mkdir()
        return tmp_path / name

    for seed in range(4):
        fuzz.test_mutated_directory_inventories(seed, fresh(f"dir{seed}"), capsys)
    fuzz.test_mutated_single_file_inventories(fresh("single"), capsys)
    fuzz.test_random_bytes_and_truncations(fresh("bytes"), capsys)
    assert len(read) > 500
    outcomes = [outcome(file, raw) for raw, file in read.items()]
    assert outcomes.count("read") > 100 and outcomes.count("gave up") > 100
